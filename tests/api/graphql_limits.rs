//! GraphQL's budget and persisted documents: what operations cost, `extensions.cost` and
//! `rateLimit`, the 429 that runs nothing, budgets refilling on a clock the tests move, and
//! Apollo's automatic persisted queries (in this process and in Redis) and trusted documents.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use ticket_gateway::config::{AppConfig, GraphqlSettings};
use ticket_gateway::graphql::sha256_hex;
use ticket_gateway::limit::ManualClock;

use crate::helpers::{
    each_backend, error_code, metric, sqlite_app, TestApp, TestResponse, BASE_URL, READ, READ_WRITE,
};
use crate::rate_limits::{fresh_client, test_redis};

/// The app with `settings` and a budget of `points` an hour, on a clock moved by hand.
fn budgeted(app: &TestApp, points: u32, settings: GraphqlSettings) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let settings = GraphqlSettings {
        graphql_points_per_hour: points,
        ..settings
    };
    let config = AppConfig::new(BASE_URL, settings).expect("config");
    (app.clocked(config, clock.clone()), clock)
}

/// `(requested, remaining)` of `extensions.cost`.
fn spent(r: &TestResponse) -> (u64, u64) {
    let cost = &r.body["extensions"]["cost"];
    match (cost["requested"].as_u64(), cost["remaining"].as_u64()) {
        (Some(requested), Some(remaining)) => (requested, remaining),
        _ => panic!("no extensions.cost in {}", r.text),
    }
}

/// A POST of `body` (a JSON request object or a batch) with `token`.
async fn post(app: &TestApp, token: &str, body: Value) -> TestResponse {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .expect("request");
    app.send(request).await
}

