//! REST rate limits: every answer tells the client's budget for the operation, past it the
//! answer is the contract's 429, budgets are per client and per operation, and they refill
//! as time passes (on a clock the tests move by hand).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::Request;
use entity::MessageType;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use ticket_gateway::auth::Access;
use ticket_gateway::config::{AppConfig, EdgeSettings, GraphqlSettings};
use ticket_gateway::limit::ManualClock;

use crate::helpers::{
    each_backend, metric, sqlite_app, OpenApiDoc, TestApp, TestResponse, BASE_URL, READ,
    READ_WRITE, SECRET,
};

/// The app with a budget of `per_hour` requests, on a clock that moves only when told.
fn limited(app: &TestApp, per_hour: u32) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let config = AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(EdgeSettings {
            rate_limit_per_hour: per_hour,
            ..EdgeSettings::default()
        })
        .expect("edge settings");
    (app.clocked(config, clock.clone()), clock)
}

fn budget(r: &TestResponse) -> (Option<&str>, Option<&str>) {
    (
        r.header("x-ratelimit-limit"),
        r.header("x-ratelimit-remaining"),
    )
}

async fn get(app: &TestApp, uri: &str, token: &str) -> TestResponse {
    app.rest("GET", uri, Some(token), &[], None).await
}

/// A request without a token from `peer`, as the server tells it to the router.
async fn anonymous_from(app: &TestApp, peer: &str) -> TestResponse {
    forwarded_from(app, peer, None).await
}

#[tokio::test]
async fn every_operation_answers_with_the_budget_errors_included() {
    each_backend(|app| async move {
        let doc = OpenApiDoc::fetch(&app).await;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let message = app
            .message(&ticket, 0, MessageType::InitialRequest, app.tick())
            .await;
        let token = app.user_token(&user, READ_WRITE);
        let t = format!("/v2/support_tickets/{ticket}");
        let patch =
            br#"{"human_verified_category": "CHARGER", "human_verified_subcategory": "OFFLINE"}"#;
        let json = [("content-type", "application/json")];
        // Method, path, headers, body, status, and remaining: operations count apart, so
        // each is at 999 after its first request.
        type Exchange<'a> = (
            &'a str,
            String,
            &'a [(&'a str, &'a str)],
            Option<Vec<u8>>,
            u16,
            &'a str,
        );
        let exchanges: Vec<Exchange> = vec![
            ("GET", "/v2/support_tickets".into(), &[], None, 200, "999"),
            (
                "GET",
                "/v2/support_tickets/categories".into(),
                &[],
                None,
                200,
                "999",
            ),
            ("GET", t.clone(), &[], None, 200, "999"),
            ("PATCH", t.clone(), &json, Some(patch.to_vec()), 200, "999"),
            ("GET", format!("{t}/messages"), &[], None, 200, "999"),
            (
                "GET",
                format!("{t}/messages/{message}"),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/sankey".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/volume".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/resolution".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/status".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/priority".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/source".into(),
                &[],
                None,
                200,
                "999",
            ),
            (
                "GET",
                "/v2/support-ticket-stats/top-categories".into(),
                &[],
                None,
                200,
                "999",
            ),
            // Errors carry the budget too, whoever answers them, and spend it.
            (
                "GET",
                "/v2/support_tickets?page_size=0".into(),
                &[],
                None,
                400,
                "998",
            ),
            (
                "GET",
                "/v2/support_tickets".into(),
                &[("accept", "text/html")],
                None,
                406,
                "997",
            ),
            (
                "GET",
                "/v2/support_tickets".into(),
                &[("evenergy-version", "3")],
                None,
                400,
                "996",
            ),
            (
                "GET",
                format!("/v2/support_tickets/tick{}", "0".repeat(26)),
                &[],
                None,
                404,
                "998",
            ),
            ("DELETE", t.clone(), &[], None, 405, "999"),
            ("GET", "/v2/nowhere".into(), &[], None, 404, "999"),
        ];
        for (method, uri, headers, body, status, remaining) in exchanges {
            let r = app.rest(method, &uri, Some(&token), headers, body).await;
            assert_eq!(r.status, status, "{method} {uri}: {}", r.text);
            doc.check(method, &uri, &r);
            assert_eq!(
                budget(&r),
                (Some("1000"), Some(remaining)),
                "{method} {uri}"
            );
        }
        // Without a token, or with a bad one, the budget is the remote address's.
        let r = app
            .rest("GET", "/v2/support_tickets", None, &[], None)
            .await;
        assert_eq!(
            (r.status.as_u16(), budget(&r)),
            (401, (Some("1000"), Some("999")))
        );
        let r = app
            .rest("GET", "/v2/support_tickets", Some("not-a-token"), &[], None)
            .await;
        assert_eq!(
            (r.status.as_u16(), budget(&r)),
            (401, (Some("1000"), Some("998")))
        );
    })
    .await;
}

