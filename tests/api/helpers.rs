//! The one test helper: a fresh, migrated database per test (SQLite in memory, and a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set), the router on top of it, tokens,
//! requests sent in-process with `oneshot`, and builders for the data each test needs.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use entity::{organization, support_ticket, support_ticket_message, user, MessageType};
use http_body_util::BodyExt;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set};
use serde_json::{json, Value};
use ticket_gateway::auth::{Access, JwtKeys};
use ticket_gateway::config::{AppConfig, EdgeSettings, GraphqlSettings};
use ticket_gateway::ids::{MessageId, OrgId, TicketId, UserId};
use ticket_gateway::limit::Clock;
use ticket_gateway::startup::{router, AppState};

pub const SECRET: &str = "test-secret-that-is-long-enough";
pub const BASE_URL: &str = "http://gateway.test";
pub const READ: &str = "support:read";
pub const READ_WRITE: &str = "support:read support:write";

pub struct TestApp {
    pub db: DatabaseConnection,
    pub router: Router,
    pub keys: JwtKeys,
    pub backend: &'static str,
    pub state: AppState,
    statements_before: AtomicUsize,
    clock: AtomicI64,
}

/// A response, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as it came, compressed or not.
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body without what differs between any two requests: the request ids
    /// (`request_id`, `extensions.requestId`) and the GraphQL budget (`extensions.cost`).
    pub fn body_sans_request_id(&self) -> Value {
        fn strip(value: &Value) -> Value {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .filter(|(k, _)| *k != "request_id" && *k != "requestId")
                        .map(|(k, v)| (k.clone(), strip(v)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
                other => other.clone(),
            }
        }
        strip(&sans_cost(&self.body))
    }

    /// The body without the GraphQL budget (`extensions.cost`, and `extensions` when
    /// nothing else is in it), for tests of something else.
    pub fn body_sans_cost(&self) -> Value {
        sans_cost(&self.body)
    }
}

/// `body` without `extensions.cost` in its responses (one, or each of a batch).
fn sans_cost(body: &Value) -> Value {
    match body {
        Value::Array(items) => Value::Array(items.iter().map(sans_cost).collect()),
        Value::Object(map) => {
            let mut map = map.clone();
            if let Some(Value::Object(extensions)) = map.get_mut("extensions") {
                extensions.remove("cost");
                if extensions.is_empty() {
                    map.remove("extensions");
                }
            }
            Value::Object(map)
        }
        other => other.clone(),
    }
}

/// An app over a fresh, migrated SQLite database in memory, for tests of what does not
/// depend on the backend.
pub async fn sqlite_app() -> TestApp {
    TestApp::new(
        connect("sqlite::memory:").await,
        "sqlite",
        GraphqlSettings::default(),
    )
}

/// Runs `test` on SQLite, then on PostgreSQL when `TEST_DATABASE_URL` is set.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_with(GraphqlSettings::default(), test).await
}

/// [`each_backend`] with non-default GraphQL settings.
pub async fn each_backend_with<F, Fut>(settings: GraphqlSettings, test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = connect("sqlite::memory:").await;
    test(TestApp::new(db, "sqlite", settings.clone())).await;
    if let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") {
        let (db, name) = fresh_postgres(&admin_url).await;
        test(TestApp::new(db.clone(), "postgres", settings)).await;
        let _ = db.close().await;
        let admin = Database::connect(admin_url.as_str())
            .await
            .expect("connect to TEST_DATABASE_URL");
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
}

