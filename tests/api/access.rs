//! Row-level access: who sees which tickets, through every operation and statistic, and which tokens are
//! refused. The matrix is data; the property test compares the API with a plain-Rust oracle.

use std::collections::BTreeSet;

use entity::{categorization_change, support_ticket, MessageType};
use jsonwebtoken::{encode, EncodingKey, Header};
use proptest::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use ticket_gateway::auth::{Access, JwtKeys};
use ticket_gateway::config::JwtSettings;
use ticket_gateway::ids::{OrgId, TicketId, UserId};

use crate::helpers::{
    each_backend, each_generated_case, error_code, node_ids, TestApp, READ, READ_WRITE, SECRET,
};

/// Tickets of the matrix: user A and B are in org X, user C in org Y, and one has no user.
const TICKETS: [&str; 4] = ["A's", "B's", "C's", "no user"];

/// token -> for each ticket: read outcome, write outcome. `Y` allowed, `N` not found
/// (indistinguishable from absent), `F` forbidden (the token lacks the OAuth scope).
/// Statistics must count exactly the tickets whose read outcome is `Y`.
const MATRIX: &[(&str, [&str; 4])] = &[
    ("user A", ["YY", "NN", "NN", "NN"]),
    ("user B", ["NN", "YY", "NN", "NN"]),
    ("user C", ["NN", "NN", "YY", "NN"]),
    ("org X", ["YY", "YY", "NN", "NN"]),
    ("org Y", ["NN", "NN", "YY", "NN"]),
    ("all areas", ["YY", "YY", "YY", "YY"]),
    ("all areas, read only", ["YF", "YF", "YF", "YF"]),
    ("user A, read only", ["YF", "NF", "NF", "NF"]),
    ("org X acting as A", ["YY", "NN", "NN", "NN"]),
    ("org X acting as C", ["NN", "NN", "NN", "NN"]),
    ("all areas acting as C", ["NN", "NN", "YY", "NN"]),
    ("user A acting as B", ["NN", "NN", "NN", "NN"]),
];

const STATS_QUERY: &str =
    "{ stats { total statusBreakdown { value } volume(groupBy: MONTH) { count }
    resolution { totalUnresolved } firstResponse { awaitingResponse } } }";

struct World {
    users: [UserId; 3],
    orgs: [OrgId; 2],
    tickets: [TicketId; 4],
    messages: [String; 4],
}

async fn world(app: &TestApp) -> World {
    let (x, y) = (app.org().await, app.org().await);
    let (a, b, c) = (
        app.user(Some(&x)).await,
        app.user(Some(&x)).await,
        app.user(Some(&y)).await,
    );
    let mut tickets = Vec::new();
    let mut messages = Vec::new();
    for (i, owner) in [Some(&a), Some(&b), Some(&c), None].into_iter().enumerate() {
        // A status per ticket, so that a status breakdown names the tickets it counted.
        let t = app
            .ticket_with(owner, |m| {
                m.status = sea_orm::Set(Some(format!("status {i}")))
            })
            .await;
        messages.push(
            app.message(&t, 0, MessageType::InitialRequest, app.tick())
                .await
                .to_string(),
        );
        tickets.push(t);
    }
    World {
        users: [a, b, c],
        orgs: [x, y],
        tickets: tickets.try_into().expect("four tickets"),
        messages: messages.try_into().expect("four messages"),
    }
}

/// The token and `EvEnergy-User` header of a matrix row.
fn credentials(app: &TestApp, w: &World, who: &str) -> (String, Option<String>) {
    let [a, b, c] = &w.users;
    let [x, y] = &w.orgs;
    match who {
        "user A" => (app.user_token(a, READ_WRITE), None),
        "user B" => (app.user_token(b, READ_WRITE), None),
        "user C" => (app.user_token(c, READ_WRITE), None),
        "org X" => (app.org_token(x, READ_WRITE), None),
        "org Y" => (app.org_token(y, READ_WRITE), None),
        "all areas" => (app.all_areas(), None),
        "all areas, read only" => (app.token(Access::AllAreas, READ), None),
        "user A, read only" => (app.user_token(a, READ), None),
        "org X acting as A" => (app.org_token(x, READ_WRITE), Some(a.to_string())),
        "org X acting as C" => (app.org_token(x, READ_WRITE), Some(c.to_string())),
        "all areas acting as C" => (
            app.all_areas(),
            Some(format!("https://api.example/v2/users/{c}")),
        ),
        "user A acting as B" => (app.user_token(a, READ_WRITE), Some(b.to_string())),
        other => panic!("unknown row {other}"),
    }
}

