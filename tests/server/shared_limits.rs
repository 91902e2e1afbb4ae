//! What instances share through Redis, seen from outside: two processes of the binary on one
//! Redis (and one database) spend one REST budget and one GraphQL budget per client, and a
//! document registered as an automatic persisted query on one runs by its hash on the other;
//! an instance whose Redis is out of reach still serves, uncounted and without persisted
//! documents, rather than failing.
//!
//! Every run uses an OAuth client id of its own, so runs never spend one another's budgets on
//! a shared Redis, and a document of its own, so no earlier run has registered it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use ticket_gateway::graphql::sha256_hex;

use crate::harness::{each_backend, in_ci, notice, Db, Reply, Server, SECRET};

const TICKETS: &str = "/v2/support_tickets";
const VIEWER: &str = "{ viewer { access } }";

/// The Redis of the tests (`TEST_REDIS_URL`, else the local one), if it answers `PING`. Under
/// CI it must; elsewhere its absence skips the test with a notice.
async fn test_redis() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let answer = tokio::time::timeout(Duration::from_secs(2), redis_cmd(&url, &["PING"]))
        .await
        .unwrap_or_else(|_| Err("no answer within 2 s".to_owned()));
    match answer {
        Ok(_) => Some(url),
        Err(e) if in_ci() => panic!("Redis at {url}: {e}"),
        Err(e) => {
            notice(&format!("Redis tests skipped: {url}: {e}"));
            None
        }
    }
}

/// One command on the Redis at `url`, its answer as an optional string.
async fn redis_cmd(url: &str, args: &[&str]) -> Result<Option<String>, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query_async::<Option<String>>(&mut connection)
        .await
        .map_err(|e| e.to_string())
}

/// Deletes a Redis key when dropped, so that a run leaves no document behind, even a failed
/// one.
struct Forget {
    url: String,
    key: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        if let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1)) {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&self.key).query(&mut connection);
        }
    }
}

/// An OAuth client id no other test, nor an earlier run, has used.
fn fresh_client() -> String {
    format!("server-test-{}", ulid::Ulid::new())
}

