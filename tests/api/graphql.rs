//! GraphQL API tests.

use entity::MessageType;
use sea_orm::Set;
use serde_json::json;

use crate::helpers::{each_backend, error_code, node_ids, TestApp, READ_WRITE};

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
    // Nested levels are loaded ahead of the page's fields, so the DataLoaders' timer plays no
    // part: the counts hold with no delay at all and with a long one.
    for delay in [0, 50] {
        let settings = ticket_gateway::config::GraphqlSettings {
            graphql_loader_delay_ms: delay,
            ..Default::default()
        };
        crate::helpers::each_backend_with(settings, |app| async move {
            let org = app.org().await;
            let mut users = Vec::new();
            for _ in 0..5 {
                users.push(app.user(Some(&org)).await);
            }
            let mut first = None;
            for i in 0..100 {
                let t = app.ticket(Some(&users[i % 5])).await;
                first.get_or_insert(t.clone());
                for p in 0..3 {
                    let kind = if p == 0 { MessageType::InitialRequest } else { MessageType::CustomerResponse };
                    app.message(&t, p, kind, app.tick()).await;
                }
            }
            let token = app.org_token(&org, READ_WRITE);
            // (selection under each ticket, statements): the page (with its users and their
            // organizations joined), then one per further nested level.
            let shapes = [
                ("id messages { id position }", 2),
                ("id messages { id } user { fullName organization { id name } }", 2),
                ("id user { fullName } messages { id }", 2),
                ("id user { id organization { name } } messages { id } categorizationHistory { version }", 3),
                // One statement per distinct message filter; an explicit null is no filter.
                ("id messages(filter: null) { id } all: messages { position }", 2),
                ("id a: messages { id } b: messages(filter: { messageType: { eq: INITIAL_REQUEST } }) { id }", 3),
            ];
            for (selection, expected) in shapes {
                for list in ["nodes { SEL }", "edges { cursor node { SEL } }"] {
                    let mut counts = Vec::new();
                    for n in [10, 100] {
                        let q = format!("{{ tickets(first: {n}) {{ {} }} }}", list.replace("SEL", selection));
                        app.reset_statements();
                        let r = app.graphql(Some(&token), &q, json!({})).await;
                        assert!(r.body["errors"].is_null(), "{}", r.text);
                        let data = &r.body["data"]["tickets"];
                        let nodes = data["nodes"].as_array().or(data["edges"].as_array()).map(Vec::len);
                        assert_eq!(nodes, Some(n), "{}", r.text);
                        counts.push(app.statements());
                    }
                    assert_eq!(
                        counts,
                        vec![expected, expected],
                        "{} (delay {delay} ms): statements for 10 and 100 tickets of `{list}` with `{selection}`",
                        app.backend
                    );
                }
            }
            // A single ticket loads its levels ahead too.
            let id = first.expect("a ticket").to_string();
            let q = format!("{{ ticket(id: \"{id}\") {{ id messages {{ id }} user {{ organization {{ name }} }} }} }}");
            app.reset_statements();
            let r = app.graphql(Some(&token), &q, json!({})).await;
            assert_eq!(r.body["data"]["ticket"]["messages"].as_array().map(Vec::len), Some(3), "{}", r.text);
            assert_eq!(app.statements(), 3, "{}: statements for one ticket", app.backend);
        })
        .await;
    }
}