#[tokio::test]
async fn remaining_goes_down_by_one_per_request() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 5);
        let token = app.token(Access::AllAreas, READ);
        let mut seen = Vec::new();
        for _ in 0..5 {
            let r = get(&app, "/v2/support_tickets", &token).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
            seen.push(
                r.header("x-ratelimit-remaining")
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        assert_eq!(seen, ["4", "3", "2", "1", "0"]);
    })
    .await;
}

#[tokio::test]
async fn past_the_limit_the_answer_is_the_contracts_429_before_any_database_work() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 3);
        let doc = OpenApiDoc::fetch(&app).await;
        let token = app.token(Access::AllAreas, READ);
        for _ in 0..3 {
            assert_eq!(get(&app, "/v2/support_tickets", &token).await.status, 200);
        }
        app.reset_statements();
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(
            app.statements(),
            0,
            "a refused request reached the database"
        );
        assert_eq!(r.status, 429, "{}", r.text);
        doc.check("GET", "/v2/support_tickets", &r);
        assert!(r
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/problem+json"));
        // Three an hour: one comes back every 20 minutes.
        assert_eq!(r.header("retry-after"), Some("1200"));
        assert_eq!(budget(&r), (Some("3"), Some("0")));
        assert_eq!(r.header("evenergy-version"), Some("2"));
        assert_eq!(
            r.body_sans_request_id(),
            json!({
                "type": "https://api.ev.energy/v2/problems/rate-limit-exceeded/",
                "title": "Too Many Requests",
                "status": 429,
                "detail": "Request was rate limited. Try again in 1200 seconds",
            })
        );
        // A refused request does not spend the budget further.
        let again = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(again.header("retry-after"), Some("1200"));
    })
    .await;
}

#[tokio::test]
async fn clients_and_operations_have_budgets_of_their_own() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 1);
        let (a, b) = (app.user(None).await, app.user(None).await);
        let (token_a, token_b) = (app.user_token(&a, READ), app.user_token(&b, READ));
        assert_eq!(get(&app, "/v2/support_tickets", &token_a).await.status, 200);
        assert_eq!(get(&app, "/v2/support_tickets", &token_a).await.status, 429);
        // Another client, the same operation.
        assert_eq!(get(&app, "/v2/support_tickets", &token_b).await.status, 200);
        // The same client, another operation, and another method on the same path.
        let ticket = app.ticket(Some(&a)).await;
        let categories = get(&app, "/v2/support_tickets/categories", &token_a).await;
        assert_eq!(categories.status, 200);
        let t = format!("/v2/support_tickets/{ticket}");
        assert_eq!(get(&app, &t, &token_a).await.status, 200);
        let patch = app
            .rest(
                "PATCH",
                &t,
                Some(&token_a),
                &[("content-type", "application/json")],
                Some(b"{}".to_vec()),
            )
            .await;
        assert_ne!(patch.status, 429, "{}", patch.text);
        // The path template counts, not the path: another ticket is the same operation.
        let other = app.ticket(Some(&a)).await;
        let r = get(&app, &format!("/v2/support_tickets/{other}"), &token_a).await;
        assert_eq!(r.status, 429);
        // A new token of the same subject is the same client.
        let fresh = app.user_token(&a, READ_WRITE);
        assert_eq!(get(&app, "/v2/support_tickets", &fresh).await.status, 429);
    })
    .await;
}