/// A GET with these query-string parameters.
async fn get(app: &TestApp, token: &str, params: &[(&str, &str)]) -> TestResponse {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let request = Request::get(format!("/graphql?{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    app.send(request).await
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn each_operation_costs_its_weight_in_hundreds_rounded_up() {
    each_backend(|app| async move {
        let (app, _) = budgeted(&app, 1000, GraphqlSettings::default());
        let user = app.user(None).await;
        let token = app.user_token(&user, READ);
        // The README's examples, and what the formula makes of them.
        let cases = [
            ("{ viewer { access } }", json!({}), 1),
            ("{ rateLimit { remaining } }", json!({}), 0),
            ("{ __schema { types { name } } }", json!({}), 0),
            // 1 + 20 * (node 1 + messages 1)
            (
                "{ tickets(first: 20) { nodes { id subject messages { id message } } } }",
                json!({}),
                1,
            ),
            // 1 + 100 * (node 1 + messages 1 + user 1 + organization 1) = 401
            (
                "{ tickets(first: 100) { nodes { id messages { id } user { fullName organization { name } } } } }",
                json!({}),
                5,
            ),
            // stats 1 + two statistics at 100
            (
                "{ stats { total statusBreakdown { value count } } }",
                json!({}),
                3,
            ),
            // The README's second example: 401 + 201 = 602
            (
                "{ tickets(first: 100) { nodes { id messages { id } user { fullName organization { name } } } } stats { total statusBreakdown { value count } } }",
                json!({}),
                7,
            ),
            // A page size from a variable: 1 + 50 * 2
            (
                "query($n: Int) { tickets(first: $n) { nodes { user { id } } } }",
                json!({ "n": 50 }),
                2,
            ),
        ];
        let mut remaining = 1000;
        for (query, variables, points) in cases {
            let r = app.graphql(Some(&token), query, variables).await;
            assert_eq!(r.status, 200, "{query}: {}", r.text);
            assert!(r.body["errors"].is_null(), "{query}: {}", r.text);
            remaining -= points;
            assert_eq!(spent(&r), (points, remaining), "{query}");
            assert_eq!(r.body["extensions"]["cost"]["limit"], 1000);
        }
    })
    .await;
}

#[tokio::test]
async fn extensions_cost_is_on_answers_with_errors_too() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 100, GraphqlSettings::default());
    let token = app.all_areas();
    // An execution error (a page size out of range) and a validation error.
    let r = app
        .graphql(
            Some(&token),
            "{ tickets(first: 0) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"), "{}", r.text);
    assert_eq!(spent(&r), (1, 99));
    let r = app
        .graphql(Some(&token), "{ viewer { nope } }", json!({}))
        .await;
    assert_eq!(
        error_code(&r.body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{}",
        r.text
    );
    assert_eq!(spent(&r), (1, 98));
}

#[tokio::test]
async fn past_the_budget_an_operation_is_refused_429_and_runs_nothing() {
    each_backend(|app| async move {
        let (app, clock) = budgeted(&app, 3, GraphqlSettings::default());
        app.ticket(None).await;
        let token = app.all_areas();
        let q = "{ tickets { totalCount } }";
        for left in [2, 1, 0] {
            let r = app.graphql(Some(&token), q, json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(spent(&r), (1, left));
        }
        app.reset_statements();
        let r = app.graphql(Some(&token), q, json!({})).await;
        assert_eq!(r.status, 429, "{}", r.text);
        assert_eq!(app.statements(), 0, "a refused operation runs no SQL");
        // Three points an hour: one comes back every 20 minutes.
        assert_eq!(r.header("retry-after"), Some("1200"));
        assert!(r.body.get("data").is_none(), "{}", r.text);
        let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{}", r.text);
        assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(errors[0]["extensions"]["retryAfter"], 1200);
        assert_eq!(spent(&r), (1, 0));
        // Looking at the budget is free, even when it is spent.
        let r = app
            .graphql(
                Some(&token),
                "{ rateLimit { cost limit remaining } }",
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["data"]["rateLimit"],
            json!({ "cost": 0, "limit": 3, "remaining": 0 })
        );
        clock.advance(Duration::from_secs(1199));
        let r = app.graphql(Some(&token), q, json!({})).await;
        assert_eq!(r.header("retry-after"), Some("1"));
        clock.advance(Duration::from_secs(1));
        let r = app.graphql(Some(&token), q, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(spent(&r), (1, 0));
    })
    .await;
}

#[tokio::test]
async fn an_operation_dearer_than_what_is_left_spends_nothing() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 5, GraphqlSettings::default());
    let token = app.all_areas();
    // Weighs 1 + 100 * 2 = 201: three points.
    let dear = "{ tickets(first: 100) { nodes { messages { id } } } }";
    let r = app.graphql(Some(&token), dear, json!({})).await;
    assert_eq!(spent(&r), (3, 2));
    let r = app.graphql(Some(&token), dear, json!({})).await;
    assert_eq!(r.status, 429, "{}", r.text);
    // One point short, and one comes back every 12 minutes; the two left are untouched.
    assert_eq!(r.header("retry-after"), Some("720"));
    assert_eq!(spent(&r), (3, 2));
    assert!(
        r.text.contains("costs 3 points and 2 are left"),
        "{}",
        r.text
    );
    let r = app
        .graphql(Some(&token), "{ viewer { access } }", json!({}))
        .await;
    assert_eq!(spent(&r), (1, 1));
}

#[tokio::test]
async fn rate_limit_reports_this_operation_and_when_the_budget_is_whole() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 100, GraphqlSettings::default());
    let token = app.all_areas();
    let q = "{ viewer { access } rateLimit { cost limit remaining resetAt } }";
    let before = chrono::Utc::now();
    let r = app.graphql(Some(&token), q, json!({})).await;
    let limit = &r.body["data"]["rateLimit"];
    assert_eq!(
        (&limit["cost"], &limit["limit"], &limit["remaining"]),
        (&json!(1), &json!(100), &json!(99)),
        "{}",
        r.text
    );
    // One point comes back in 36 s; the whole budget is back then.
    let reset: chrono::DateTime<chrono::Utc> = limit["resetAt"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("an ISO 8601 resetAt in {}", r.text));
    let ahead = (reset - before).num_seconds();
    assert!((35..=38).contains(&ahead), "{ahead} s: {}", r.text);
    assert_eq!(r.body["extensions"]["cost"]["resetAt"], limit["resetAt"]);
}

#[tokio::test]
async fn clients_have_budgets_of_their_own() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 1, GraphqlSettings::default());
    let (a, b) = (app.user(None).await, app.user(None).await);
    let (a, b) = (app.user_token(&a, READ), app.user_token(&b, READ));
    let q = "{ viewer { access } }";
    assert_eq!(app.graphql(Some(&a), q, json!({})).await.status, 200);
    assert_eq!(app.graphql(Some(&a), q, json!({})).await.status, 429);
    assert_eq!(app.graphql(Some(&b), q, json!({})).await.status, 200);
}