#[tokio::test]
async fn objects_answer_the_same_whether_their_fields_are_listed_or_spread_from_fragments() {
    // A plain list of fields is answered from the rows at once; fragments go through the
    // executor's own resolution. Both must give the same answer, nulls and errors included.
    each_backend(|app| async move {
        use entity::{Category, Subcategory};
        let org = app.org().await;
        let user = app.user(Some(&org)).await;
        let full = app
            .ticket_with(Some(&user), |t| {
                t.human_verified_category = Set(Some(Category::Charger));
                t.human_verified_subcategory = Set(Some(Subcategory::Commissioning));
                t.ai_generated_category = Set(Some(Category::MobileApp));
                t.type_deprecated = Set(Some("Problem".into()));
                t.tags = Set(json!(["escalated", 7, null, "vip"]));
                t.conversation_summary = Set(Some("Charger \"offline\"\nsince Monday".into()));
                t.custom_fields = Set(json!({ "car": { "make": "Tesla", "year": 2021 }, "list": [1.5, true, null] }));
                t.attributes = Set(json!([]));
                t.ticket_updated_at = Set(Some(app.tick()));
                t.resolved_at = Set(Some(app.tick()));
            })
            .await;
        for p in 0..3 {
            app.message(&full, p, if p == 0 { MessageType::InitialRequest } else { MessageType::HumanAgentResponse }, app.tick()).await;
        }
        app.ticket_with(None, |t| {
            t.subject = Set(None);
            t.status = Set(None);
            t.priority = Set(None);
            t.source = Set(None);
        })
        .await;
        let token = app.all_areas();
        let ticket_fields = "__typename id externalTicketId subject status priority source humanVerifiedCategory humanVerifiedSubcategory aiGeneratedCategory aiGeneratedSubcategory typeDeprecated tags conversationSummary customFields attributes createdAt ticketUpdatedAt resolvedAt version";
        let message_fields = "__typename id ticketId position messageType message messageClean createdAt";
        let nested = |wrap: &dyn Fn(&str, &str) -> String| {
            let org = wrap("Organization", "__typename id name");
            let user = wrap("User", &format!("__typename id email fullName joinedAt organization {{ {org} }}"));
            let messages = wrap("Message", message_fields);
            let first = wrap("Message", "id position");
            wrap(
                "Ticket",
                &format!(
                    "{ticket_fields} key: id messages {{ {messages} }} initial: messages(filter: {{ messageType: {{ eq: INITIAL_REQUEST }} }}) {{ {first} }} bad: messages(filter: {{ position: {{ gte: 1, lte: 0 }} }}) {{ id }} user {{ {user} }}"
                ),
            )
        };
        let listed = nested(&|_, fields: &str| fields.to_owned());
        let spread = nested(&|ty, fields: &str| format!("... on {ty} {{ {fields} }}"));
        let answer = |selection: String| {
            let app = &app;
            let token = &token;
            async move {
                let q = format!("{{ tickets(order: CREATED_AT_ASC) {{ nodes {{ {selection} }} edges {{ node {{ {selection} }} }} }} }}");
                app.graphql(Some(token), &q, json!({})).await
            }
        };
        let (a, b) = (answer(listed).await, answer(spread).await);
        assert_eq!(a.body["data"]["tickets"]["nodes"].as_array().map(Vec::len), Some(2), "{}", a.text);
        assert_eq!(a.body["data"], b.body["data"], "listed:\n{}\nspread:\n{}", a.text, b.text);
        // The same errors at the same paths (their locations differ with the query text).
        let errors = |body: &serde_json::Value| -> Vec<(String, String, String)> {
            body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["path"].to_string(), e["extensions"]["code"].to_string(), e["message"].to_string()))
                .collect()
        };
        assert_eq!(errors(&a.body), errors(&b.body), "listed:\n{}\nspread:\n{}", a.text, b.text);
        assert_eq!(errors(&a.body).len(), 4, "{}", a.text);
        // The invalid filter is reported, the same way on both paths.
        assert_eq!(error_code(&a.body), Some("BAD_USER_INPUT"), "{}", a.text);
        let node = &a.body["data"]["tickets"]["nodes"][0];
        assert_eq!(node["tags"], json!(["escalated", "vip"]));
        assert_eq!(node["messages"][2]["messageType"], json!("HUMAN_AGENT_RESPONSE"));
        assert_eq!(node["user"]["organization"]["__typename"], json!("Organization"));
        // In requested order, in the text as sent.
        let at = |key: &str| a.text.find(&format!("\"{key}\":")).unwrap_or(usize::MAX);
        let order = ["__typename", "id", "externalTicketId", "tags", "version", "key", "messages", "initial", "user"];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{}", a.text);
    })
    .await;
}

#[tokio::test]
async fn bulky_ticket_fields_come_back_whichever_part_of_the_selection_asks_for_them() {
    each_backend(|app| async move {
        app.ticket_with(None, |t| {
            t.tags = Set(json!(["escalated"]));
            t.custom_fields = Set(json!({ "car_manufacturer": "Tesla" }));
            t.attributes = Set(json!({ "tariff": "agile" }));
            t.conversation_summary = Set(Some("Charger offline since Monday".into()));
        })
        .await;
        let token = app.all_areas();
        let bulky = json!({
            "tags": ["escalated"],
            "customFields": { "car_manufacturer": "Tesla" },
            "attributes": { "tariff": "agile" },
            "conversationSummary": "Charger offline since Monday",
        });
        let fields = "tags customFields attributes conversationSummary";
        let queries = [
            format!("{{ tickets {{ nodes {{ {fields} }} }} }}"),
            format!("{{ tickets {{ edges {{ node {{ {fields} }} }} }} }}"),
            format!("{{ tickets {{ nodes {{ ...F }} }} }} fragment F on Ticket {{ {fields} }}"),
            format!(
                "{{ tickets {{ nodes {{ ... on Node {{ ... on Ticket {{ {fields} }} }} }} }} }}"
            ),
            format!("{{ tickets {{ nodes {{ id }} edges {{ node {{ {fields} }} }} }} }}"),
        ];
        for q in queries {
            let r = app.graphql(Some(&token), &q, json!({})).await;
            assert!(r.body["errors"].is_null(), "{q}: {}", r.text);
            let data = &r.body["data"]["tickets"];
            let node = if data["edges"].is_array() {
                &data["edges"][0]["node"]
            } else {
                &data["nodes"][0]
            };
            for (key, value) in bulky.as_object().expect("object") {
                assert_eq!(&node[key], value, "{q}: {key}");
            }
        }
    })
    .await;
}

async fn raw(
    app: &crate::helpers::TestApp,
    method: &str,
    uri: &str,
    content_type: &str,
    body: String,
    token: &str,
) -> crate::helpers::TestResponse {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from(body))
        .expect("request");
    app.send(request).await
}