pub(crate) fn with_client_id(user: &str, client_id: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 600;
    encode(
        &Header::default(),
        &json!({ "user": user, "sub": user, "client_id": client_id, "scope": READ, "exp": exp }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn tokens_of_one_oauth_client_share_its_budget() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 1);
        let (a, b) = (app.user(None).await, app.user(None).await);
        let first = with_client_id(a.as_str(), "dashboard-app");
        let second = with_client_id(b.as_str(), "dashboard-app");
        let elsewhere = with_client_id(b.as_str(), "mobile-app");
        assert_eq!(get(&app, "/v2/support_tickets", &first).await.status, 200);
        assert_eq!(get(&app, "/v2/support_tickets", &second).await.status, 429);
        assert_eq!(
            get(&app, "/v2/support_tickets", &elsewhere).await.status,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn requests_without_a_valid_token_are_counted_by_remote_address() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 1);
        let r = anonymous_from(&app, "192.0.2.1:40000").await;
        assert_eq!(
            (r.status.as_u16(), budget(&r)),
            (401, (Some("1"), Some("0")))
        );
        // The port is not part of the client: a new connection is the same address.
        let r = anonymous_from(&app, "192.0.2.1:40001").await;
        assert_eq!(r.status, 429, "{}", r.text);
        let r = anonymous_from(&app, "192.0.2.2:40000").await;
        assert_eq!(r.status, 401, "{}", r.text);
    })
    .await;
}

