//! The yardstick: a hand-written equivalent of two GraphQL reads of the gateway, which the load
//! benchmark (`benches/load`) measures the gateway against. No GraphQL and no ORM: axum, a sqlx
//! pool of 16 connections, two SQL statements per request and serde serialization, answering
//! byte for byte what the gateway answers to an organization token for
//!
//! - `POST /a`: `tickets(first: 20, order: CREATED_AT_ASC) { nodes { <ticket fields>
//!   messages { id position messageType message messageClean createdAt } } }`
//! - `POST /b`: the same with `user { fullName organization { id name } }` last in each node.
//!
//! The request body is ignored. Configuration: `BIND_ADDR` (or the first argument; default
//! `127.0.0.1:8090`), `DATABASE_URL` (PostgreSQL) and `JWT_SECRET` (HS256).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Row};

/// Tickets per page (`first: 20`).
const PAGE_SIZE: i64 = 20;

/// The ticket columns both queries select, in the order of the GraphQL selection.
const TICKET_COLUMNS: &str = "t.id, t.external_ticket_id, t.subject, t.status, t.priority, \
     t.source, t.human_verified_category, t.human_verified_subcategory, t.ai_generated_category, \
     t.ai_generated_subcategory, t.type_deprecated, t.tags, t.conversation_summary, \
     t.custom_fields, t.attributes, t.created_at, t.ticket_updated_at, t.resolved_at, t.version";

/// Row-level scope of an organization token: the tickets of the organization's users.
const ORG_SCOPE: &str = r#"t.user_id IN (SELECT id FROM "user" WHERE organization_id = $1)"#;

struct AppState {
    pool: PgPool,
    key: DecodingKey,
    validation: Validation,
    /// The page statements of query A and query B (built from constants at start-up).
    page_a: Arc<str>,
    page_b: Arc<str>,
}

/// The claims this server needs; other claims are ignored.
#[derive(Deserialize)]
struct Claims {
    org: Option<String>,
}

#[derive(Serialize)]
struct Body {
    data: Data,
}

#[derive(Serialize)]
struct Data {
    tickets: Connection,
}

#[derive(Serialize)]
struct Connection {
    nodes: Vec<Ticket>,
}

/// One ticket node, fields in the order the queries select them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ticket {
    id: String,
    external_ticket_id: String,
    subject: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    source: Option<String>,
    human_verified_category: Option<String>,
    human_verified_subcategory: Option<String>,
    ai_generated_category: Option<String>,
    ai_generated_subcategory: Option<String>,
    type_deprecated: Option<String>,
    tags: Vec<String>,
    conversation_summary: Option<String>,
    custom_fields: Value,
    attributes: Value,
    created_at: String,
    ticket_updated_at: Option<String>,
    resolved_at: Option<String>,
    version: i64,
    messages: Vec<Message>,
    /// Query B only: `None` leaves the field out, `Some(None)` is a null user.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Option<User>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    id: String,
    position: i32,
    message_type: String,
    message: String,
    message_clean: Option<String>,
    created_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User {
    full_name: String,
    organization: Option<Organization>,
}

#[derive(Serialize)]
struct Organization {
    id: String,
    name: String,
}

/// Timestamps as async-graphql renders `DateTime<Utc>`: RFC 3339, `+00:00`, fraction as needed.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