#[tokio::test]
async fn http_conventions_get_queries_no_get_mutations_json_only_and_bounded_bodies() {
    each_backend(|app| async move {
        let token = app.all_areas();
        let get = raw(&app, "GET", "/graphql?query=%7B%20tickets%20%7B%20totalCount%20%7D%20%7D", "application/json", String::new(), &token).await;
        assert_eq!(get.status, 200, "{}", get.text);
        assert_eq!(get.body["data"]["tickets"]["totalCount"], json!(0));
        let mutation = "mutation%20%7B%20categorizeTicket(id%3A%20%22x%22%2C%20input%3A%20%7B%7D)%20%7B%20ticket%20%7B%20id%20%7D%20%7D%20%7D";
        let get_mutation = raw(&app, "GET", &format!("/graphql?query={mutation}"), "application/json", String::new(), &token).await;
        assert_eq!(get_mutation.status, 405, "{}", get_mutation.text);
        let form = raw(&app, "POST", "/graphql", "text/plain", "{ tickets { totalCount } }".into(), &token).await;
        assert_eq!(form.status, 415);
        let not_json = raw(&app, "POST", "/graphql", "application/json", "{ tickets".into(), &token).await;
        assert_eq!(not_json.status, 400);
        assert_eq!(error_code(&not_json.body), Some("BAD_USER_INPUT"));
        let huge = format!("{{\"query\":\"{{ tickets {{ totalCount }} }}\",\"x\":\"{}\"}}", "a".repeat(70 * 1024));
        let too_large = raw(&app, "POST", "/graphql", "application/json", huge, &token).await;
        assert_eq!(too_large.status, 413);
        assert_eq!(error_code(&too_large.body), Some("PAYLOAD_TOO_LARGE"), "{}", too_large.text);
        let html = app
            .send(axum::http::Request::get("/graphql").header("accept", "text/html").body(axum::body::Body::empty()).unwrap())
            .await;
        assert_eq!(html.status, 200);
        assert!(html.text.contains("graphiql"), "GraphiQL page");
    })
    .await;
}

#[tokio::test]
async fn each_limit_accepts_its_bound_and_refuses_one_past_it() {
    use ticket_gateway::config::GraphqlSettings;
    let settings = GraphqlSettings {
        graphql_max_depth: 4,
        graphql_max_complexity: 61,
        graphql_max_aliases: 2,
        graphql_max_directives: 1,
        graphql_max_batch: 2,
        ..GraphqlSettings::default()
    };
    crate::helpers::each_backend_with(settings, |app| async move {
        let token = app.all_areas();
        let ok = |r: &crate::helpers::TestResponse| r.status == 200 && r.body["errors"].is_null();
        // depth: tickets > edges > node > id is 4 levels; one more is refused.
        assert!(ok(&app.graphql(Some(&token), "{ tickets(first: 1) { edges { node { id } } } }", json!({})).await));
        assert!(!ok(&app.graphql(Some(&token), "{ tickets(first: 1) { edges { node { user { id } } } } }", json!({})).await));
        // complexity: tickets weighs page size x selection, plus 1; scalars weigh nothing and
        // each object 1, so `nodes { id user { id } }` is 2.
        assert!(ok(&app.graphql(Some(&token), "{ tickets(first: 30) { nodes { id user { id } } } }", json!({})).await));
        let past = app.graphql(Some(&token), "{ tickets(first: 31) { nodes { id user { id } } } }", json!({})).await;
        assert!(!ok(&past), "{}", past.text);
        // aliases
        assert!(ok(&app.graphql(Some(&token), "{ a: categories { categories { value } } b: categories { categories { value } } }", json!({})).await));
        let three = app.graphql(Some(&token), "{ a: categories { categories { value } } b: categories { categories { value } } c: categories { categories { value } } }", json!({})).await;
        assert_eq!(three.status, 400);
        assert_eq!(error_code(&three.body), Some("BAD_USER_INPUT"));
        // directives per field
        assert!(ok(&app.graphql(Some(&token), "{ categories @include(if: true) { categories { value } } }", json!({})).await));
        assert!(!ok(&app.graphql(Some(&token), "{ categories @include(if: true) @skip(if: false) { categories { value } } }", json!({})).await));
        // batch size
        let one = json!({ "query": "{ categories { categories { value } } }" });
        let batch = |n: usize| serde_json::Value::Array(vec![one.clone(); n]).to_string();
        assert_eq!(raw(&app, "POST", "/graphql", "application/json", batch(2), &token).await.status, 200);
        assert_eq!(raw(&app, "POST", "/graphql", "application/json", batch(3), &token).await.status, 400);
    })
    .await;
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_switched_off() {
    use ticket_gateway::config::GraphqlSettings;
    let settings = GraphqlSettings {
        graphql_introspection: false,
        graphiql: false,
        ..GraphqlSettings::default()
    };
    crate::helpers::each_backend_with(settings, |app| async move {
        let r = app
            .graphql(
                Some(&app.all_areas()),
                "{ __schema { queryType { name } } }",
                json!({}),
            )
            .await;
        assert_eq!(r.body["data"]["__schema"], json!(null), "{}", r.text);
        let html = app
            .send(
                axum::http::Request::get("/graphql")
                    .header("accept", "text/html")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(html.status, 404);
    })
    .await;
}

#[tokio::test]
async fn node_resolves_tickets_messages_and_users_by_id() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let message = app
            .message(&ticket, 0, MessageType::InitialRequest, app.tick())
            .await;
        let token = app.all_areas();
        let q = "query($id: ID!) { node(id: $id) { __typename id } }";
        for (id, kind) in [
            (ticket.to_string(), "Ticket"),
            (message.to_string(), "Message"),
            (user.to_string(), "User"),
        ] {
            let r = app.graphql(Some(&token), q, json!({ "id": id })).await;
            assert_eq!(
                r.body["data"]["node"],
                json!({ "__typename": kind, "id": id }),
                "{}",
                r.text
            );
        }
        let r = app
            .graphql(Some(&token), q, json!({ "id": "nonsense" }))
            .await;
        assert_eq!(r.body["data"]["node"], json!(null));
    })
    .await;
}