/// A token for every ticket, readable, issued to the OAuth client `client_id`.
fn token_of(client_id: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs();
    encode(
        &Header::default(),
        &json!({
            "access_all_areas": true,
            "sub": "server-test",
            "client_id": client_id,
            "scope": "support:read",
            "exp": now + 600,
        }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode a token")
}

/// Starts the binary on `db`, with `REDIS_URL` and the given extra settings.
async fn start(db: &Db, redis_url: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("DATABASE_URL", db.url.as_str()),
        ("JWT_SECRET", SECRET),
        ("DEMO_DATA", "false"),
        ("REDIS_URL", redis_url),
    ];
    env.extend_from_slice(extra);
    Server::start(&env).await
}

/// POSTs `body` (a GraphQL request as JSON) to `/graphql`.
async fn graphql(server: &Server, token: &str, body: &Value) -> Reply {
    server
        .send(
            "POST",
            "/graphql",
            Some(token),
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .await
}

/// `extensions` for a request that names its document by `hash`.
fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// GETs `/graphql` with only `extensions` in the query string.
async fn graphql_get_by_hash(server: &Server, token: &str, hash: &str) -> Reply {
    let extensions = persisted(hash).to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(extensions.as_bytes()).collect();
    server
        .get(&format!("/graphql?extensions={encoded}"), Some(token))
        .await
}

/// The `extensions.code` of a response's only error.
fn only_error_code(r: &Reply) -> Option<&str> {
    let errors = r.body["errors"].as_array()?;
    if errors.len() != 1 {
        return None;
    }
    errors[0]["extensions"]["code"].as_str()
}

/// The REST budget headers: limit and remaining.
fn budget(r: &Reply) -> (Option<&str>, Option<&str>) {
    (
        r.header("x-ratelimit-limit"),
        r.header("x-ratelimit-remaining"),
    )
}

/// A port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_spend_one_rest_budget_exactly() {
    let Some(redis_url) = test_redis().await else {
        return;
    };
    each_backend(move |db| {
        let redis_url = redis_url.clone();
        async move {
            let settings = [("RATE_LIMIT_PER_HOUR", "4")];
            let a = start(&db, &redis_url, &settings).await;
            let b = start(&db, &redis_url, &settings).await;
            let token = token_of(&fresh_client());
            let mut seen = Vec::new();
            for i in 0..4 {
                let (name, server) = if i % 2 == 0 { ("A", &a) } else { ("B", &b) };
                let r = server.get(TICKETS, Some(&token)).await;
                assert_eq!(r.status, 200, "request {i} to {name}: {}", r.text);
                let (limit, remaining) = budget(&r);
                seen.push((name, limit.map(str::to_owned), remaining.map(str::to_owned)));
            }
            let expected: Vec<(&str, Option<String>, Option<String>)> =
                [("A", "3"), ("B", "2"), ("A", "1"), ("B", "0")]
                    .into_iter()
                    .map(|(name, left)| (name, Some("4".to_owned()), Some(left.to_owned())))
                    .collect();
            assert_eq!(
                seen, expected,
                "one budget of 4 spent by both instances ({:?})",
                db.kind
            );

            // The fifth, to A again: refused as the contract says.
            let r = a.get(TICKETS, Some(&token)).await;
            assert_eq!(r.status, 429, "{}", r.text);
            assert!(r.is_problem_json(), "{:?}", r.headers);
            assert_eq!(budget(&r), (Some("4"), Some("0")), "{:?}", r.headers);
            let wait: u64 = r
                .header("retry-after")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("a Retry-After in seconds: {:?}", r.headers));
            // Four an hour: one comes back 15 minutes after the first request, less the time
            // the requests took.
            assert!((840..=900).contains(&wait), "Retry-After: {wait}");
            assert_eq!(r.body["status"], 429, "{}", r.text);
            assert_eq!(r.body["title"], "Too Many Requests", "{}", r.text);
            assert_eq!(
                r.body["detail"],
                format!("Request was rate limited. Try again in {wait} seconds"),
                "{}",
                r.text
            );

            // The other instance refuses too: it has no budget of its own.
            let r = b.get(TICKETS, Some(&token)).await;
            assert_eq!(r.status, 429, "{}", r.text);
            assert!(r.is_problem_json(), "{:?}", r.headers);
            assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
            assert_eq!(budget(&r), (Some("4"), Some("0")), "{:?}", r.headers);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_spend_one_graphql_budget() {
    let Some(redis_url) = test_redis().await else {
        return;
    };
    each_backend(move |db| {
        let redis_url = redis_url.clone();
        async move {
            let settings = [("GRAPHQL_POINTS_PER_HOUR", "3")];
            let a = start(&db, &redis_url, &settings).await;
            let b = start(&db, &redis_url, &settings).await;
            let token = token_of(&fresh_client());
            let body = json!({ "query": VIEWER });
            let mut seen = Vec::new();
            for i in 0..3 {
                let (name, server) = if i % 2 == 0 { ("A", &a) } else { ("B", &b) };
                let r = graphql(server, &token, &body).await;
                assert_eq!(r.status, 200, "request {i} to {name}: {}", r.text);
                assert_eq!(
                    r.body["data"]["viewer"]["access"], "ALL_AREAS",
                    "request {i} to {name}: {}",
                    r.text
                );
                let cost = &r.body["extensions"]["cost"];
                assert_eq!(
                    (&cost["requested"], &cost["limit"]),
                    (&json!(1), &json!(3)),
                    "request {i} to {name}: {}",
                    r.text
                );
                assert!(cost["resetAt"].is_string(), "{}", r.text);
                seen.push((name, cost["remaining"].clone()));
            }
            assert_eq!(
                seen,
                [("A", json!(2)), ("B", json!(1)), ("A", json!(0))],
                "one budget of 3 points spent by both instances ({:?})",
                db.kind
            );

            // Spent: refused by either instance, before anything runs.
            for (name, server) in [("B", &b), ("A", &a)] {
                let r = graphql(server, &token, &body).await;
                assert_eq!(r.status, 429, "{name}: {}", r.text);
                assert_eq!(
                    only_error_code(&r),
                    Some("RATE_LIMITED"),
                    "{name}: {}",
                    r.text
                );
                let retry_after = &r.body["errors"][0]["extensions"]["retryAfter"];
                assert!(
                    retry_after.as_u64().is_some_and(|s| s > 0),
                    "{name}: {}",
                    r.text
                );
                assert_eq!(
                    r.header("retry-after").map(str::to_owned),
                    Some(retry_after.to_string()),
                    "{name}: {:?}",
                    r.headers
                );
                assert!(r.body["data"].is_null(), "{name}: {}", r.text);
                assert_eq!(
                    r.body["extensions"]["cost"]["remaining"], 0,
                    "{name}: {}",
                    r.text
                );
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_query_registered_on_one_instance_runs_on_the_other() {
    let Some(redis_url) = test_redis().await else {
        return;
    };
    each_backend(move |db| {
        let redis_url = redis_url.clone();
        async move {
            let a = start(&db, &redis_url, &[]).await;
            let b = start(&db, &redis_url, &[]).await;
            let token = token_of(&fresh_client());
            // A document of this run alone, whose answer says which document ran.
            let run = ulid::Ulid::new().to_string();
            let document =
                format!("query Probe_{run} {{ viewer {{ access }} probe_{run}: __typename }}");
            let hash = sha256_hex(&document);
            let mut expected = json!({ "viewer": { "access": "ALL_AREAS" } });
            expected[format!("probe_{run}")] = json!("Query");
            let by_hash = json!({ "extensions": persisted(&hash) });
            let key = format!("tg:pq:{hash}");
            let _forget = Forget {
                url: redis_url.clone(),
                key: key.clone(),
            };

            // Unknown to B before anyone registers it.
            let r = graphql(&b, &token, &by_hash).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                only_error_code(&r),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "{}",
                r.text
            );

            // Registered on A, by sending it with its hash: it runs there.
            let r = graphql(
                &a,
                &token,
                &json!({ "query": document, "extensions": persisted(&hash) }),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(r.body["errors"].is_null(), "{}", r.text);
            assert_eq!(r.body["data"], expected, "{}", r.text);
            let stored = redis_cmd(&redis_url, &["GET", &key]).await;
            assert_eq!(
                stored,
                Ok(Some(document.clone())),
                "the document is kept in Redis"
            );

            // B runs it by its hash alone, over POST and over GET.
            let r = graphql(&b, &token, &by_hash).await;
            assert_eq!(r.status, 200, "POST to B: {}", r.text);
            assert!(r.body["errors"].is_null(), "POST to B: {}", r.text);
            assert_eq!(r.body["data"], expected, "POST to B: {}", r.text);
            let r = graphql_get_by_hash(&b, &token, &hash).await;
            assert_eq!(r.status, 200, "GET from B: {}", r.text);
            assert!(r.body["errors"].is_null(), "GET from B: {}", r.text);
            assert_eq!(r.body["data"], expected, "GET from B: {}", r.text);

            // A hash nobody registered is still unknown to B.
            let unknown = sha256_hex(&format!("{document} # never sent"));
            let r = graphql(&b, &token, &json!({ "extensions": persisted(&unknown) })).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                only_error_code(&r),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "{}",
                r.text
            );
            assert_eq!(
                r.body["errors"][0]["message"], "PersistedQueryNotFound",
                "{}",
                r.text
            );
            assert!(r.body["data"].is_null(), "{}", r.text);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_cannot_reach_redis_still_serves() {
    let redis_url = format!("redis://127.0.0.1:{}", closed_port());
    each_backend(move |db| {
        let redis_url = redis_url.clone();
        async move {
            let server = start(
                &db,
                &redis_url,
                &[
                    ("RATE_LIMIT_PER_HOUR", "2"),
                    ("GRAPHQL_POINTS_PER_HOUR", "2"),
                ],
            )
            .await;
            let token = token_of(&fresh_client());

            // More requests than the budget allows, each let through uncounted.
            for i in 0..3 {
                let r = server.get(TICKETS, Some(&token)).await;
                assert_eq!(r.status, 200, "REST request {i}: {}", r.text);
                assert_eq!(
                    budget(&r),
                    (Some("2"), Some("2")),
                    "REST request {i}: {:?}",
                    r.headers
                );
            }
            for i in 0..3 {
                let r = graphql(&server, &token, &json!({ "query": VIEWER })).await;
                assert_eq!(r.status, 200, "GraphQL request {i}: {}", r.text);
                assert_eq!(
                    r.body["data"]["viewer"]["access"], "ALL_AREAS",
                    "GraphQL request {i}: {}",
                    r.text
                );
                let cost = &r.body["extensions"]["cost"];
                assert_eq!(
                    (&cost["requested"], &cost["limit"], &cost["remaining"]),
                    (&json!(1), &json!(2), &json!(2)),
                    "GraphQL request {i}: {}",
                    r.text
                );
            }

            // A document sent with its hash runs (its registration fails quietly)...
            let run = ulid::Ulid::new().to_string();
            let document = format!("query Probe_{run} {{ viewer {{ access }} }}");
            let hash = sha256_hex(&document);
            let r = graphql(
                &server,
                &token,
                &json!({ "query": document, "extensions": persisted(&hash) }),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(r.body["errors"].is_null(), "{}", r.text);
            assert_eq!(
                r.body["data"]["viewer"]["access"], "ALL_AREAS",
                "{}",
                r.text
            );

            // ...and its hash alone asks for the document again, rather than failing.
            let r = graphql(&server, &token, &json!({ "extensions": persisted(&hash) })).await;
            assert_eq!(r.status, 200, "POST: {}", r.text);
            assert_eq!(
                only_error_code(&r),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "POST: {}",
                r.text
            );
            let r = graphql_get_by_hash(&server, &token, &hash).await;
            assert_eq!(r.status, 200, "GET: {}", r.text);
            assert_eq!(
                only_error_code(&r),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "GET: {}",
                r.text
            );
        }
    })
    .await;
}

/// A `redis-server` of the test's own, on `port`, keeping nothing on disk; killed when
/// dropped. `None` (with a notice) where the binary is not installed.
fn own_redis(port: u16) -> Option<tokio::process::Child> {
    let started = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    match started {
        Ok(child) => Some(child),
        Err(e) => {
            notice(&format!(
                "redis-server could not start ({e}): recovery test skipped"
            ));
            None
        }
    }
}

/// Waits until the Redis at `url` answers, up to 10 s.
async fn until_answering(url: &str) {
    for _ in 0..200 {
        if redis_cmd(url, &["PING"]).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not answer within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limiter_whose_redis_goes_away_serves_uncounted_then_recovers_by_itself() {
    let port = closed_port();
    let url = format!("redis://127.0.0.1:{port}");
    let Some(mut redis) = own_redis(port) else {
        return;
    };
    until_answering(&url).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = Db {
        kind: crate::harness::Kind::Sqlite,
        url: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("gateway.db").display()
        ),
    };
    let server = start(
        &db,
        &url,
        &[
            ("RATE_LIMIT_PER_HOUR", "100"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let token = token_of(&fresh_client());
    let remaining = |r: &Reply| budget(r).1.map(str::to_owned);
    let r = server.get(TICKETS, Some(&token)).await;
    assert_eq!(remaining(&r).as_deref(), Some("99"), "{:?}", r.headers);

    // Redis goes away: every request is still served, uncounted, and one warning says so.
    redis.kill().await.expect("stop redis-server");
    for i in 0..5 {
        let r = server.get(TICKETS, Some(&token)).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
        assert_eq!(remaining(&r).as_deref(), Some("100"), "request {i}");
    }
    let warnings = |server: &Server| {
        server
            .lines()
            .iter()
            .filter(|l| l.contains("rate limit store unreachable"))
            .count()
    };
    server
        .wait_for_line(|l| l.contains("rate limit store unreachable"))
        .await;
    assert_eq!(warnings(&server), 1, "{}", server.log_text());

    // It comes back (empty: it kept nothing): counting resumes without a restart.
    let _redis = own_redis(port).expect("redis-server starts again");
    until_answering(&url).await;
    let mut counted = None;
    for _ in 0..100 {
        let r = server.get(TICKETS, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if remaining(&r).as_deref() == Some("99") {
            counted = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        counted.is_some(),
        "never counted again:\n{}",
        server.log_text()
    );
    let r = server.get(TICKETS, Some(&token)).await;
    assert_eq!(remaining(&r).as_deref(), Some("98"));
    assert!(
        server
            .wait_for_line(|l| l.contains("rate limit store reachable again"))
            .await,
        "{}",
        server.log_text()
    );
    assert_eq!(warnings(&server), 1, "{}", server.log_text());
}