/// The sum of a metric's samples whose labels include `labels`, from Prometheus text (a
/// histogram's `_count` by the name with that suffix). 0 when there is none.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    use openmetrics_parser::PrometheusValue as V;
    let exposition = openmetrics_parser::prometheus::parse_prometheus(text)
        .expect("metrics parse as Prometheus text");
    let (family, count_of_histogram) = match exposition.families.get(name) {
        Some(f) => (Some(f), false),
        None => (
            name.strip_suffix("_count")
                .and_then(|base| exposition.families.get(base)),
            true,
        ),
    };
    let Some(family) = family else {
        return 0.0;
    };
    family
        .iter_samples()
        .filter(|sample| {
            let set = sample.get_labelset().expect("labels");
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .map(|sample| match &sample.value {
            V::Counter(c) if !count_of_histogram => c.value.as_f64(),
            V::Gauge(n) | V::Unknown(n) if !count_of_histogram => n.as_f64(),
            V::Histogram(h) if count_of_histogram => h.count.unwrap_or(0) as f64,
            _ => 0.0,
        })
        .sum()
}

/// Equal JSON, except that numbers that are not both whole need only agree to 1e-9 relative.
pub fn assert_close(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            if let (Some(a), Some(e)) = (a.as_u64(), e.as_u64()) {
                assert_eq!(a, e, "{path}");
                return;
            }
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            let tolerance = 1e-9 * e.abs().max(1e-3);
            assert!((a - e).abs() <= tolerance, "{path}: got {a}, expected {e}");
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(
                a.len(),
                e.len(),
                "{path}: got {actual}, expected {expected}"
            );
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_close(a, e, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let keys = |m: &serde_json::Map<String, Value>| {
                let mut k: Vec<String> = m.keys().cloned().collect();
                k.sort();
                k
            };
            assert_eq!(keys(a), keys(e), "{path}");
            for (k, e) in e {
                assert_close(&a[k], e, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

/// Runs a property test: `check` on each generated case, on each backend. Fewer cases when
/// PostgreSQL is used too, as every case then builds two databases.
pub fn each_generated_case<S, F, Fut>(strategy: S, check: F)
where
    S: proptest::strategy::Strategy,
    S::Value: Clone,
    F: Fn(TestApp, S::Value) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = if std::env::var("TEST_DATABASE_URL").is_ok() {
        24
    } else {
        48
    };
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        ..Default::default()
    });
    runner
        .run(&strategy, |case| {
            runtime.block_on(each_backend(|app| check(app, case.clone())));
            Ok(())
        })
        .expect("every generated case holds");
}

async fn connect(url: &str) -> DatabaseConnection {
    let db = ticket_gateway::db::connect(url).await.expect("connect");
    ticket_gateway::db::migrate(&db).await.expect("migrate");
    db
}

/// A new, empty, migrated database beside the one `TEST_DATABASE_URL` names.
pub async fn fresh_postgres(admin_url: &str) -> (DatabaseConnection, String) {
    let name = format!("tg_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let _ = admin.close().await;
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    (connect(url.as_str()).await, name)
}

impl TestApp {
    pub fn new(db: DatabaseConnection, backend: &'static str, settings: GraphqlSettings) -> Self {
        Self::with_keys(db, backend, settings, JwtKeys::hs256(SECRET))
    }

    /// The same database behind a router that verifies tokens with `keys`.
    pub fn rekeyed(&self, keys: JwtKeys) -> Self {
        Self::with_keys(
            self.db.clone(),
            self.backend,
            GraphqlSettings::default(),
            keys,
        )
    }

    pub fn with_keys(
        db: DatabaseConnection,
        backend: &'static str,
        settings: GraphqlSettings,
        keys: JwtKeys,
    ) -> Self {
        let config = AppConfig::new(BASE_URL, settings).expect("config");
        Self::with_config(db, backend, config, keys)
    }

    /// A router over the same database with other settings (edge settings included).
    pub fn configured(&self, config: AppConfig) -> Self {
        Self::with_config(self.db.clone(), self.backend, config, self.keys.clone())
    }

    /// A router with these settings over another connection (to the same database).
    pub fn configured_over(&self, db: DatabaseConnection, config: AppConfig) -> Self {
        Self::with_config(db, self.backend, config, self.keys.clone())
    }

    pub fn with_config(
        db: DatabaseConnection,
        backend: &'static str,
        config: AppConfig,
        keys: JwtKeys,
    ) -> Self {
        let state = AppState::new(db.clone(), keys.clone(), config);
        Self::over_state(db, backend, keys, state)
    }

    /// A router over the same database with these settings, whose rate limiter reads the
    /// time from `clock`.
    pub fn clocked(&self, config: AppConfig, clock: std::sync::Arc<dyn Clock>) -> Self {
        let state = AppState::with_clock(self.db.clone(), self.keys.clone(), config, clock);
        Self::over_state(self.db.clone(), self.backend, self.keys.clone(), state)
    }

    fn over_state(
        db: DatabaseConnection,
        backend: &'static str,
        keys: JwtKeys,
        state: AppState,
    ) -> Self {
        Self {
            db,
            router: router(state.clone()),
            keys,
            backend,
            state,
            statements_before: AtomicUsize::new(0),
            clock: AtomicI64::new(0),
        }
    }

    /// SQL statements the router ran since the last reset, as its metrics count them.
    pub fn statements(&self) -> usize {
        self.statements_total() - self.statements_before.load(Ordering::SeqCst)
    }

    pub fn reset_statements(&self) {
        self.statements_before
            .store(self.statements_total(), Ordering::SeqCst);
    }

    fn statements_total(&self) -> usize {
        let text = self.state.metrics.render(&self.state.db, true);
        metric(&text, "ticket_gateway_db_statements_total", &[]) as usize
    }

    pub fn token(&self, access: Access, scope: &str) -> String {
        self.keys
            .mint(&access, scope, Duration::from_secs(600))
            .expect("mint")
    }

    pub fn all_areas(&self) -> String {
        self.token(Access::AllAreas, READ_WRITE)
    }

    pub fn user_token(&self, user: &UserId, scope: &str) -> String {
        self.token(Access::User(user.clone()), scope)
    }

    pub fn org_token(&self, org: &OrgId, scope: &str) -> String {
        self.token(Access::Org(org.clone()), scope)
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        use tower::ServiceExt;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// A server over this app's database on a real listener, with `edge` settings; stopped
    /// when the returned sender is dropped or sent to.
    pub async fn listening(
        &self,
        edge: EdgeSettings,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let config = AppConfig::new(BASE_URL, GraphqlSettings::default())
            .expect("config")
            .with_edge(edge)
            .expect("edge settings");
        self.listening_with(config).await
    }

    /// [`TestApp::listening`] with any settings.
    pub async fn listening_with(
        &self,
        config: AppConfig,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let state = AppState::new(self.db.clone(), self.keys.clone(), config);
        let server =
            ticket_gateway::startup::Application::bind(state, "127.0.0.1:0".parse().expect("addr"))
                .await
                .expect("bind");
        let addr = server.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// A GraphQL POST with an optional token.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header("content-type", "application/json");
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        self.send(
            request
                .body(Body::from(
                    json!({ "query": query, "variables": variables }).to_string(),
                ))
                .expect("request"),
        )
        .await
    }

    /// A distinct, increasing instant per call, so tests that insert rows get a stable order.
    pub fn tick(&self) -> DateTime<Utc> {
        let n = self.clock.fetch_add(1, Ordering::SeqCst);
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(n)
    }

    pub async fn org(&self) -> OrgId {
        let id = OrgId::generate();
        organization::ActiveModel {
            id: Set(id.to_string()),
            name: Set(format!("Org {id}")),
            created_at: Set(self.tick()),
        }
        .insert(&self.db)
        .await
        .expect("insert organization");
        id
    }

    pub async fn user(&self, org: Option<&OrgId>) -> UserId {
        let id = UserId::generate();
        user::ActiveModel {
            id: Set(id.to_string()),
            organization_id: Set(org.map(|o| o.to_string())),
            email: Set(format!("{}@example.com", id.as_str().to_lowercase())),
            full_name: Set(format!("User {id}")),
            joined_at: Set(self.tick()),
        }
        .insert(&self.db)
        .await
        .expect("insert user");
        id
    }

    /// A plain ticket; `edit` adjusts any field before it is inserted.
    pub async fn ticket_with(
        &self,
        user: Option<&UserId>,
        edit: impl FnOnce(&mut support_ticket::ActiveModel),
    ) -> TicketId {
        let created = self.tick();
        let id = TicketId::from_ulid(ulid::Ulid::from_parts(
            created.timestamp_millis() as u64,
            rand_bits(),
        ));
        let mut model = support_ticket::ActiveModel {
            id: Set(id.to_string()),
            user_id: Set(user.map(|u| u.to_string())),
            external_ticket_id: Set(format!("ext-{id}")),
            subject: Set(Some("Charger offline".into())),
            status: Set(Some("Open".into())),
            priority: Set(Some("Medium".into())),
            source: Set(Some("Email".into())),
            human_verified_category: Set(None),
            human_verified_subcategory: Set(None),
            ai_generated_category: Set(None),
            ai_generated_subcategory: Set(None),
            type_deprecated: Set(None),
            tags: Set(json!([])),
            conversation_summary: Set(None),
            custom_fields: Set(json!({})),
            attributes: Set(json!({})),
            created_at: Set(created),
            ticket_updated_at: Set(None),
            resolved_at: Set(None),
            version: Set(1),
        };
        edit(&mut model);
        model.insert(&self.db).await.expect("insert ticket");
        id
    }

    pub async fn ticket(&self, user: Option<&UserId>) -> TicketId {
        self.ticket_with(user, |_| {}).await
    }

    pub async fn message(
        &self,
        ticket: &TicketId,
        position: i32,
        kind: MessageType,
        at: DateTime<Utc>,
    ) -> MessageId {
        let id = MessageId::generate();
        support_ticket_message::ActiveModel {
            id: Set(id.to_string()),
            ticket_id: Set(ticket.to_string()),
            position: Set(position),
            message_type: Set(kind),
            message: Set(format!("message {position}")),
            message_clean: Set(None),
            created_at: Set(at),
        }
        .insert(&self.db)
        .await
        .expect("insert message");
        id
    }
}

fn rand_bits() -> u128 {
    ulid::Ulid::new().random()
}

/// The ids of a GraphQL connection's nodes, in order.
pub fn node_ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `extensions.code` of the first GraphQL error.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

impl TestApp {
    /// A request under `/v2`: optional bearer token, extra headers, optional body.
    pub async fn rest(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(
            request
                .body(body.map(Body::from).unwrap_or_else(Body::empty))
                .expect("request"),
        )
        .await
    }
}

/// The application's own OpenAPI document (`GET /v2/openapi.json`), to validate responses.
pub struct OpenApiDoc {
    pub doc: Value,
}

impl OpenApiDoc {
    pub async fn fetch(app: &TestApp) -> Self {
        let r = app.rest("GET", "/v2/openapi.json", None, &[], None).await;
        assert_eq!(r.status, 200, "openapi.json: {}", r.text);
        Self { doc: r.body }
    }

    /// The documented path template that `path` (below `/v2`) matches; literal segments win.
    pub fn template(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut params = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') {
                    params += 1;
                    !s.is_empty()
                } else {
                    t == s
                }
            });
            if fits && best.as_ref().is_none_or(|(p, _)| params < *p) {
                best = Some((params, template.clone()));
            }
        }
        best.map(|(_, t)| t)
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(r) => self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
            None => value,
        }
    }

    /// Errors of `instance` against `schema`, whose `$ref`s point into this document.
    pub fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let mut root = schema.clone();
        if let Some(object) = root.as_object_mut() {
            object.insert("components".into(), self.doc["components"].clone());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .expect("the document's schemas compile");
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Checks a `/v2` exchange against the document and the conventions every response
    /// keeps: the version header, problem+json errors whose `status` is the HTTP status, and
    /// a body matching the documented schema of that operation and status (or, for paths
    /// and methods that do not exist, the problem schema).
    pub fn check(&self, method: &str, uri: &str, r: &TestResponse) {
        let context = format!("{method} {uri} -> {}: {}", r.status, r.text);
        assert_eq!(r.header("evenergy-version"), Some("2"), "{context}");
        let content_type = r.header("content-type").unwrap_or_default().to_owned();
        let code = r.status.as_u16();
        if code >= 400 {
            assert!(
                content_type.starts_with("application/problem+json"),
                "{context}"
            );
            assert_eq!(r.body["status"], json!(code), "{context}");
            assert!(r.body["title"].is_string(), "{context}");
            assert!(r.body["detail"].is_string(), "{context}");
        }
        let path = uri.split('?').next().unwrap_or(uri);
        let path = path.strip_prefix("/v2").unwrap_or(path);
        if path == "/openapi.json" && code == 200 {
            return;
        }
        let operation = self
            .template(path)
            .map(|t| &self.doc["paths"][t][method.to_lowercase()])
            .filter(|op| op.is_object());
        let schema = match operation {
            Some(op) => {
                let response = &op["responses"][code.to_string()];
                assert!(
                    response.is_object(),
                    "status {code} is not documented for {method} {path}: {context}"
                );
                let response = self.resolve(response);
                let media = content_type.split(';').next().unwrap_or_default().trim();
                let schema = &response["content"][media]["schema"];
                assert!(
                    schema.is_object(),
                    "{media} is not documented for {method} {path} {code}: {context}"
                );
                schema.clone()
            }
            None => {
                assert!(code >= 400, "undocumented success: {context}");
                json!({ "$ref": "#/components/schemas/RFC9457ProblemDetail" })
            }
        };
        let errors = self.errors(&schema, &r.body);
        assert!(errors.is_empty(), "{context}\nschema errors: {errors:#?}");
    }
}

/// Keys as the server has them with no JWT setting: a development secret.
pub fn development_keys() -> JwtKeys {
    JwtKeys::from_settings(
        &ticket_gateway::config::JwtSettings::default(),
        Some("development-secret-of-the-test"),
    )
    .expect("development keys")
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`): checks that
/// a developer's machine may skip for want of a tool or a file are then mandatory.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Tells whoever runs the tests about a check that was skipped. Written to the process's
/// stderr itself, as the test harness captures `eprintln!`.
pub fn notice(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "notice: {message}");
}