#[tokio::test]
async fn of_two_racing_writers_with_the_same_expected_version_exactly_one_wins() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await.to_string();
        let token = app.all_areas();
        let m = "mutation($id: ID!, $c: Category) { categorizeTicket(id: $id, input: { humanVerifiedCategory: $c, expectedVersion: 1 }) { ticket { version } } }";
        let (a, b) = tokio::join!(
            app.graphql(Some(&token), m, json!({ "id": ticket, "c": "CHARGER" })),
            app.graphql(Some(&token), m, json!({ "id": ticket, "c": "VEHICLE" })),
        );
        let wins = [&a, &b].iter().filter(|r| r.body["errors"].is_null()).count();
        assert_eq!(wins, 1, "{}: {} / {}", app.backend, a.text, b.text);
        let loser = if a.body["errors"].is_null() { &b } else { &a };
        assert_eq!(error_code(&loser.body), Some("CONFLICT"));
        let history = app.graphql(Some(&token), "query($id: ID!) { ticket(id: $id) { version categorizationHistory { version } } }", json!({ "id": ticket })).await;
        assert_eq!(history.body["data"]["ticket"]["version"], json!(2));
        assert_eq!(history.body["data"]["ticket"]["categorizationHistory"].as_array().map(|a| a.len()), Some(1));
    })
    .await;
}

#[tokio::test]
async fn cursors_stay_valid_when_newer_tickets_arrive() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        for _ in 0..4 {
            app.ticket(Some(&user)).await;
        }
        let token = app.all_areas();
        let q = "query($after: String) { tickets(first: 2, after: $after) { pageInfo { endCursor } edges { node { id } } } }";
        let first = app.graphql(Some(&token), q, json!({})).await;
        let cursor = first.body["data"]["tickets"]["pageInfo"]["endCursor"].clone();
        let before = app.graphql(Some(&token), q, json!({ "after": cursor })).await;
        app.ticket(Some(&user)).await; // newer than everything: lands before the cursor
        let after = app.graphql(Some(&token), q, json!({ "after": cursor })).await;
        assert_eq!(node_ids(&before.body["data"]["tickets"]), node_ids(&after.body["data"]["tickets"]));
        assert_eq!(node_ids(&after.body["data"]["tickets"]).len(), 2);
    })
    .await;
}