/// A request without a token from `peer`, with `X-Forwarded-For: forwarded` when given.
async fn forwarded_from(app: &TestApp, peer: &str, forwarded: Option<&str>) -> TestResponse {
    let peer: SocketAddr = peer.parse().expect("address");
    let mut request = Request::builder().uri("/v2/support_tickets");
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let request = request
        .extension(ConnectInfo(peer))
        .body(Body::empty())
        .expect("request");
    app.send(request).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_is_the_address_the_proxy_forwarded() {
    let app = sqlite_app().await;
    let config = AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(EdgeSettings {
            rate_limit_per_hour: 1,
            trusted_proxies: vec!["10.0.0.0/8".into(), " 127.0.0.1".into()],
            ..EdgeSettings::default()
        })
        .expect("edge settings");
    let app = app.clocked(config, Arc::new(ManualClock::new()));
    let status = |r: TestResponse| r.status.as_u16();
    // Two clients behind one proxy count apart; one client through two proxies counts once.
    assert_eq!(
        status(forwarded_from(&app, "10.0.0.5:1000", Some("198.51.100.7")).await),
        401
    );
    assert_eq!(
        status(forwarded_from(&app, "10.0.0.6:1001", Some("198.51.100.7")).await),
        429
    );
    assert_eq!(
        status(forwarded_from(&app, "10.0.0.5:1002", Some("198.51.100.8")).await),
        401
    );
    assert_eq!(
        status(forwarded_from(&app, "127.0.0.1:1003", Some("198.51.100.9, 10.0.0.7")).await),
        401
    );
    // What a client writes itself is further left, and never believed.
    assert_eq!(
        status(forwarded_from(&app, "10.0.0.5:1004", Some("203.0.113.1, 198.51.100.7")).await),
        429
    );
    // From a peer that is not a trusted proxy the header means nothing.
    assert_eq!(
        status(forwarded_from(&app, "192.0.2.1:1005", Some("198.51.100.10")).await),
        401
    );
    assert_eq!(
        status(forwarded_from(&app, "192.0.2.1:1006", Some("198.51.100.11")).await),
        429
    );
}

#[test]
fn trusted_proxies_that_are_not_addresses_are_refused_at_start() {
    let result = AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(EdgeSettings {
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..EdgeSettings::default()
        });
    let error = result.err().unwrap_or_default();
    assert!(error.contains("TRUSTED_PROXIES"), "{error}");
}

#[tokio::test]
async fn the_budget_comes_back_as_time_passes() {
    each_backend(|app| async move {
        let (app, clock) = limited(&app, 3);
        let token = app.token(Access::AllAreas, READ);
        for _ in 0..3 {
            get(&app, "/v2/support_tickets", &token).await;
        }
        clock.advance(Duration::from_secs(1199));
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(
            (r.status.as_u16(), r.header("retry-after")),
            (429, Some("1"))
        );
        assert_eq!(
            r.body["detail"],
            json!("Request was rate limited. Try again in 1 seconds")
        );
        clock.advance(Duration::from_secs(1));
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(
            (r.status.as_u16(), budget(&r)),
            (200, (Some("3"), Some("0")))
        );
        // Not all at once at the top of an hour: one request per 20 minutes.
        clock.advance(Duration::from_secs(40 * 60));
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(
            (r.status.as_u16(), budget(&r)),
            (200, (Some("3"), Some("1")))
        );
        clock.advance(Duration::from_secs(3600));
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(budget(&r), (Some("3"), Some("2")));
    })
    .await;
}

#[tokio::test]
async fn decisions_are_counted_in_the_metrics() {
    each_backend(|app| async move {
        let (app, _clock) = limited(&app, 2);
        let token = app.token(Access::AllAreas, READ);
        for _ in 0..3 {
            get(&app, "/v2/support-ticket-stats/status", &token).await;
        }
        let text = app.state.metrics.render(&app.state.db, true);
        let count = |decision: &str| {
            metric(
                &text,
                "ticket_gateway_rate_limit_decisions_total",
                &[("door", "rest"), ("decision", decision)],
            )
        };
        assert_eq!((count("allowed"), count("limited")), (2.0, 1.0));
        // GraphQL has no REST budget.
        let r = app
            .graphql(Some(&token), "{ __typename }", Value::Null)
            .await;
        assert_eq!(r.header("x-ratelimit-limit"), None);
    })
    .await;
}

/// One request without a token from `source`, over a real connection to `server`: its status.
async fn status_over_tcp(server: SocketAddr, source: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("source address"))
        .expect("bind the source address");
    let mut stream = socket.connect(server).await.expect("connect");
    stream
        .write_all(
            b"GET /v2/support_tickets HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("send");
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.expect("read");
    let text = String::from_utf8_lossy(&received);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_served_request_is_counted_by_the_address_it_came_from() {
    let app = sqlite_app().await;
    let (addr, stop) = app
        .listening(EdgeSettings {
            rate_limit_per_hour: 1,
            ..EdgeSettings::default()
        })
        .await;

    assert_eq!(
        status_over_tcp(addr, "127.0.0.1").await,
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        status_over_tcp(addr, "127.0.0.1").await,
        "HTTP/1.1 429 Too Many Requests"
    );
    // Another address of the loopback network is another client.
    assert_eq!(
        status_over_tcp(addr, "127.0.0.2").await,
        "HTTP/1.1 401 Unauthorized"
    );
    let _ = stop.send(());
}

// Budgets in Redis: the same behaviour through the shared store, one budget for every
// instance on the same Redis, and requests still served when Redis is out of reach. Redis
// keeps its own time, so refills are left to the in-process store's clock tests.

/// The Redis of the tests (`TEST_REDIS_URL`, else the local one), if it answers. Under CI it
/// must; elsewhere its absence skips the test with a notice.
pub(crate) async fn test_redis() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let ping = async {
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|e| e.to_string())
    };
    let answer = tokio::time::timeout(Duration::from_secs(2), ping)
        .await
        .unwrap_or_else(|_| Err("no answer within 2 s".to_owned()));
    match answer {
        Ok(_) => Some(url),
        Err(e) if crate::helpers::in_ci() => panic!("Redis at {url}: {e}"),
        Err(e) => {
            crate::helpers::notice(&format!("Redis tests skipped: {url}: {e}"));
            None
        }
    }
}

/// An app over SQLite whose budgets of `per_hour` live in the Redis at `url`.
async fn on_redis(url: &str, per_hour: u32) -> (TestApp, AppConfig) {
    let app = sqlite_app().await;
    let config = AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(EdgeSettings {
            rate_limit_per_hour: per_hour,
            redis_url: Some(url.to_owned()),
            ..EdgeSettings::default()
        })
        .expect("edge settings");
    (app.configured(config.clone()), config)
}