pub async fn graphql_as(
    app: &TestApp,
    token: &str,
    acting: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    use axum::body::Body;
    use axum::http::Request;
    let mut request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"));
    if let Some(user) = acting {
        request = request.header("EvEnergy-User", user);
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let response = app
        .send(request.body(Body::from(body)).expect("request"))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

#[tokio::test]
async fn every_cell_of_the_permission_matrix_holds() {
    each_backend(|app| async move {
        let w = world(&app).await;
        for (row, (who, cells)) in MATRIX.iter().enumerate() {
            let (token, acting) = credentials(&app, &w, who);
            let acting = acting.as_deref();
            let list = graphql_as(&app, &token, acting, "{ tickets(first: 100) { totalCount edges { node { id } } } }", json!({})).await;
            let listed: BTreeSet<String> = node_ids(&list["data"]["tickets"]).into_iter().collect();
            let expected: BTreeSet<String> =
                cells.iter().zip(&w.tickets).filter(|(c, _)| c.starts_with('Y')).map(|(_, t)| t.to_string()).collect();
            assert_eq!(listed, expected, "{}: list as {who}", app.backend);
            assert_eq!(list["data"]["tickets"]["totalCount"], json!(expected.len()), "{}: count as {who}", app.backend);

            // The nested levels a page reads with it (its users and organizations in the page's
            // own statement, its messages in one more) are those of the listed tickets only.
            let nested = graphql_as(&app, &token, acting, "{ tickets(first: 100) { nodes { id messages { id } user { id organization { id } } } } }", json!({})).await;
            let mut seen = BTreeSet::new();
            for node in nested["data"]["tickets"]["nodes"].as_array().into_iter().flatten() {
                let id = node["id"].as_str().unwrap_or_default();
                let i = w.tickets.iter().position(|t| t.to_string() == id).expect("a ticket of the world");
                let ctx = format!("{}: {who} on {}'s ticket", app.backend, TICKETS[i]);
                assert_eq!(node["messages"], json!([{ "id": w.messages[i] }]), "messages: {ctx}");
                let (user, org) = match i {
                    0 => (json!(w.users[0].to_string()), json!(w.orgs[0].to_string())),
                    1 => (json!(w.users[1].to_string()), json!(w.orgs[0].to_string())),
                    2 => (json!(w.users[2].to_string()), json!(w.orgs[1].to_string())),
                    _ => (Value::Null, Value::Null),
                };
                if user.is_null() {
                    assert_eq!(node["user"], Value::Null, "user: {ctx}");
                } else {
                    assert_eq!(node["user"]["id"], user, "user: {ctx}");
                    assert_eq!(node["user"]["organization"]["id"], org, "organization: {ctx}");
                }
                seen.insert(id.to_owned());
            }
            assert_eq!(seen, expected, "{}: nested list as {who}", app.backend);

            // Statistics count exactly the tickets the row may read.
            let stats = graphql_as(&app, &token, acting, STATS_QUERY, json!({})).await;
            let counted: BTreeSet<String> = stats["data"]["stats"]["statusBreakdown"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["value"].as_str().map(str::to_owned))
                .collect();
            let readable: BTreeSet<String> =
                cells.iter().enumerate().filter(|(_, c)| c.starts_with('Y')).map(|(i, _)| format!("status {i}")).collect();
            assert_eq!(counted, readable, "{}: stats as {who}", app.backend);
            assert_eq!(stats["data"]["stats"]["total"], json!(expected.len()), "{}: stats total as {who}", app.backend);
            let volume: u64 = stats["data"]["stats"]["volume"].as_array().into_iter().flatten().filter_map(|p| p["count"].as_u64()).sum();
            assert_eq!(volume, expected.len() as u64, "{}: volume as {who}", app.backend);
            assert_eq!(stats["data"]["stats"]["resolution"]["totalUnresolved"], json!(expected.len()), "{}: resolution as {who}", app.backend);
            assert_eq!(stats["data"]["stats"]["firstResponse"]["awaitingResponse"], json!(expected.len()), "{}: first response as {who}", app.backend);

            for (i, cell) in cells.iter().enumerate() {
                let ctx = format!("{}: {who} on {}'s ticket", app.backend, TICKETS[i]);
                let (read, write) = (&cell[..1], &cell[1..]);
                let ticket = w.tickets[i].to_string();

                let got = graphql_as(&app, &token, acting, "query($id: ID!) { ticket(id: $id) { id messages { id } } }", json!({ "id": ticket })).await;
                let visible = !got["data"]["ticket"].is_null();
                assert_eq!(visible, read == "Y", "get: {ctx}");
                if visible {
                    assert_eq!(got["data"]["ticket"]["messages"][0]["id"], json!(w.messages[i]), "messages: {ctx}");
                }

                let one = graphql_as(
                    &app,
                    &token,
                    acting,
                    "query($id: ID!, $m: ID!) { node(id: $m) { id } ticket(id: $id) { message(id: $m) { id } } }",
                    json!({ "id": ticket, "m": w.messages[i] }),
                )
                .await;
                assert_eq!(!one["data"]["node"].is_null(), read == "Y", "one message by node: {ctx}");
                assert_eq!(!one["data"]["ticket"]["message"].is_null(), read == "Y", "one message of ticket: {ctx}");

                let before = support_ticket::Entity::find_by_id(ticket.clone()).one(&app.db).await.unwrap();
                let changes_before = categorization_change::Entity::find()
                    .filter(categorization_change::Column::TicketId.eq(ticket.clone()))
                    .count(&app.db)
                    .await
                    .unwrap();
                let category = ["CHARGER", "VEHICLE", "SOLAR", "ACCOUNT"][row % 4];
                let wrote = graphql_as(
                    &app,
                    &token,
                    acting,
                    "mutation($id: ID!, $c: Category) { categorizeTicket(id: $id, input: { humanVerifiedCategory: $c }) { ticket { id } } }",
                    json!({ "id": ticket, "c": category }),
                )
                .await;
                match write {
                    "Y" => assert_eq!(wrote["data"]["categorizeTicket"]["ticket"]["id"], json!(ticket), "write: {ctx}: {wrote}"),
                    "N" => assert_eq!(error_code(&wrote), Some("NOT_FOUND"), "write: {ctx}: {wrote}"),
                    _ => assert_eq!(error_code(&wrote), Some("FORBIDDEN"), "write: {ctx}: {wrote}"),
                }
                if write != "Y" {
                    let after = support_ticket::Entity::find_by_id(ticket.clone()).one(&app.db).await.unwrap();
                    assert_eq!(before, after, "denied write changed nothing: {ctx}");
                    let changes_after = categorization_change::Entity::find()
                        .filter(categorization_change::Column::TicketId.eq(ticket.clone()))
                        .count(&app.db)
                        .await
                        .unwrap();
                    assert_eq!(changes_before, changes_after, "denied write recorded nothing: {ctx}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_row_of_the_permission_matrix_hears_of_exactly_the_tickets_it_reads() {
    each_backend(|app| async move {
        let w = world(&app).await;
        let who: Vec<_> = MATRIX
            .iter()
            .map(|(who, _)| credentials(&app, &w, who))
            .collect();
        let heard = crate::subscriptions::heard(&app, &who, || async {
            for (i, ticket) in w.tickets.iter().enumerate() {
                crate::subscriptions::set_status(&app, ticket, &format!("changed {i}")).await;
                app.message(ticket, 1, MessageType::CustomerResponse, app.tick())
                    .await;
            }
        })
        .await;
        for ((who, cells), (tickets, messages)) in MATRIX.iter().zip(heard) {
            let expected: BTreeSet<String> = cells
                .iter()
                .zip(&w.tickets)
                .filter(|(c, _)| c.starts_with('Y'))
                .map(|(_, t)| json!(t.to_string()).to_string())
                .collect();
            assert_eq!(tickets, expected, "{}: ticketChanged as {who}", app.backend);
            assert_eq!(messages, expected, "{}: messageAdded as {who}", app.backend);
        }
    })
    .await;
}

#[tokio::test]
async fn an_out_of_scope_ticket_answers_exactly_like_a_missing_one() {
    each_backend(|app| async move {
        let w = world(&app).await;
        let token = app.user_token(&w.users[0], READ_WRITE);
        let q = "query($id: ID!) { ticket(id: $id) { id } }";
        let hidden = app.graphql(Some(&token), q, json!({ "id": w.tickets[2].to_string() })).await;
        let absent = app.graphql(Some(&token), q, json!({ "id": TicketId::generate().to_string() })).await;
        assert_eq!(hidden.status, absent.status);
        assert_eq!(hidden.body_sans_request_id(), absent.body_sans_request_id());
        let m = "mutation($id: ID!) { categorizeTicket(id: $id, input: { aiGeneratedCategory: SOLAR }) { ticket { id } } }";
        let hidden = app.graphql(Some(&token), m, json!({ "id": w.tickets[2].to_string() })).await;
        let absent = app.graphql(Some(&token), m, json!({ "id": TicketId::generate().to_string() })).await;
        assert_eq!(hidden.status, absent.status);
        assert_eq!(hidden.body_sans_request_id(), absent.body_sans_request_id());
    })
    .await;
}

// ---- property test: the API against an oracle in plain Rust ----

#[derive(Debug, Clone)]
struct Case {
    /// Organization index of each user, or none.
    users: Vec<Option<usize>>,
    /// User index of each ticket, or none.
    tickets: Vec<Option<usize>>,
    /// 0 = user, 1 = org, 2 = all areas; the index picks which; then an optional acting user.
    token: (u8, usize, Option<usize>),
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..4, 1usize..7).prop_flat_map(|(orgs, users)| {
        (
            prop::collection::vec(prop::option::weighted(0.8, 0..orgs), users),
            prop::collection::vec(prop::option::weighted(0.85, 0..users), 0..25),
            (
                0u8..3,
                0..users.max(orgs),
                prop::option::weighted(0.25, 0..users),
            ),
        )
            .prop_map(|(users, tickets, token)| Case {
                users,
                tickets,
                token,
            })
    })
}

/// Which tickets the rules say the token sees, by index.
fn oracle(case: &Case) -> BTreeSet<usize> {
    let (kind, which, acting) = case.token;
    let org_count = case.users.iter().flatten().max().map_or(1, |m| m + 1);
    (0..case.tickets.len())
        .filter(|&t| {
            let owner = case.tickets[t];
            let base = match kind {
                0 => owner == Some(which % case.users.len()),
                1 => owner.is_some_and(|u| case.users[u] == Some(which % org_count)),
                _ => true,
            };
            base && acting.is_none_or(|a| owner == Some(a))
        })
        .collect()
}

async fn check_case(app: TestApp, case: Case) {
    let org_count = case.users.iter().flatten().max().map_or(1, |m| m + 1);
    let mut orgs = Vec::new();
    for _ in 0..org_count {
        orgs.push(app.org().await);
    }
    let mut users = Vec::new();
    for org in &case.users {
        users.push(app.user(org.map(|o| &orgs[o])).await);
    }
    let mut tickets = Vec::new();
    for owner in &case.tickets {
        tickets.push(app.ticket(owner.map(|u| &users[u])).await.to_string());
    }
    let (kind, which, acting) = case.token;
    let access = match kind {
        0 => Access::User(users[which % users.len()].clone()),
        1 => Access::Org(orgs[which % org_count].clone()),
        _ => Access::AllAreas,
    };
    let token = app.token(access, READ);
    let acting = acting.map(|a| users[a].to_string());
    let got = graphql_as(
        &app,
        &token,
        acting.as_deref(),
        "{ tickets(first: 100) { totalCount edges { node { id } } } stats { total resolution { totalUnresolved } statusBreakdown { count } } }",
        json!({}),
    )
    .await;
    let listed: BTreeSet<String> = node_ids(&got["data"]["tickets"]).into_iter().collect();
    let expected: BTreeSet<String> = oracle(&case)
        .into_iter()
        .map(|i| tickets[i].clone())
        .collect();
    assert_eq!(listed, expected, "{}: {case:?}", app.backend);
    assert_eq!(
        got["data"]["tickets"]["totalCount"],
        json!(expected.len()),
        "{}: {case:?}",
        app.backend
    );
    let stats = &got["data"]["stats"];
    assert_eq!(
        stats["total"],
        json!(expected.len()),
        "{}: {case:?}",
        app.backend
    );
    assert_eq!(
        stats["resolution"]["totalUnresolved"],
        json!(expected.len()),
        "{}: {case:?}",
        app.backend
    );
    // Subscribers hear of changes to exactly the same tickets.
    let (heard, _) =
        crate::subscriptions::heard(&app, &[(token.clone(), acting.clone())], || async {
            for ticket in &tickets {
                let id = ticket_gateway::ids::TicketId::parse(ticket).expect("a ticket id");
                crate::subscriptions::set_status(&app, &id, "changed").await;
            }
        })
        .await
        .remove(0);
    let expected_heard: BTreeSet<String> = expected.iter().map(|t| json!(t).to_string()).collect();
    assert_eq!(
        heard, expected_heard,
        "{}: subscription: {case:?}",
        app.backend
    );
    let breakdown: u64 = stats["statusBreakdown"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["count"].as_u64())
        .sum();
    assert_eq!(
        breakdown,
        expected.len() as u64,
        "{}: {case:?}",
        app.backend
    );
}

#[test]
fn listed_tickets_always_equal_what_the_rules_allow() {
    each_generated_case(case(), check_case);
}

// ---- forged and broken tokens ----

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hs256(claims: Value, secret: &str) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn b64(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn assert_refused(app: &TestApp, authorization: &str, why: &str) {
    use axum::body::Body;
    use axum::http::Request;
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .body(Body::from(
            json!({ "query": "{ tickets { totalCount } }" }).to_string(),
        ))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(
        response.status, 401,
        "{}: {why}: {}",
        app.backend, response.text
    );
    assert_eq!(response.header("www-authenticate"), Some("Bearer"), "{why}");
    assert_eq!(error_code(&response.body), Some("UNAUTHENTICATED"), "{why}");
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_with_401() {
    each_backend(|app| async move {
        let ok = |extra: Value| {
            let mut claims = json!({ "access_all_areas": true, "scope": READ, "exp": now() + 300 });
            if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
                for (k, v) in e {
                    if v.is_null() {
                        c.remove(k);
                    } else {
                        c.insert(k.clone(), v.clone());
                    }
                }
            }
            claims
        };
        // Sanity: the baseline is accepted, also within the 30 s leeway.
        for claims in [ok(json!({})), ok(json!({ "exp": now() - 10 }))] {
            let good = app
                .graphql(
                    Some(&hs256(claims, SECRET)),
                    "{ tickets { totalCount } }",
                    json!({}),
                )
                .await;
            assert_eq!(good.status, 200, "{}", good.text);
        }
        let none_alg = format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "typ": "JWT" })),
            b64(&ok(json!({})))
        );
        let cases: Vec<(String, &str)> = vec![
            (format!("Bearer {none_alg}"), "alg none"),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({})), "some-other-secret-entirely")
                ),
                "wrong signature",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "exp": now() - 120 })), SECRET)
                ),
                "expired beyond leeway",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "nbf": now() + 120 })), SECRET)
                ),
                "nbf in the future",
            ),
            (
                format!("Bearer {}", hs256(ok(json!({ "nbf": "0" })), SECRET)),
                "nbf as a string",
            ),
            (
                format!("Bearer {}", hs256(ok(json!({ "exp": null })), SECRET)),
                "missing exp",
            ),
            (
                format!("Bearer {}", hs256(ok(json!({ "exp": "soon" })), SECRET)),
                "exp as a string",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "access_all_areas": null })), SECRET)
                ),
                "no access claim",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(
                        ok(json!({ "user": UserId::generate().to_string() })),
                        SECRET
                    )
                ),
                "two access claims",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "access_all_areas": "true" })), SECRET)
                ),
                "access_all_areas as a string",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "access_all_areas": null, "user": 42 })), SECRET)
                ),
                "user claim of the wrong type",
            ),
            (
                format!(
                    "Bearer {}",
                    hs256(ok(json!({ "scope": ["support:read"] })), SECRET)
                ),
                "scope not a string",
            ),
            ("Bearer not.a.jwt".to_owned(), "garbage after Bearer"),
            ("Bearer ".to_owned(), "nothing after Bearer"),
            ("".to_owned(), "an empty header"),
            (
                format!("Basic {}", hs256(ok(json!({})), SECRET)),
                "another scheme",
            ),
        ];
        for (header, why) in &cases {
            assert_refused(&app, header, why).await;
        }
    })
    .await;
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[tokio::test]
async fn with_a_public_key_only_that_algorithm_is_accepted() {
    each_backend(|app| async move {
        let settings = JwtSettings {
            jwt_public_key_file: Some(fixture("rsa_public.pem")),
            ..JwtSettings::default()
        };
        let rsa = app.rekeyed(JwtKeys::from_settings(&settings, None).expect("rsa keys"));
        let claims = json!({ "access_all_areas": true, "scope": READ, "exp": now() + 300 });
        let private = std::fs::read(fixture("rsa_private.pem")).expect("private key");
        let signed = encode(
            &Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_pem(&private).expect("pem"),
        )
        .expect("sign");
        let good = rsa
            .graphql(Some(&signed), "{ tickets { totalCount } }", json!({}))
            .await;
        assert_eq!(good.status, 200, "{}", good.text);
        // The classic confusion attack: HS256 "signed" with the public key as the secret.
        let public = std::fs::read(fixture("rsa_public.pem")).expect("public key");
        let forged = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(&public),
        )
        .expect("sign");
        assert_refused(
            &rsa,
            &format!("Bearer {forged}"),
            "HS256 signed with the RSA public key",
        )
        .await;

        let settings = JwtSettings {
            jwt_public_key_file: Some(fixture("ed25519_public.pem")),
            ..JwtSettings::default()
        };
        let ed = app.rekeyed(JwtKeys::from_settings(&settings, None).expect("ed25519 keys"));
        let private = std::fs::read(fixture("ed25519_private.pem")).expect("private key");
        let signed = encode(
            &Header::new(jsonwebtoken::Algorithm::EdDSA),
            &claims,
            &EncodingKey::from_ed_pem(&private).expect("pem"),
        )
        .expect("sign");
        let good = ed
            .graphql(Some(&signed), "{ tickets { totalCount } }", json!({}))
            .await;
        assert_eq!(good.status, 200, "{}", good.text);
        let rs_signed = encode(
            &Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa_private.pem")).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_refused(
            &ed,
            &format!("Bearer {rs_signed}"),
            "RS256 token when EdDSA is configured",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_configured() {
    each_backend(|app| async move {
        let settings = JwtSettings {
            jwt_secret: Some(SECRET.into()),
            jwt_issuer: Some("https://issuer.test".into()),
            jwt_audience: Some("ticket-gateway".into()),
            ..JwtSettings::default()
        };
        let strict = app.rekeyed(JwtKeys::from_settings(&settings, None).expect("keys"));
        let claims = |iss: Value, aud: Value| {
            let mut c = json!({ "access_all_areas": true, "scope": READ, "exp": now() + 300 });
            if !iss.is_null() {
                c["iss"] = iss;
            }
            if !aud.is_null() {
                c["aud"] = aud;
            }
            hs256(c, SECRET)
        };
        let good = strict
            .graphql(
                Some(&claims(
                    json!("https://issuer.test"),
                    json!("ticket-gateway"),
                )),
                "{ tickets { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(good.status, 200, "{}", good.text);
        for (token, why) in [
            (
                claims(json!("https://evil.test"), json!("ticket-gateway")),
                "wrong iss",
            ),
            (
                claims(json!("https://issuer.test"), json!("someone-else")),
                "wrong aud",
            ),
            (claims(Value::Null, json!("ticket-gateway")), "missing iss"),
            (
                claims(json!("https://issuer.test"), Value::Null),
                "missing aud",
            ),
        ] {
            assert_refused(&strict, &format!("Bearer {token}"), why).await;
        }
        // Minted tokens carry the configured issuer and audience.
        let minted = strict
            .keys
            .mint(&Access::AllAreas, READ, std::time::Duration::from_secs(60))
            .expect("mint");
        assert_eq!(
            strict
                .graphql(Some(&minted), "{ tickets { totalCount } }", json!({}))
                .await
                .status,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_without_the_read_scope_is_forbidden_not_unauthenticated() {
    each_backend(|app| async move {
        let token = app.token(Access::AllAreas, "support:write");
        let response = app
            .graphql(Some(&token), "{ tickets { totalCount } }", json!({}))
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(error_code(&response.body), Some("FORBIDDEN"));
    })
    .await;
}