#[tokio::test]
async fn every_ticket_filter_field_and_the_message_filter_select_what_they_say() {
    use chrono::TimeZone;
    use entity::{Category, Subcategory};
    use sea_orm::Set;
    each_backend(|app| async move {
        let (u1, u2) = (app.user(None).await, app.user(None).await);
        let at = |d: u32| chrono::Utc.with_ymd_and_hms(2025, 3, d, 12, 0, 0).unwrap();
        let a = app
            .ticket_with(Some(&u1), |t| {
                t.external_ticket_id = Set("FD-1".into());
                t.priority = Set(Some("High".into()));
                t.source = Set(Some("Phone".into()));
                t.human_verified_category = Set(Some(Category::Charger));
                t.human_verified_subcategory = Set(Some(Subcategory::HardwareIssue));
                t.ai_generated_category = Set(Some(Category::Vehicle));
                t.ai_generated_subcategory = Set(Some(Subcategory::TelematicsIssue));
                t.created_at = Set(at(1));
                t.resolved_at = Set(Some(at(2)));
                t.ticket_updated_at = Set(Some(at(2)));
            })
            .await
            .to_string();
        let b = app
            .ticket_with(Some(&u2), |t| {
                t.priority = Set(None);
                t.source = Set(Some("Email".into()));
                t.ai_generated_category = Set(Some(Category::Charger));
                t.created_at = Set(at(10));
            })
            .await
            .to_string();
        let token = app.all_areas();
        let run = |filter: serde_json::Value| {
            let app = &app;
            let token = token.clone();
            async move {
                let q = "query($f: TicketFilter) { tickets(filter: $f, order: CREATED_AT_ASC) { totalCount edges { node { id } } } }";
                let r = app.graphql(Some(&token), q, json!({ "f": filter.clone() })).await;
                assert!(r.body["errors"].is_null(), "{filter}: {}", r.text);
                assert_eq!(r.body["data"]["tickets"]["totalCount"].as_u64().map(|n| n as usize), Some(node_ids(&r.body["data"]["tickets"]).len()));
                node_ids(&r.body["data"]["tickets"])
            }
        };
        let (only_a, only_b, both) = (vec![a.clone()], vec![b.clone()], vec![a.clone(), b.clone()]);
        let cases = vec![
            (json!({ "externalTicketId": { "eq": "FD-1" } }), only_a.clone()),
            (json!({ "priority": { "eq": "High" } }), only_a.clone()),
            (json!({ "priority": { "isNull": true } }), only_b.clone()),
            (json!({ "source": { "in": ["Email", "Chat"] } }), only_b.clone()),
            (json!({ "humanVerifiedCategory": { "eq": "CHARGER" } }), only_a.clone()),
            (json!({ "humanVerifiedCategory": { "isNull": true } }), only_b.clone()),
            (json!({ "humanVerifiedSubcategory": { "in": ["HARDWARE_ISSUE"] } }), only_a.clone()),
            (json!({ "aiGeneratedCategory": { "in": ["CHARGER", "VEHICLE"] } }), both.clone()),
            (json!({ "aiGeneratedSubcategory": { "isNull": false } }), only_a.clone()),
            (json!({ "createdAt": { "gte": "2025-03-05T00:00:00Z" } }), only_b.clone()),
            (json!({ "createdAt": { "gte": "2025-03-01T12:00:00Z", "lte": "2025-03-01T12:00:00Z" } }), only_a.clone()),
            (json!({ "resolvedAt": { "isNull": true } }), only_b.clone()),
            (json!({ "resolvedAt": { "lte": "2025-03-03T00:00:00Z" } }), only_a.clone()),
            (json!({ "ticketUpdatedAt": { "isNull": false } }), only_a.clone()),
            (json!({ "user": { "eq": u2.to_string() } }), only_b.clone()),
            (json!({ "user": { "in": [u1.to_string(), u2.to_string()] } }), both.clone()),
            (json!({ "user": { "eq": format!("https://api.example/v2/users/{u1}") } }), only_a.clone()),
            (json!({ "and": [{ "source": { "eq": "Phone" } }, { "priority": { "eq": "High" } }] }), only_a.clone()),
            (json!({ "or": [] }), vec![]),
        ];
        for (filter, expected) in cases {
            assert_eq!(run(filter.clone()).await, expected, "{}: {filter}", app.backend);
        }
        let bad = app.graphql(Some(&token), r#"{ tickets(filter: { user: { eq: "nobody" } }) { totalCount } }"#, json!({})).await;
        assert_eq!(error_code(&bad.body), Some("BAD_USER_INPUT"));
        assert_eq!(bad.body["errors"][0]["extensions"]["fieldErrors"][0]["field"], json!("filter.user"));

        let ticket = ticket_gateway::ids::TicketId::parse(&a).unwrap();
        for (p, kind) in [(0, MessageType::InitialRequest), (1, MessageType::AiAgentResponse), (2, MessageType::CustomerResponse), (3, MessageType::HumanAgentResponse)] {
            app.message(&ticket, p, kind, app.tick()).await;
        }
        let q = "query($id: ID!, $f: MessageFilter) { ticket(id: $id) { messages(filter: $f) { position } } }";
        for (filter, positions) in [
            (json!(null), json!([{ "position": 0 }, { "position": 1 }, { "position": 2 }, { "position": 3 }])),
            (json!({ "messageType": { "eq": "AI_AGENT_RESPONSE" } }), json!([{ "position": 1 }])),
            (json!({ "messageType": { "in": ["AI_AGENT_RESPONSE", "HUMAN_AGENT_RESPONSE"] } }), json!([{ "position": 1 }, { "position": 3 }])),
            (json!({ "position": { "gte": 1, "lte": 2 } }), json!([{ "position": 1 }, { "position": 2 }])),
            (json!({ "position": { "eq": 3 } }), json!([{ "position": 3 }])),
        ] {
            let r = app.graphql(Some(&token), q, json!({ "id": a, "f": filter.clone() })).await;
            assert_eq!(r.body["data"]["ticket"]["messages"], positions, "{}: {filter}: {}", app.backend, r.text);
        }
        let inverted = app.graphql(Some(&token), q, json!({ "id": a, "f": { "position": { "gte": 3, "lte": 1 } } })).await;
        assert_eq!(error_code(&inverted.body), Some("BAD_USER_INPUT"), "{}", inverted.text);
    })
    .await;
}

#[tokio::test]
async fn has_previous_page_reflects_the_rows_before_the_cursor() {
    each_backend(|app| async move {
        let token = app.all_areas();
        let oldest = app
            .ticket_with(None, |m| m.status = sea_orm::Set(Some("Closed".into())))
            .await;
        let _middle = app
            .ticket_with(None, |m| m.status = sea_orm::Set(Some("Closed".into())))
            .await;
        let newest = app
            .ticket_with(None, |m| m.status = sea_orm::Set(Some("Open".into())))
            .await;
        let q = "query($f: TicketFilter, $after: String, $before: String, $last: Int) {
            tickets(filter: $f, after: $after, before: $before, last: $last) {
                edges { cursor node { id } } pageInfo { hasPreviousPage hasNextPage } } }";
        let all = app.graphql(Some(&token), q, json!({})).await;
        let cursors: Vec<String> = all.body["data"]["tickets"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["cursor"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            node_ids(&all.body["data"]["tickets"]).first(),
            Some(&newest.to_string())
        );
        // After the newest ticket, among all tickets: it precedes, so there is a previous page.
        let after_newest = app
            .graphql(Some(&token), q, json!({ "after": cursors[0] }))
            .await;
        assert_eq!(
            after_newest.body["data"]["tickets"]["pageInfo"]["hasPreviousPage"],
            json!(true)
        );
        // Among closed tickets nothing precedes the newest (open) ticket's cursor.
        let closed = json!({ "status": { "eq": "Closed" } });
        let after_in_closed = app
            .graphql(Some(&token), q, json!({ "f": closed, "after": cursors[0] }))
            .await;
        assert_eq!(
            node_ids(&after_in_closed.body["data"]["tickets"]).len(),
            2,
            "{}",
            after_in_closed.text
        );
        assert_eq!(
            after_in_closed.body["data"]["tickets"]["pageInfo"]["hasPreviousPage"],
            json!(false)
        );
        // Backward from the oldest ticket: nothing follows it among open tickets.
        let open = json!({ "status": { "eq": "Open" } });
        let before_in_open = app
            .graphql(
                Some(&token),
                q,
                json!({ "f": open, "before": cursors[2], "last": 10 }),
            )
            .await;
        assert_eq!(
            node_ids(&before_in_open.body["data"]["tickets"]),
            [newest.to_string()]
        );
        assert_eq!(
            before_in_open.body["data"]["tickets"]["pageInfo"]["hasNextPage"],
            json!(false)
        );
        let before_all = app
            .graphql(Some(&token), q, json!({ "before": cursors[2], "last": 10 }))
            .await;
        assert_eq!(
            before_all.body["data"]["tickets"]["pageInfo"]["hasNextPage"],
            json!(true)
        );
        let _ = oldest;
    })
    .await;
}

/// A database outage answers 503 with SERVICE_UNAVAILABLE and no internals, and the next
/// request after the database is back succeeds without a restart. Needs PostgreSQL, whose
/// connections can be refused and cut from outside.
#[tokio::test]
async fn a_database_outage_answers_503_and_recovers_by_itself() {
    use sea_orm::ConnectionTrait;
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let (db, name) = crate::helpers::fresh_postgres(&admin_url).await;
    let app = TestApp::new(db, "postgres", Default::default());
    app.ticket(None).await;
    let token = app.all_areas();
    let q = "{ tickets { totalCount } }";
    let admin = sea_orm::Database::connect(&admin_url)
        .await
        .expect("admin connection");
    let sql = |s: String| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, s);
    admin
        .execute_raw(sql(format!(
            r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#
        )))
        .await
        .expect("refuse");
    admin
        .execute_raw(sql(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )))
        .await
        .expect("terminate");
    let down = app.graphql(Some(&token), q, json!({})).await;
    assert_eq!(down.status, 503, "{}", down.text);
    assert_eq!(
        error_code(&down.body),
        Some("SERVICE_UNAVAILABLE"),
        "{}",
        down.text
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    assert!(
        !down.text.contains(&name) && !down.text.to_lowercase().contains("terminat"),
        "{}",
        down.text
    );
    admin
        .execute_raw(sql(format!(
            r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#
        )))
        .await
        .expect("allow");
    let mut up = app.graphql(Some(&token), q, json!({})).await;
    // A pooled connection may be found broken once more before a fresh one is opened.
    if up.status == 503 {
        up = app.graphql(Some(&token), q, json!({})).await;
    }
    assert_eq!(up.status, 200, "{}", up.text);
    assert_eq!(up.body["data"]["tickets"]["totalCount"], json!(1));
}

