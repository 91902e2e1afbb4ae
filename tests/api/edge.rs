//! The edge: CORS, compression, request ids, metrics, probes, timeouts and connection
//! limits, through the router (and, for connection limits, a real listener).

use std::io::Read;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{json, Value};
use ticket_gateway::config::{AppConfig, EdgeSettings, GraphqlSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn config(edge: EdgeSettings) -> AppConfig {
    AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(edge)
        .expect("edge settings")
}

fn with_origins(origins: &[&str]) -> AppConfig {
    config(EdgeSettings {
        cors_allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
        ..EdgeSettings::default()
    })
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> TestResponse {
    app.send(
        Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization, content-type, if-match, x-request-id, evenergy-version",
            )
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

fn listed(r: &TestResponse, header: &str) -> Vec<String> {
    r.header(header)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_204_with_what_clients_send() {
    each_backend(|app| async move {
        let app = app.configured(with_origins(&[
            "http://localhost:3000",
            "https://app.example.com",
        ]));
        let ticket = app.ticket(None).await;
        for path in [
            "/graphql".to_owned(),
            format!("/v2/support_tickets/{ticket}"),
            "/v2/support_tickets".to_owned(),
        ] {
            let r = preflight(&app, &path, "http://localhost:3000").await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}");
            assert_eq!(
                r.header("access-control-allow-origin"),
                Some("http://localhost:3000"),
                "{path}"
            );
            assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
            let methods = listed(&r, "access-control-allow-methods");
            for m in ["get", "post", "patch", "options"] {
                assert!(methods.contains(&m.to_owned()), "{path}: {methods:?}");
            }
            let headers = listed(&r, "access-control-allow-headers");
            for h in [
                "authorization",
                "content-type",
                "evenergy-version",
                "if-match",
                "if-none-match",
                "x-request-id",
            ] {
                assert!(headers.contains(&h.to_owned()), "{path}: {headers:?}");
            }
            let max_age: u64 = r
                .header("access-control-max-age")
                .and_then(|v| v.parse().ok())
                .expect("max-age");
            assert!(max_age > 0);
            assert!(listed(&r, "vary").contains(&"origin".to_owned()));
        }

        // The actual request: the origin is echoed and the headers scripts need are exposed.
        let token = app.all_areas();
        let r = app
            .rest(
                "GET",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[("origin", "https://app.example.com")],
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://app.example.com")
        );
        let exposed = listed(&r, "access-control-expose-headers");
        for h in [
            "etag",
            "link",
            "retry-after",
            "x-request-id",
            "evenergy-version",
        ] {
            assert!(exposed.contains(&h.to_owned()), "{exposed:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_origin_not_in_the_list_gets_no_allow_origin_and_unset_means_no_cors_at_all() {
    each_backend(|app| async move {
        let listed_only = app.configured(with_origins(&["http://localhost:3000"]));
        let r = preflight(&listed_only, "/graphql", "http://evil.example").await;
        assert_eq!(r.header("access-control-allow-origin"), None);
        let token = app.all_areas();
        let r = listed_only
            .rest(
                "GET",
                "/v2/support_tickets",
                Some(&token),
                &[("origin", "http://localhost:3001")],
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), None);

        // No CORS_ALLOWED_ORIGINS: no CORS headers on anything, and OPTIONS is not a route.
        let r = preflight(&app, "/graphql", "http://localhost:3000").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        let r = app
            .rest(
                "GET",
                "/v2/support_tickets",
                Some(&token),
                &[("origin", "http://localhost:3000")],
                None,
            )
            .await;
        assert!(
            r.headers
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{:?}",
            r.headers
        );
    })
    .await;
}

#[tokio::test]
async fn a_wildcard_allows_any_origin_without_credentials() {
    each_backend(|app| async move {
        let app = app.configured(with_origins(&["*"]));
        let r = preflight(&app, "/graphql", "https://anywhere.example").await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("access-control-allow-credentials"), None);
    })
    .await;
}

#[test]
fn origins_must_be_exact() {
    for bad in [
        "http://localhost:3000/",
        "localhost:3000",
        "https://app.example.com/path",
    ] {
        let edge = EdgeSettings {
            cors_allowed_origins: vec![bad.to_owned()],
            ..EdgeSettings::default()
        };
        let result = AppConfig::new(BASE_URL, GraphqlSettings::default())
            .expect("config")
            .with_edge(edge);
        let error = result.err().unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(error.contains("CORS_ALLOWED_ORIGINS"), "{error}");
    }
}

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .expect("gzip");
        }
        "br" => {
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .expect("br");
        }
        "zstd" => out = zstd::decode_all(bytes).expect("zstd"),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test]
async fn responses_over_a_kilobyte_are_compressed_as_the_client_asks_and_small_ones_are_not() {
    each_backend(|app| async move {
        for _ in 0..12 {
            let t = app.ticket(None).await;
            app.message(&t, 0, entity::MessageType::InitialRequest, app.tick())
                .await;
        }
        let token = app.all_areas();
        let page = "/v2/support_tickets?page_size=12&expand=messages";
        let plain = app.rest("GET", page, Some(&token), &[], None).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-encoding"), None);
        assert!(
            plain.bytes.len() > 1024,
            "the page is {} bytes",
            plain.bytes.len()
        );
        for encoding in ["gzip", "br", "zstd"] {
            let r = app
                .rest(
                    "GET",
                    page,
                    Some(&token),
                    &[("accept-encoding", encoding)],
                    None,
                )
                .await;
            assert_eq!(r.status, 200);
            assert_eq!(r.header("content-encoding"), Some(encoding));
            assert!(listed(&r, "vary").contains(&"accept-encoding".to_owned()));
            assert!(
                r.bytes.len() < plain.bytes.len() / 2,
                "{encoding}: {} bytes",
                r.bytes.len()
            );
            let decoded: Value = serde_json::from_slice(&decode(encoding, &r.bytes)).expect("JSON");
            assert_eq!(decoded, plain.body, "{encoding}");
        }
        // A preference among several: the server picks one it supports.
        let r = app
            .rest(
                "GET",
                page,
                Some(&token),
                &[("accept-encoding", "zstd;q=1, gzip;q=0.5")],
                None,
            )
            .await;
        assert_eq!(r.header("content-encoding"), Some("zstd"));

        // GraphQL and the OpenAPI document too.
        let q = "{ tickets(first: 12) { nodes { id subject messages { id message } } } }";
        let r = app
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri("/graphql")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .header("accept-encoding", "br")
                    .body(Body::from(json!({ "query": q }).to_string()))
                    .expect("request"),
            )
            .await;
        assert_eq!(r.header("content-encoding"), Some("br"));
        let decoded: Value = serde_json::from_slice(&decode("br", &r.bytes)).expect("JSON");
        assert_eq!(
            decoded["data"]["tickets"]["nodes"].as_array().map(Vec::len),
            Some(12)
        );
        let r = app
            .rest(
                "GET",
                "/v2/openapi.json",
                None,
                &[("accept-encoding", "gzip")],
                None,
            )
            .await;
        assert_eq!(r.header("content-encoding"), Some("gzip"));

        // Small bodies go out as they are.
        let one = app.ticket(None).await;
        for path in [
            "/livez".to_owned(),
            format!("/v2/support_tickets/{one}/messages"),
        ] {
            let r = app
                .rest(
                    "GET",
                    &path,
                    Some(&token),
                    &[("accept-encoding", "gzip, br, zstd")],
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{path}");
            assert!(r.bytes.len() < 1024, "{path}");
            assert_eq!(r.header("content-encoding"), None, "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_playground_assets_keep_working_with_compression() {
    let app = sqlite_app().await;
    let page = app
        .send(
            Request::builder()
                .uri("/graphql")
                .header("accept", "text/html")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(page.status, 200);
    let assets: Vec<String> = page
        .text
        .split('"')
        .filter(|s| s.starts_with("graphiql/"))
        .map(|s| format!("/{s}"))
        .collect();
    assert!(!assets.is_empty(), "{}", page.text);
    // The assets are stored gzip-encoded and served so, whatever else the client accepts:
    // the compression layer must neither encode them twice nor change their type.
    for asset in assets {
        let mut bodies = Vec::new();
        for accept in [None, Some("gzip"), Some("gzip, br, zstd")] {
            let mut request = Request::builder().uri(&asset);
            if let Some(a) = accept {
                request = request.header("accept-encoding", a);
            }
            let r = app
                .send(request.body(Body::empty()).expect("request"))
                .await;
            assert_eq!(r.status, 200, "{asset} {accept:?}");
            assert_eq!(
                r.header("content-encoding"),
                Some("gzip"),
                "{asset} {accept:?}"
            );
            let content_type = r.header("content-type").unwrap_or_default();
            assert!(
                content_type.starts_with("text/") || content_type.contains("javascript"),
                "{asset}: {content_type}"
            );
            bodies.push(decode("gzip", &r.bytes));
        }
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "{asset}: the same bytes each time"
        );
        assert!(!bodies[0].is_empty());
    }
}

#[tokio::test]
async fn a_request_id_is_echoed_or_minted_and_found_in_every_error_body() {
    each_backend(|app| async move {
        let token = app.all_areas();
        let r = app
            .rest(
                "GET",
                "/v2/support_tickets",
                Some(&token),
                &[("x-request-id", "trace-me-42")],
                None,
            )
            .await;
        assert_eq!(r.header("x-request-id"), Some("trace-me-42"));
        let long = "x".repeat(129);
        for bad in [long.as_str(), "has space", ""] {
            let r = app
                .rest("GET", "/livez", None, &[("x-request-id", bad)], None)
                .await;
            let minted = r.header("x-request-id").expect("an id");
            assert_ne!(minted, bad);
            assert_eq!(minted.len(), 26, "a ULID replaces {bad:?}");
        }
        let a = app.rest("GET", "/livez", None, &[], None).await;
        let b = app.rest("GET", "/livez", None, &[], None).await;
        assert_ne!(a.header("x-request-id"), b.header("x-request-id"));

        // problem+json, from a handler and from the router itself.
        let missing = format!(
            "/v2/support_tickets/{}",
            ticket_gateway::ids::TicketId::generate()
        );
        for (method, path, token, status) in [
            ("GET", missing.as_str(), Some(token.as_str()), 404),
            ("DELETE", "/v2/support_tickets", Some(token.as_str()), 405),
            ("GET", "/v2/support_tickets", None, 401),
        ] {
            let id = format!("req-{status}");
            let r = app
                .rest(method, path, token, &[("x-request-id", &id)], None)
                .await;
            assert_eq!(r.status, status);
            assert_eq!(r.body["request_id"], id.as_str());
        }

        // GraphQL: field errors, validation errors and request errors.
        let mut ids = Vec::new();
        for (query, token) in [
            (
                "{ tickets(first: -1) { totalCount } }",
                Some(token.as_str()),
            ),
            ("{ noSuchField }", Some(token.as_str())),
            ("{ tickets { totalCount } }", None),
        ] {
            let id = format!("gql-{}", ids.len());
            let mut request = Request::builder()
                .method(Method::POST)
                .uri("/graphql")
                .header("content-type", "application/json")
                .header("x-request-id", &id);
            if let Some(t) = token {
                request = request.header("authorization", format!("Bearer {t}"));
            }
            let r = app
                .send(
                    request
                        .body(Body::from(json!({ "query": query }).to_string()))
                        .expect("request"),
                )
                .await;
            let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
            assert!(!errors.is_empty(), "{query}: {}", r.text);
            for e in errors {
                assert_eq!(
                    e["extensions"]["requestId"],
                    id.as_str(),
                    "{query}: {}",
                    r.text
                );
                assert!(e["extensions"]["code"].is_string(), "{query}: {}", r.text);
            }
            ids.push(id);
        }
    })
    .await;
}

fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric(text, name, labels)
}

async fn scrape(app: &TestApp, token: Option<&str>) -> TestResponse {
    app.rest("GET", "/metrics", token, &[], None).await
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_move_by_exactly_the_requests_made() {
    each_backend(|app| async move {
        let ticket = app.ticket(None).await;
        let token = app.all_areas();
        let before = scrape(&app, None).await;
        assert_eq!(before.status, 200);
        assert!(before
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"));
        let before = before.text;

        for _ in 0..3 {
            assert_eq!(
                app.rest(
                    "GET",
                    &format!("/v2/support_tickets/{ticket}"),
                    Some(&token),
                    &[],
                    None
                )
                .await
                .status,
                200
            );
        }
        for _ in 0..2 {
            assert_eq!(
                app.rest(
                    "GET",
                    "/v2/support_tickets/tickNOPE",
                    Some(&token),
                    &[],
                    None
                )
                .await
                .status,
                404
            );
        }
        let named = "query CountThem { tickets { totalCount } }";
        for _ in 0..4 {
            let r = app.graphql(Some(&token), named, json!({})).await;
            assert_eq!(r.body["data"]["tickets"]["totalCount"], 1, "{}", r.text);
        }
        let r = app
            .graphql(
                Some(&token),
                "{ tickets(first: -1) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"), "{}", r.text);
        let r = app
            .graphql(None, "{ tickets { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&r.body), Some("UNAUTHENTICATED"), "{}", r.text);

        let after = scrape(&app, None).await.text;
        let moved = |name: &str, labels: &[(&str, &str)]| {
            sample(&after, name, labels) - sample(&before, name, labels)
        };
        let route = "/v2/support_tickets/{support_ticket_id}";
        assert_eq!(
            moved(
                "ticket_gateway_http_requests_total",
                &[("route", route), ("method", "GET"), ("status", "200")]
            ),
            3.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_http_requests_total",
                &[("route", route), ("method", "GET"), ("status", "404")]
            ),
            2.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_http_requests_total",
                &[("route", "/graphql"), ("method", "POST")]
            ),
            6.0
        );
        // The scrape before counts once it is answered; the one after is still running.
        assert_eq!(
            moved(
                "ticket_gateway_http_requests_total",
                &[("route", "/metrics")]
            ),
            1.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_http_request_duration_seconds_count",
                &[("route", route), ("method", "GET")]
            ),
            5.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_graphql_operations_total",
                &[("type", "query"), ("name", "CountThem")]
            ),
            4.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_graphql_operations_total",
                &[("type", "query"), ("name", "(anonymous)")]
            ),
            2.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_graphql_operation_duration_seconds_count",
                &[("name", "CountThem")]
            ),
            4.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_graphql_errors_total",
                &[("code", "BAD_USER_INPUT")]
            ),
            1.0
        );
        assert_eq!(
            moved(
                "ticket_gateway_graphql_errors_total",
                &[("code", "UNAUTHENTICATED")]
            ),
            1.0
        );
        assert!(moved("ticket_gateway_db_statements_total", &[("outcome", "ok")]) >= 9.0);

        for gauge in [
            "ticket_gateway_db_pool_max_connections",
            "ticket_gateway_process_resident_memory_bytes",
            "ticket_gateway_process_open_fds",
            "ticket_gateway_uptime_seconds",
        ] {
            assert!(sample(&after, gauge, &[]) > 0.0, "{gauge}");
        }
        assert_eq!(sample(&after, "ticket_gateway_db_up", &[]), 1.0);
        assert_eq!(
            sample(
                &after,
                "ticket_gateway_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            1.0
        );
        assert!(
            after.contains("# TYPE ticket_gateway_http_request_duration_seconds histogram"),
            "{after}"
        );
        assert!(
            after.contains("# HELP ticket_gateway_http_requests_total"),
            "{after}"
        );
        // Route templates only: never a raw id.
        assert!(!after.contains(&ticket.to_string()));
    })
    .await;
}

#[tokio::test]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    each_backend(|app| async move {
        let app = app.configured(config(EdgeSettings {
            metrics_token: Some("scrape-secret".into()),
            ..EdgeSettings::default()
        }));
        let none = scrape(&app, None).await;
        assert_eq!(none.status, 401);
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            none.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(scrape(&app, Some("scrape-secre")).await.status, 401);
        assert_eq!(scrape(&app, Some("scrape-secretX")).await.status, 401);
        // A gateway token is no metrics token.
        let token = app.all_areas();
        assert_eq!(scrape(&app, Some(&token)).await.status, 401);
        let ok = scrape(&app, Some("scrape-secret")).await;
        assert_eq!(ok.status, 200);
        assert!(ok.text.contains("ticket_gateway_http_requests_total"));
    })
    .await;
}