/// A token of a new user of `app`, for an OAuth client no other test (nor an earlier run) has
/// used, so that tests on a shared Redis never spend one another's budgets.
pub(crate) async fn fresh_client(app: &TestApp) -> String {
    let user = app.user(None).await;
    with_client_id(user.as_str(), &format!("test-{}", ulid::Ulid::new()))
}

#[tokio::test]
async fn a_budget_in_redis_is_spent_exactly_then_refused_with_retry_after() {
    let Some(url) = test_redis().await else {
        return;
    };
    let (app, _) = on_redis(&url, 3).await;
    let token = fresh_client(&app).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.push(budget(&r).1.unwrap_or_default().to_owned());
    }
    assert_eq!(seen, ["2", "1", "0"]);
    let r = get(&app, "/v2/support_tickets", &token).await;
    assert_eq!(r.status, 429, "{}", r.text);
    // Three an hour: one comes back 20 minutes after the first, less the few milliseconds
    // the requests took, rounded up.
    assert_eq!(r.header("retry-after"), Some("1200"));
    assert_eq!(budget(&r), (Some("3"), Some("0")));
    // A refused request spends nothing; other operations have budgets of their own.
    let r = get(&app, "/v2/support_tickets", &token).await;
    assert_eq!(r.header("retry-after"), Some("1200"));
    let r = get(&app, "/v2/support_tickets/categories", &token).await;
    assert_eq!((r.status.as_u16(), budget(&r).1), (200, Some("2")));
    let text = app.state.metrics.render(&app.state.db, true);
    let errors = metric(
        &text,
        "ticket_gateway_rate_limit_store_errors_total",
        &[("store", "redis")],
    );
    assert_eq!(errors, 0.0);
}

#[tokio::test]
async fn two_instances_on_one_redis_share_one_budget() {
    let Some(url) = test_redis().await else {
        return;
    };
    let (first, config) = on_redis(&url, 4).await;
    // Another router with its own state: another instance of the gateway.
    let second = first.configured(config);
    let token = fresh_client(&first).await;
    let mut seen = Vec::new();
    for i in 0..5 {
        let app = if i % 2 == 0 { &first } else { &second };
        let r = get(app, "/v2/support_tickets", &token).await;
        seen.push((
            r.status.as_u16(),
            budget(&r).1.unwrap_or_default().to_owned(),
        ));
    }
    let expected: Vec<(u16, String)> = [(200, "3"), (200, "2"), (200, "1"), (200, "0"), (429, "0")]
        .into_iter()
        .map(|(s, r)| (s, r.to_owned()))
        .collect();
    assert_eq!(seen, expected);
    let r = get(&second, "/v2/support_tickets", &token).await;
    assert_eq!(r.status, 429, "{}", r.text);
}

#[tokio::test]
async fn an_unreachable_redis_lets_requests_through_and_counts_the_errors() {
    // Nothing listens on port 1: every decision fails at once.
    let (app, _) = on_redis("redis://127.0.0.1:1", 1).await;
    let token = fresh_client(&app).await;
    for _ in 0..3 {
        let r = get(&app, "/v2/support_tickets", &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Nothing was counted: the whole budget is shown.
        assert_eq!(budget(&r), (Some("1"), Some("1")));
    }
    let text = app.state.metrics.render(&app.state.db, true);
    let errors = metric(
        &text,
        "ticket_gateway_rate_limit_store_errors_total",
        &[("store", "redis")],
    );
    let allowed = metric(
        &text,
        "ticket_gateway_rate_limit_decisions_total",
        &[("door", "rest"), ("decision", "allowed")],
    );
    assert_eq!((errors, allowed), (3.0, 3.0));
}

#[test]
fn a_redis_url_that_does_not_parse_is_refused_at_start() {
    let result = AppConfig::new(BASE_URL, GraphqlSettings::default())
        .expect("config")
        .with_edge(EdgeSettings {
            redis_url: Some("not a url".to_owned()),
            ..EdgeSettings::default()
        });
    let error = result.err().unwrap_or_default();
    assert!(error.contains("REDIS_URL"), "{error}");
}