/// The introspection query a playground sends on load: the full schema, with type references
/// unwrapped nine `ofType`s deep.
const INTROSPECTION: &str = r#"query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name
      ofType { kind name } } } } } } } } }
}"#;

#[tokio::test]
async fn the_playground_loads_the_schema_and_its_own_assets() {
    each_backend(|app| async move {
        let schema = app.graphql(None, INTROSPECTION, json!({})).await;
        assert_eq!(schema.status, 200, "{}", schema.text);
        assert!(schema.body["errors"].is_null(), "{}", schema.text);
        assert!(schema.body["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 20));
        // A query as deep through ordinary fields is still refused.
        let deep = "{ tickets { nodes { user { organization { users { nodes { tickets { nodes { user { organization { users { nodes { id } } } } } } } } } } } } }";
        let refused = app.graphql(Some(&app.all_areas()), deep, json!({})).await;
        assert_eq!(error_code(&refused.body), Some("GRAPHQL_VALIDATION_FAILED"), "{}", refused.text);

        let page = app
            .send(axum::http::Request::get("/graphql").header("accept", "text/html").body(axum::body::Body::empty()).unwrap())
            .await;
        for asset in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"] {
            assert!(page.text.contains(&format!("graphiql/3.8.3/{asset}")), "{asset} linked");
            let get = |encoding: &'static str| {
                axum::http::Request::get(format!("/graphiql/3.8.3/{asset}"))
                    .header("accept-encoding", encoding)
                    .body(axum::body::Body::empty())
                    .unwrap()
            };
            let served = app.send(get("gzip, deflate, br")).await;
            assert_eq!(served.status, 200, "{asset}");
            assert_eq!(served.header("content-encoding"), Some("gzip"), "{asset}");
            assert!(served.text.len() > 1000, "{asset}");
            assert_eq!(app.send(get("identity")).await.status, 406, "{asset}");
            assert_eq!(app.send(get("gzip;q=0.0")).await.status, 406, "{asset}");
            let no_header = axum::http::Request::get(format!("/graphiql/3.8.3/{asset}")).body(axum::body::Body::empty()).unwrap();
            assert_eq!(app.send(no_header).await.status, 200, "{asset}: no Accept-Encoding accepts anything");
        }
        let missing = app
            .send(axum::http::Request::get("/graphiql/3.8.3/nope.js").body(axum::body::Body::empty()).unwrap())
            .await;
        assert_eq!(missing.status, 404);
    })
    .await;
}