#[tokio::test]
async fn probes_say_live_and_ready_and_readiness_fails_while_the_schema_is_behind() {
    each_backend(|app| async move {
        app.reset_statements();
        let live = app.rest("GET", "/livez", None, &[], None).await;
        assert_eq!(live.status, 200);
        assert_eq!(app.statements(), 0, "/livez never touches the database");
        assert_eq!(
            app.rest("GET", "/readyz", None, &[], None).await.status,
            200
        );
        assert_eq!(
            app.rest("GET", "/healthz", None, &[], None).await.status,
            200
        );

        // A migration the binary knows is missing from the database.
        let newest: Option<String> = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
            ))
            .await
            .expect("read migrations")
            .and_then(|row| row.try_get_by_index(0).ok());
        let newest = newest.expect("at least one migration");
        app.db
            .execute_unprepared(&format!(
                "DELETE FROM seaql_migrations WHERE version = '{newest}'"
            ))
            .await
            .expect("forget a migration");
        let r = app.rest("GET", "/readyz", None, &[], None).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("migration"),
            "{}",
            r.text
        );
        assert_eq!(app.rest("GET", "/livez", None, &[], None).await.status, 200);
    })
    .await;
}

/// A connection to the same database whose server stops statements after `limit`.
async fn connection_with_statement_timeout(
    app: &TestApp,
    limit: Duration,
) -> sea_orm::DatabaseConnection {
    if app.backend == "sqlite" {
        return app.db.clone();
    }
    let name: String = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_database()",
        ))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index(0).ok())
        .expect("a database name");
    let mut url =
        url::Url::parse(&std::env::var("TEST_DATABASE_URL").expect("PostgreSQL URL")).expect("URL");
    url.set_path(&format!("/{name}"));
    ticket_gateway::db::connect_with(url.as_str(), Some(limit))
        .await
        .expect("connect")
}