#[tokio::test]
async fn an_operation_heavier_than_one_may_weigh_is_refused_400_and_spends_nothing() {
    let app = sqlite_app().await;
    let settings = GraphqlSettings {
        graphql_max_complexity: 300,
        ..GraphqlSettings::default()
    };
    let (app, _) = budgeted(&app, 100, settings);
    let token = app.all_areas();
    let heavy = "{ tickets(first: 100) { nodes { messages { id } user { id } } } }";
    let r = app.graphql(Some(&token), heavy, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(r.text.contains("weighs 301"), "{}", r.text);
    // Nothing was spent.
    let r = app
        .graphql(Some(&token), "{ rateLimit { remaining } }", json!({}))
        .await;
    assert_eq!(r.body["data"]["rateLimit"]["remaining"], 100);
    // A budget smaller than one operation may weigh lowers the ceiling: an operation that
    // could never be paid for is refused as too heavy, not told to wait forever.
    let (small, _) = budgeted(&app, 2, GraphqlSettings::default());
    let r = small
        .graphql(
            Some(&token),
            "{ tickets(first: 100) { nodes { user { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("GRAPHQL_VALIDATION_FAILED"));
}

#[tokio::test]
async fn a_batch_spends_the_sum_of_its_operations() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 10, GraphqlSettings::default());
    let token = app.all_areas();
    let batch = json!([
        { "query": "{ viewer { access } }" },
        { "query": "{ tickets(first: 100) { nodes { user { id } } } }" },
    ]);
    let r = post(&app, &token, batch.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let costs: Vec<&Value> = (0..2).map(|i| &r.body[i]["extensions"]["cost"]).collect();
    assert_eq!(
        (&costs[0]["requested"], &costs[1]["requested"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(costs[0]["remaining"], 6);
    assert_eq!(costs[1]["remaining"], 6);
    let r = post(&app, &token, batch.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post(&app, &token, batch).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let codes: Vec<&Value> = (0..2)
        .map(|i| &r.body[i]["errors"][0]["extensions"]["code"])
        .collect();
    assert_eq!(codes, [&json!("RATE_LIMITED"), &json!("RATE_LIMITED")]);
}

#[tokio::test]
async fn with_no_budget_there_is_no_cost_and_no_rate_limit() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 0, GraphqlSettings::default());
    let r = app
        .graphql(
            Some(&app.all_areas()),
            "{ viewer { access } rateLimit { remaining } }",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["extensions"].is_null(), "{}", r.text);
    assert_eq!(r.body["data"]["rateLimit"], Value::Null);
}

#[tokio::test]
async fn decisions_are_counted_in_the_metrics() {
    let app = sqlite_app().await;
    let (app, _) = budgeted(&app, 1, GraphqlSettings::default());
    let token = app.all_areas();
    for _ in 0..3 {
        app.graphql(Some(&token), "{ viewer { access } }", json!({}))
            .await;
    }
    let text = app.state.metrics.render(&app.state.db, true);
    let count = |decision| {
        metric(
            &text,
            "ticket_gateway_rate_limit_decisions_total",
            &[("door", "graphql"), ("decision", decision)],
        )
    };
    assert_eq!((count("allowed"), count("limited")), (1.0, 2.0));
}

// Persisted queries.

#[tokio::test]
async fn a_persisted_query_is_registered_then_run_by_its_hash_over_post_and_get() {
    each_backend(|app| async move {
        app.ticket(None).await;
        let token = app.all_areas();
        let query = "query Count($first: Int) { tickets(first: $first) { totalCount } }";
        let hash = sha256_hex(query);
        let variables = json!({ "first": 5 });
        let by_hash = json!({ "extensions": persisted(&hash), "variables": variables });
        // Not known yet: the client is asked for the document, as Apollo's clients expect.
        let r = post(&app, &token, by_hash.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_NOT_FOUND"));
        assert_eq!(r.body["errors"][0]["message"], "PersistedQueryNotFound");
        let expected = json!({ "tickets": { "totalCount": 1 } });
        let r = post(
            &app,
            &token,
            json!({ "query": query, "extensions": persisted(&hash), "variables": variables }),
        )
        .await;
        assert_eq!(r.body["data"], expected, "{}", r.text);
        let r = post(&app, &token, by_hash).await;
        assert_eq!(r.body["data"], expected, "{}", r.text);
        let extensions = persisted(&hash).to_string();
        let variables = variables.to_string();
        let r = get(
            &app,
            &token,
            &[("extensions", &extensions), ("variables", &variables)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["data"], expected, "{}", r.text);
        let text = app.state.metrics.render(&app.state.db, true);
        let count = |result| {
            metric(
                &text,
                "ticket_gateway_persisted_queries_total",
                &[("result", result)],
            )
        };
        assert_eq!(
            (count("miss"), count("registered"), count("hit")),
            (1.0, 1.0, 2.0)
        );
    })
    .await;
}

#[tokio::test]
async fn a_hash_that_is_not_its_documents_is_refused_and_registers_nothing() {
    let app = sqlite_app().await;
    let token = app.all_areas();
    let hash = sha256_hex("{ viewer { access } }");
    let r = post(
        &app,
        &token,
        json!({ "query": "{ viewer { canRead } }", "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_HASH_MISMATCH"));
    let r = post(&app, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_NOT_FOUND"));
    // The same over GET.
    let extensions = persisted(&hash).to_string();
    let r = get(
        &app,
        &token,
        &[
            ("query", "{ viewer { canRead } }"),
            ("extensions", &extensions),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_HASH_MISMATCH"));
    let r = get(&app, &token, &[("extensions", &extensions)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_NOT_FOUND"));
    // A malformed persistedQuery is the client's mistake.
    let r = post(
        &app,
        &token,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"));
    let r = post(
        &app,
        &token,
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "abc" } } }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn a_document_reached_by_its_hash_passes_every_check_of_one_sent_in_full() {
    each_backend(|app| async move {
        let settings = GraphqlSettings {
            graphql_max_depth: 3,
            ..GraphqlSettings::default()
        };
        let app = app.configured(AppConfig::new(BASE_URL, settings).expect("config"));
        let token = app.all_areas();
        // Too deep: refused in full, and so never kept.
        let deep = "{ tickets { nodes { user { organization { id } } } } }";
        let hash = sha256_hex(deep);
        let full = post(&app, &token, json!({ "query": deep, "extensions": persisted(&hash) })).await;
        assert_eq!(full.status, 400, "{}", full.text);
        let hashed = post(&app, &token, json!({ "extensions": persisted(&hash) })).await;
        assert_eq!(error_code(&hashed.body), Some("PERSISTED_QUERY_NOT_FOUND"));
        // A manifest may hold it: reached by its hash, it is refused as it is in full.
        let path = std::env::temp_dir().join(format!("manifest-{}.json", ulid::Ulid::new()));
        std::fs::write(&path, json!({ &hash: deep }).to_string()).expect("write the manifest");
        let settings = GraphqlSettings {
            graphql_max_depth: 3,
            persisted_queries_manifest: Some(path.clone()),
            ..GraphqlSettings::default()
        };
        let config = AppConfig::new(BASE_URL, settings);
        let _ = std::fs::remove_file(&path);
        let trusting = app.configured(config.expect("config"));
        let hashed = post(&trusting, &token, json!({ "extensions": persisted(&hash) })).await;
        assert_eq!(hashed.status, 400, "{}", hashed.text);
        assert_eq!(hashed.body_sans_request_id(), full.body_sans_request_id());
        // A mutation registered over POST is still refused over GET.
        let ticket = app.ticket(None).await;
        let mutation = format!(
            r#"mutation {{ categorizeTicket(id: "{ticket}", input: {{ aiGeneratedCategory: SOLAR }}) {{ ticket {{ id }} }} }}"#
        );
        let hash = sha256_hex(&mutation);
        let token = app.token(ticket_gateway::auth::Access::AllAreas, READ_WRITE);
        let r = post(&app, &token, json!({ "query": mutation, "extensions": persisted(&hash) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let extensions = persisted(&hash).to_string();
        let r = get(&app, &token, &[("extensions", &extensions)]).await;
        assert_eq!(r.status, 405, "{}", r.text);
        assert_eq!(r.header("allow"), Some("GET, POST"));
    })
    .await;
}

#[tokio::test]
async fn with_a_manifest_only_its_documents_run() {
    let app = sqlite_app().await;
    let known = "query Viewer { viewer { access } }";
    let other = "query Categories { categories { categories { value } } }";
    let manifest = json!({ sha256_hex(known): known, "categories-v1": other });
    let path = std::env::temp_dir().join(format!("manifest-{}.json", ulid::Ulid::new()));
    std::fs::write(&path, manifest.to_string()).expect("write the manifest");
    let settings = GraphqlSettings {
        persisted_queries_manifest: Some(path.clone()),
        ..GraphqlSettings::default()
    };
    let config = AppConfig::new(BASE_URL, settings);
    let _ = std::fs::remove_file(&path);
    let app = app.configured(config.expect("the manifest loads"));
    let token = app.all_areas();
    let viewer = json!({ "viewer": { "access": "ALL_AREAS" } });
    // By hash, by the manifest's own id, and in full when the text is the manifest's.
    let r = post(
        &app,
        &token,
        json!({ "extensions": persisted(&sha256_hex(known)) }),
    )
    .await;
    assert_eq!(r.body["data"], viewer, "{}", r.text);
    let r = post(
        &app,
        &token,
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(other) } } }),
    )
    .await;
    assert_eq!(
        error_code(&r.body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{}",
        r.text
    );
    let r = post(&app, &token, json!({ "query": known })).await;
    assert_eq!(r.body["data"], viewer, "{}", r.text);
    // Anything else is refused, registration included.
    let stranger = "{ viewer { canWrite } }";
    let r = post(&app, &token, json!({ "query": stranger })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_REQUIRED"));
    let r = post(
        &app,
        &token,
        json!({ "query": stranger, "extensions": persisted(&sha256_hex(stranger)) }),
    )
    .await;
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_REQUIRED"));
    let r = get(&app, &token, &[("query", stranger)]).await;
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_REQUIRED"));
}

#[tokio::test]
async fn a_manifest_that_cannot_be_read_stops_the_start() {
    let path = std::env::temp_dir().join(format!("manifest-{}.json", ulid::Ulid::new()));
    std::fs::write(&path, r#"{"a": "{ viewer {"}"#).expect("write the manifest");
    let settings = GraphqlSettings {
        persisted_queries_manifest: Some(path.clone()),
        ..GraphqlSettings::default()
    };
    let result = AppConfig::new(BASE_URL, settings);
    let _ = std::fs::remove_file(&path);
    let error = result.err().unwrap_or_default();
    assert!(error.contains("PERSISTED_QUERIES_MANIFEST"), "{error}");
    let settings = GraphqlSettings {
        persisted_queries_manifest: Some(path),
        ..GraphqlSettings::default()
    };
    assert!(AppConfig::new(BASE_URL, settings).is_err());
}

// Shared through Redis: two routers with states of their own are two instances.

/// Two instances on the Redis at `url` with a GraphQL budget of `points`.
async fn two_on_redis(url: &str, points: u32) -> (TestApp, TestApp) {
    let app = sqlite_app().await;
    let settings = GraphqlSettings {
        graphql_points_per_hour: points,
        ..GraphqlSettings::default()
    };
    let config = AppConfig::new(BASE_URL, settings)
        .expect("config")
        .with_edge(ticket_gateway::config::EdgeSettings {
            redis_url: Some(url.to_owned()),
            ..Default::default()
        })
        .expect("edge settings");
    (app.configured(config.clone()), app.configured(config))
}

#[tokio::test]
async fn instances_on_one_redis_share_persisted_queries_and_one_graphql_budget() {
    let Some(url) = test_redis().await else {
        return;
    };
    let (first, second) = two_on_redis(&url, 3).await;
    let token = fresh_client(&first).await;
    // A document no earlier run registered.
    let query = format!(
        "query Probe_{} {{ viewer {{ access }} }}",
        ulid::Ulid::new()
    );
    let hash = sha256_hex(&query);
    let r = post(&second, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_NOT_FOUND"));
    let r = post(
        &first,
        &token,
        json!({ "query": query, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(spent(&r), (1, 2), "{}", r.text);
    let r = post(&second, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(r.body["data"]["viewer"]["access"], "USER", "{}", r.text);
    assert_eq!(spent(&r), (1, 1));
    let r = post(&first, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(spent(&r), (1, 0));
    let r = post(&second, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(r.status, 429, "{}", r.text);
    forget(&url, &hash).await;
}

/// Drops a document this test registered from the shared Redis.
async fn forget(url: &str, hash: &str) {
    let key = format!("{}{hash}", ticket_gateway::graphql::PERSISTED_KEY_PREFIX);
    if let Ok(client) = redis::Client::open(url) {
        if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
            let _: Result<(), _> = redis::cmd("DEL")
                .arg(key)
                .query_async(&mut connection)
                .await;
        }
    }
}

#[tokio::test]
async fn an_unreachable_redis_still_runs_operations_sent_in_full() {
    let (app, _) = two_on_redis("redis://127.0.0.1:1", 3).await;
    let token = app.all_areas();
    let query = "{ viewer { access } }";
    let hash = sha256_hex(query);
    for _ in 0..5 {
        let r = post(
            &app,
            &token,
            json!({ "query": query, "extensions": persisted(&hash) }),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Nothing was counted: the whole budget is shown.
        assert_eq!(spent(&r), (1, 3));
    }
    let r = post(&app, &token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(error_code(&r.body), Some("PERSISTED_QUERY_NOT_FOUND"));
    let text = app.state.metrics.render(&app.state.db, true);
    let errors = metric(
        &text,
        "ticket_gateway_persisted_query_store_errors_total",
        &[],
    );
    assert!(errors >= 1.0, "{errors}");
}