#[tokio::test]
async fn responses_list_fields_in_the_order_they_were_requested() {
    each_backend(|app| async move {
        app.ticket(None).await;
        let q = "query Order { viewer { canWrite access } ...counts
                 stats { total statusBreakdown { percentage count value } resolution { totalResolved resolutionRate } } }
                 fragment counts on Query { z: tickets { totalCount nodes { subject id } } a: categories { subcategories { value } } }";
        let got = app
            .send(
                axum::http::Request::post("/graphql")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {}", app.all_areas()))
                    .body(axum::body::Body::from(json!({ "query": q, "operationName": "Order" }).to_string()))
                    .unwrap(),
            )
            .await;
        assert!(got.body["errors"].is_null(), "{}", got.text);
        let order = [
            "\"viewer\"", "\"canWrite\"", "\"access\"", "\"z\"", "\"totalCount\"", "\"subject\"", "\"id\"",
            "\"a\"", "\"stats\"", "\"total\"", "\"statusBreakdown\"", "\"percentage\"", "\"count\"", "\"value\"",
            "\"resolution\"", "\"totalResolved\"", "\"resolutionRate\"",
        ];
        let mut from = 0;
        for key in order {
            let at = got.text[from..].find(key).unwrap_or_else(|| panic!("{key} after byte {from} in {}", got.text));
            from += at + key.len();
        }
    })
    .await;
}