/// Holds what a PATCH of `ticket` needs until the transaction ends: the ticket's row on
/// PostgreSQL, the only connection of the in-memory database on SQLite.
async fn hold(
    app: &TestApp,
    ticket: &ticket_gateway::ids::TicketId,
) -> sea_orm::DatabaseTransaction {
    let holder = app.db.begin().await.expect("begin");
    if app.backend == "postgres" {
        holder
            .execute_unprepared(&format!(
                "SELECT id FROM support_ticket WHERE id = '{ticket}' FOR UPDATE"
            ))
            .await
            .expect("lock the row");
    }
    holder
}

#[tokio::test]
async fn a_request_past_the_timeout_is_cancelled_with_its_sql_and_changes_nothing() {
    each_backend(|app| async move {
        let limit = Duration::from_secs(1);
        let db = connection_with_statement_timeout(&app, limit).await;
        let timed = app.configured_over(db, config(EdgeSettings { request_timeout_secs: 1, ..EdgeSettings::default() }));
        let ticket = app.ticket(None).await;
        let token = app.all_areas();
        let before = timed.rest("GET", &format!("/v2/support_tickets/{ticket}"), Some(&token), &[], None).await;
        assert_eq!(before.status, 200);
        let metrics_before = scrape(&timed, None).await.text;

        let holder = hold(&app, &ticket).await;
        let started = Instant::now();
        let body = br#"{"human_verified_category":"SOLAR"}"#.to_vec();
        let r = timed
            .rest(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[("content-type", "application/json"), ("x-request-id", "slow-one")],
                Some(body),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.header("evenergy-version"), Some("2"));
        assert_eq!(r.body["title"], "Request timed out");
        assert_eq!(r.body["request_id"], "slow-one");
        assert!(took >= limit && took < limit + Duration::from_millis(900), "answered after {took:?}");

        if app.backend == "postgres" {
            // The server stops the statement too: nothing of it is left waiting on the lock.
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let waiting = app
                    .db
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    ))
                    .await
                    .expect("query")
                    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
                    .unwrap_or(-1);
                if waiting == 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "a statement still waits on the lock");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        // A client that leaves before the answer is counted (499, as nginx logs it), and
        // its request is no longer in flight.
        let gone = tokio::time::timeout(
            Duration::from_millis(200),
            timed.rest(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[("content-type", "application/json")],
                Some(br#"{"human_verified_category":"SOLAR"}"#.to_vec()),
            ),
        )
        .await;
        assert!(gone.is_err(), "the PATCH should still wait on the lock");
        let now = scrape(&timed, None).await.text;
        assert_eq!(
            sample(&now, "ticket_gateway_http_requests_total", &[("status", "499")])
                - sample(&metrics_before, "ticket_gateway_http_requests_total", &[("status", "499")]),
            1.0
        );
        // Only the scrape itself.
        assert_eq!(sample(&now, "ticket_gateway_http_requests_in_flight", &[]), 1.0);
        holder.rollback().await.expect("release");

        // GraphQL answers a timeout as an error with a code.
        let holder = hold(&app, &ticket).await;
        let m = "mutation($id: ID!) { categorizeTicket(id: $id, input: { humanVerifiedCategory: SOLAR }) { ticket { id } } }";
        let r = timed.graphql(Some(&token), m, json!({ "id": ticket.to_string() })).await;
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(error_code(&r.body), Some("TIMEOUT"), "{}", r.text);
        holder.rollback().await.expect("release");

        // Nothing changed, and the timeouts were counted.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = timed.rest("GET", &format!("/v2/support_tickets/{ticket}"), Some(&token), &[], None).await;
        assert_eq!(after.status, 200, "{}", after.text);
        assert_eq!(after.body_sans_request_id(), before.body_sans_request_id());
        let metrics_after = scrape(&timed, None).await.text;
        let timeouts = |text: &str| sample(text, "ticket_gateway_http_request_timeouts_total", &[]);
        assert_eq!(
            timeouts(&metrics_after) - timeouts(&metrics_before),
            2.0,
            "{}: {metrics_after}",
            app.backend
        );
    })
    .await;
}

