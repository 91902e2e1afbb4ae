//! GraphQL API tests.

use entity::MessageType;
use serde_json::json;

use crate::helpers::{each_backend, error_code, node_ids, READ_WRITE};

#[test]
fn schema_graphql_matches_what_the_binary_prints() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql exists");
    assert!(
        on_disk == ticket_gateway::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn pages_walk_forward_and_backward_without_gaps_or_repeats() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let mut ids = Vec::new();
        for _ in 0..7 {
            ids.push(app.ticket(Some(&user)).await.to_string());
        }
        ids.reverse(); // newest first
        let token = app.all_areas();
        let q = "query($after: String, $before: String, $first: Int, $last: Int) { tickets(first: $first, after: $after, last: $last, before: $before) { pageInfo { hasNextPage hasPreviousPage endCursor startCursor } edges { node { id } } } }";
        let mut seen = Vec::new();
        let mut after = serde_json::Value::Null;
        loop {
            let r = app.graphql(Some(&token), q, json!({ "first": 3, "after": after })).await;
            let conn = &r.body["data"]["tickets"];
            seen.extend(node_ids(conn));
            if conn["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, ids, "{}", app.backend);
        let mut back = Vec::new();
        let mut before = serde_json::Value::Null;
        loop {
            let r = app.graphql(Some(&token), q, json!({ "last": 3, "before": before })).await;
            let conn = &r.body["data"]["tickets"];
            let mut page = node_ids(conn);
            page.extend(back);
            back = page;
            if conn["pageInfo"]["hasPreviousPage"] != json!(true) {
                break;
            }
            before = conn["pageInfo"]["startCursor"].clone();
        }
        assert_eq!(back, ids, "{}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn page_sizes_outside_one_to_a_hundred_are_bad_user_input() {
    each_backend(|app| async move {
        let token = app.all_areas();
        for (args, ok) in [
            ("first: 1", true),
            ("first: 100", true),
            ("first: 0", false),
            ("first: 101", false),
            ("last: 101", false),
            ("first: 1, last: 1", false),
        ] {
            let r = app
                .graphql(
                    Some(&token),
                    &format!("{{ tickets({args}) {{ totalCount }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(r.body["errors"].is_null(), ok, "{args}: {}", r.text);
            if !ok {
                assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"), "{args}");
            }
        }
        let r = app
            .graphql(
                Some(&token),
                r#"{ tickets(after: "garbage") { totalCount } }"#,
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn categorize_records_history_and_rejects_stale_versions() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await.to_string();
        let token = app.all_areas();
        let m = "mutation($id: ID!, $input: CategorizeTicketInput!) { categorizeTicket(id: $id, input: $input) { ticket { version humanVerifiedCategory aiGeneratedCategory categorizationHistory { changedBy before { humanVerifiedCategory } after { humanVerifiedCategory } version } } } }";
        let r = app.graphql(Some(&token), m, json!({ "id": ticket, "input": { "humanVerifiedCategory": "CHARGER", "expectedVersion": 1 } })).await;
        let t = &r.body["data"]["categorizeTicket"]["ticket"];
        assert_eq!(t["version"], json!(2), "{}", r.text);
        assert_eq!(t["categorizationHistory"][0]["after"]["humanVerifiedCategory"], json!("CHARGER"));
        assert_eq!(t["categorizationHistory"][0]["before"]["humanVerifiedCategory"], json!(null));
        let stale = app.graphql(Some(&token), m, json!({ "id": ticket, "input": { "humanVerifiedCategory": "SOLAR", "expectedVersion": 1 } })).await;
        assert_eq!(error_code(&stale.body), Some("CONFLICT"));
        let cleared = app.graphql(Some(&token), m, json!({ "id": ticket, "input": { "humanVerifiedCategory": null } })).await;
        assert_eq!(cleared.body["data"]["categorizeTicket"]["ticket"]["humanVerifiedCategory"], json!(null), "{}", cleared.text);
        let empty = app.graphql(Some(&token), m, json!({ "id": ticket, "input": {} })).await;
        assert_eq!(error_code(&empty.body), Some("BAD_USER_INPUT"));
        let bad_enum = app.graphql(Some(&token), m, json!({ "id": ticket, "input": { "humanVerifiedCategory": "NOPE" } })).await;
        assert!(bad_enum.body["data"].is_null() && !bad_enum.body["errors"].is_null(), "{}", bad_enum.text);
    })
    .await;
}

#[tokio::test]
async fn tag_and_composed_filters_select_the_right_tickets() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let a = app.ticket_with(Some(&user), |t| { t.tags = sea_orm::Set(json!(["vip", "bug"])); t.status = sea_orm::Set(Some("Open".into())); }).await.to_string();
        let b = app.ticket_with(Some(&user), |t| { t.tags = sea_orm::Set(json!(["bug"])); t.status = sea_orm::Set(Some("Closed".into())); }).await.to_string();
        let c = app.ticket_with(None, |t| { t.status = sea_orm::Set(None); }).await.to_string();
        let token = app.all_areas();
        let run = |filter: serde_json::Value| {
            let app = &app;
            let token = token.clone();
            async move {
                let r = app.graphql(Some(&token), "query($f: TicketFilter) { tickets(filter: $f, order: CREATED_AT_ASC) { edges { node { id } } } }", json!({ "f": filter.clone() })).await;
                assert!(r.body["errors"].is_null(), "{filter}: {}", r.text);
                node_ids(&r.body["data"]["tickets"])
            }
        };
        assert_eq!(run(json!({ "tags": { "contains": "bug" } })).await, vec![a.clone(), b.clone()]);
        assert_eq!(run(json!({ "tags": { "containsAll": ["bug", "vip"] } })).await, vec![a.clone()]);
        assert_eq!(run(json!({ "status": { "in": ["Closed"] } })).await, vec![b.clone()]);
        assert_eq!(run(json!({ "status": { "isNull": true } })).await, vec![c.clone()]);
        assert_eq!(run(json!({ "user": { "isNull": true } })).await, vec![c.clone()]);
        assert_eq!(run(json!({ "or": [{ "status": { "eq": "Open" } }, { "user": { "isNull": true } }] })).await, vec![a.clone(), c.clone()]);
        assert_eq!(run(json!({ "not": { "tags": { "contains": "vip" } } })).await, vec![b.clone(), c.clone()]);
        let r = app.graphql(Some(&token), r#"{ tickets(filter: { createdAt: { gte: "2030-01-01T00:00:00Z", lte: "2020-01-01T00:00:00Z" } }) { totalCount } }"#, json!({})).await;
        assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"), "{}", r.text);
    })
    .await;
}

#[tokio::test]
async fn a_page_of_tickets_with_messages_and_users_costs_the_same_statements_for_10_and_100() {
    each_backend(|app| async move {
        let org = app.org().await;
        let mut users = Vec::new();
        for _ in 0..5 {
            users.push(app.user(Some(&org)).await);
        }
        for i in 0..100 {
            let t = app.ticket(Some(&users[i % 5])).await;
            for p in 0..3 {
                let kind = if p == 0 { MessageType::InitialRequest } else { MessageType::CustomerResponse };
                app.message(&t, p, kind, app.tick()).await;
            }
        }
        let token = app.org_token(&org, READ_WRITE);
        let mut counts = Vec::new();
        for n in [10, 100] {
            let q = format!(
                "{{ tickets(first: {n}) {{ edges {{ node {{ id user {{ id organization {{ name }} }} messages {{ id }} categorizationHistory {{ version }} }} }} }} }}"
            );
            app.reset_statements();
            let r = app.graphql(Some(&token), &q, json!({})).await;
            assert_eq!(node_ids(&r.body["data"]["tickets"]).len(), n, "{}", r.text);
            counts.push(app.statements());
        }
        // The page, users, organizations, messages and history: five, whatever the page size.
        assert_eq!(counts, vec![5, 5], "{}: statements for 10 and 100 tickets", app.backend);
    })
    .await;
}