/// Asserts that every object in `value` lists its keys in the order `items` selects them
/// (fragments expanded where they are spread, aliases as response keys).
fn assert_in_selection_order(
    value: &async_graphql::Value,
    sets: &[&async_graphql::parser::types::SelectionSet],
    doc: &async_graphql::parser::types::ExecutableDocument,
    path: &str,
) {
    use async_graphql::parser::types::Selection;
    fn collect<'a>(
        sets: &[&'a async_graphql::parser::types::SelectionSet],
        doc: &'a async_graphql::parser::types::ExecutableDocument,
        out: &mut Vec<(String, Vec<&'a async_graphql::parser::types::SelectionSet>)>,
    ) {
        for set in sets {
            for item in &set.items {
                match &item.node {
                    Selection::Field(f) => {
                        let key = f.node.response_key().node.to_string();
                        let child = &f.node.selection_set.node;
                        match out.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, children)) => children.push(child),
                            None => out.push((key, vec![child])),
                        }
                    }
                    Selection::InlineFragment(f) => {
                        collect(&[&f.node.selection_set.node], doc, out)
                    }
                    Selection::FragmentSpread(s) => {
                        let fragment = &doc.fragments[&s.node.fragment_name.node];
                        collect(&[&fragment.node.selection_set.node], doc, out)
                    }
                }
            }
        }
    }
    match value {
        async_graphql::Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_in_selection_order(item, sets, doc, &format!("{path}[{i}]"));
            }
        }
        async_graphql::Value::Object(fields) => {
            let mut selected = Vec::new();
            collect(sets, doc, &mut selected);
            let got: Vec<&str> = fields.keys().map(|k| k.as_str()).collect();
            let want: Vec<&str> = selected
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| fields.contains_key(*k))
                .collect();
            assert_eq!(got, want, "keys of {path}");
            for (key, children) in &selected {
                if let Some(child) = fields.get(key.as_str()) {
                    if children.iter().any(|c| !c.items.is_empty()) {
                        assert_in_selection_order(child, children, doc, &format!("{path}.{key}"));
                    }
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_object_kind_lists_its_fields_in_the_requested_order() {
    each_backend(|app| async move {
        let org = app.org().await;
        let user = app.user(Some(&org)).await;
        let ticket = app
            .ticket_with(Some(&user), |t| {
                t.ai_generated_category = Set(Some(entity::Category::Charger));
                t.human_verified_category = Set(Some(entity::Category::MobileApp));
            })
            .await;
        app.message(&ticket, 0, MessageType::InitialRequest, app.tick()).await;
        app.message(&ticket, 1, MessageType::HumanAgentResponse, app.tick()).await;
        let token = app.all_areas();
        // Each selection lists fields in an order unlike the schema's, with aliases and fragments.
        let queries = [
            format!(
                r#"mutation {{ categorizeTicket(id: "{ticket}", input: {{ humanVerifiedCategory: CHARGER }}) {{
                    ticket {{ version v2: version id categorizationHistory {{ version after {{ aiGeneratedSubcategory humanVerifiedCategory }}
                    changedBy before {{ humanVerifiedSubcategory aiGeneratedCategory }} changedAt }} }} }} }}"#
            ),
            format!(
                r#"query Everything {{
                  viewer {{ canWrite oauthScopes access canRead actingUserId accessId }}
                  categories {{ subcategories {{ label value }} categories {{ label value }} }}
                  z: tickets(first: 2) {{
                    totalCount
                    pageInfo {{ startCursor hasPreviousPage endCursor hasNextPage }}
                    edges {{ node {{ ...T }} cursor }}
                    nodes {{ version subject id user {{ organization {{ name id }} joinedAt id fullName email }} }}
                  }}
                  ticket(id: "{ticket}") {{
                    ...T
                    messages {{ createdAt message position id messageType ticketId messageClean }}
                    one: message(id: "none") {{ id }}
                    categorizationHistory {{ version changedAt changedBy }}
                    typeDeprecated source priority externalTicketId conversationSummary
                    aiGeneratedSubcategory aiGeneratedCategory humanVerifiedSubcategory humanVerifiedCategory
                  }}
                  a: node(id: "{ticket}") {{ ... on Ticket {{ subject }} id }}
                  stats {{
                    volume(groupBy: MONTH) {{ tickets(first: 1) {{ totalCount }} count date }}
                    total
                    sankey {{ links {{ tickets(first: 1) {{ totalCount }} subcategory category value target source }} nodes {{ label id }} }}
                    resolution {{ p90Hours medianHours averageHours totalUnresolved totalResolved resolutionRate }}
                    firstResponse {{ p90Hours medianHours averageHours awaitingResponse responded }}
                    statusBreakdown {{ tickets(first: 1) {{ totalCount }} percentage count value }}
                    priorityBreakdown {{ value count }}
                    sourceBreakdown {{ count value }}
                    topCategories {{ subcategories {{ tickets(first: 1) {{ totalCount }} percentage count category label subcategory }}
                                    categories {{ tickets(first: 1) {{ totalCount }} percentage count label category }} }}
                    categorizationAgreement {{ awaitingVerification disagreements {{ tickets(first: 1) {{ totalCount }} count humanCategory aiCategory }}
                                              subcategoryAgreementRate categoryAgreementRate compared }}
                  }}
                }}
                fragment T on Ticket {{ updated: ticketUpdatedAt resolvedAt id tags attributes customFields createdAt status }}"#
            ),
        ];
        for q in queries {
            let r = app.graphql(Some(&token), &q, json!({})).await;
            assert!(r.body["errors"].is_null(), "{}", r.text);
            let doc = async_graphql::parser::parse_query(&q).expect("query parses");
            let (_, op) = doc.operations.iter().next().expect("one operation");
            // Parsed into async-graphql's own value type, whose objects keep their key order.
            let body: async_graphql::Value = serde_json::from_str(&r.text).expect("JSON body");
            let async_graphql::Value::Object(body) = body else { panic!("an object") };
            assert_in_selection_order(&body["data"], &[&op.node.selection_set.node], &doc, "data");
        }
    })
    .await;
}

#[tokio::test]
async fn fragments_that_double_at_every_level_are_refused_before_validation() {
    each_backend(|app| async move {
        // 40 levels of two spreads each expand to 2^40 selections from a query of 2 KB.
        let mut query = String::from("query { ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i + 1, i + 1));
        }
        query.push_str(" fragment F40 on Query { categories { categories { value } } }");
        let refused = app.graphql(None, &query, json!({})).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(error_code(&refused.body), Some("GRAPHQL_VALIDATION_FAILED"), "{}", refused.text);
        let cycle = app.graphql(None, "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", json!({})).await;
        assert_eq!(error_code(&cycle.body), Some("GRAPHQL_VALIDATION_FAILED"), "{}", cycle.text);
        // A fragment used many times over is fine while it stays small.
        let reused = "{ a: categories { ...C } b: categories { ...C } } fragment C on Categories { categories { value label } }";
        let ok = app.graphql(None, reused, json!({})).await;
        assert!(ok.body["errors"].is_null(), "{}", ok.text);
    })
    .await;
}