/// Reads until the server closes the connection (or `within` passes): what it sent, and
/// whether it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => return (received, false),
        }
    }
}

#[tokio::test]
async fn headers_sent_byte_by_byte_are_cut_off_and_idle_connections_closed() {
    let app = sqlite_app().await;
    let (addr, _stop) = app
        .listening(EdgeSettings {
            header_read_timeout_secs: 1,
            ..EdgeSettings::default()
        })
        .await;

    // Slow headers: one byte every 150 ms would take 6 s; the server stops listening after 1 s.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let request = b"GET /livez HTTP/1.1\r\nHost: gateway.test\r\nX-Padding: aaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut cut_off = false;
    for byte in request {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut probe = [0u8; 256];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await
        {
            cut_off = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(cut_off, "the server waited for all headers ({took:?})");
    assert!(took < Duration::from_secs(3), "cut off after {took:?}");

    // Nothing sent at all counts the same.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(closed, "a silent connection stays open");

    // An idle keep-alive connection is closed after the same time, once its answer is sent.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /livez HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
        .await
        .expect("send");
    let started = Instant::now();
    let (received, closed) = read_until_closed(&mut idle, Duration::from_secs(4)).await;
    assert!(
        String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&received)
    );
    assert!(closed, "an idle connection stays open");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too early"
    );
}