/// Tags as the gateway exposes them: the strings of the JSON array, anything else skipped.
fn tags(value: Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|t| match t {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn ticket(row: &PgRow, with_user: bool) -> Result<Ticket, sqlx::Error> {
    let user = if with_user {
        let full_name: Option<String> = row.try_get("user_full_name")?;
        let org_id: Option<String> = row.try_get("org_id")?;
        Some(match full_name {
            None => None,
            Some(full_name) => Some(User {
                full_name,
                organization: match org_id {
                    None => None,
                    Some(id) => Some(Organization {
                        id,
                        name: row.try_get("org_name")?,
                    }),
                },
            }),
        })
    } else {
        None
    };
    Ok(Ticket {
        id: row.try_get("id")?,
        external_ticket_id: row.try_get("external_ticket_id")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        priority: row.try_get("priority")?,
        source: row.try_get("source")?,
        human_verified_category: row.try_get("human_verified_category")?,
        human_verified_subcategory: row.try_get("human_verified_subcategory")?,
        ai_generated_category: row.try_get("ai_generated_category")?,
        ai_generated_subcategory: row.try_get("ai_generated_subcategory")?,
        type_deprecated: row.try_get("type_deprecated")?,
        tags: tags(row.try_get("tags")?),
        conversation_summary: row.try_get("conversation_summary")?,
        custom_fields: row.try_get("custom_fields")?,
        attributes: row.try_get("attributes")?,
        created_at: timestamp(row.try_get("created_at")?),
        ticket_updated_at: row
            .try_get::<Option<DateTime<Utc>>, _>("ticket_updated_at")?
            .map(timestamp),
        resolved_at: row
            .try_get::<Option<DateTime<Utc>>, _>("resolved_at")?
            .map(timestamp),
        version: row.try_get("version")?,
        messages: Vec::new(),
        user,
    })
}

/// The first page of the organization's tickets with their messages: two statements.
async fn page(state: &AppState, org: &str, with_user: bool) -> Result<Body, sqlx::Error> {
    let sql = if with_user {
        &state.page_b
    } else {
        &state.page_a
    };
    let rows = sqlx::query(AssertSqlSafe(sql.clone()))
        .bind(org)
        .fetch_all(&state.pool)
        .await?;
    let mut nodes = rows
        .iter()
        .map(|row| ticket(row, with_user))
        .collect::<Result<Vec<_>, _>>()?;

    if !nodes.is_empty() {
        let ids: Vec<&str> = nodes.iter().map(|t| t.id.as_str()).collect();
        let rows = sqlx::query(
            "SELECT id, ticket_id, position, message_type, message, message_clean, created_at \
             FROM support_ticket_message WHERE ticket_id = ANY($1) ORDER BY ticket_id, position",
        )
        .bind(&ids)
        .fetch_all(&state.pool)
        .await?;
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        for row in &rows {
            let ticket_id: &str = row.try_get("ticket_id")?;
            let Some(&i) = index.get(ticket_id) else {
                continue;
            };
            nodes[i].messages.push(Message {
                id: row.try_get("id")?,
                position: row.try_get("position")?,
                message_type: row.try_get("message_type")?,
                message: row.try_get("message")?,
                message_clean: row.try_get("message_clean")?,
                created_at: timestamp(row.try_get("created_at")?),
            });
        }
    }
    Ok(Body {
        data: Data {
            tickets: Connection { nodes },
        },
    })
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (status, axum::Json(body)).into_response()
}

/// The organization of a valid bearer token, or why there is none.
fn organization(state: &AppState, headers: &HeaderMap) -> Result<String, &'static str> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("missing bearer token")?;
    let data = jsonwebtoken::decode::<Claims>(token, &state.key, &state.validation)
        .map_err(|_| "invalid token")?;
    data.claims.org.ok_or("not an organization token")
}

async fn answer(state: &AppState, headers: &HeaderMap, with_user: bool) -> Response {
    let org = match organization(state, headers) {
        Ok(org) => org,
        Err(why) => return error(StatusCode::UNAUTHORIZED, why),
    };
    match page(state, &org, with_user).await {
        Ok(body) => match serde_json::to_vec(&body) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn query_a(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    answer(&state, &headers, false).await
}

async fn query_b(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    answer(&state, &headers, true).await
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} must be set"))
}

async fn run() -> Result<(), String> {
    let bind = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BIND_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let database_url = env("DATABASE_URL")?;
    let secret = env("JWT_SECRET")?;

    // The gateway's checks: HS256, `exp` required, `nbf` checked, 30 s of leeway.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);

    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;

    let from = "FROM support_ticket t";
    let order = format!("ORDER BY t.created_at, t.id LIMIT {PAGE_SIZE}");
    let state = Arc::new(AppState {
        pool,
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
        page_a: format!("SELECT {TICKET_COLUMNS} {from} WHERE {ORG_SCOPE} {order}").into(),
        page_b: format!(
            "SELECT {TICKET_COLUMNS}, u.full_name AS user_full_name, o.id AS org_id, \
             o.name AS org_name {from} \
             LEFT JOIN \"user\" u ON u.id = t.user_id \
             LEFT JOIN organization o ON o.id = u.organization_id \
             WHERE {ORG_SCOPE} {order}"
        )
        .into(),
    });

    let app = Router::new()
        .route("/a", post(query_a))
        .route("/b", post(query_b))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    eprintln!("yardstick listening on {bind}");
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("yardstick: {e}");
        std::process::exit(1);
    }
}
