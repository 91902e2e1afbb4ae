//! The binary as a child process (its standard error captured line by line, killed when
//! dropped), a small HTTP/1.1 client that times each exchange, tokens, and a fresh database
//! per backend: a SQLite file, and a new PostgreSQL database beside `TEST_DATABASE_URL`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    TransactionTrait,
};
use serde_json::Value;
use ticket_gateway::auth::{Access, JwtKeys};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

pub const SECRET: &str = "server-test-secret-that-is-long-enough";
const BINARY: &str = env!("CARGO_BIN_EXE_ticket-gateway");

/// How long the binary may take to listen (it migrates and loads demo data first).
const START_PATIENCE: Duration = Duration::from_secs(30);
/// How long one HTTP exchange may take unless a test says otherwise.
const HTTP_PATIENCE: Duration = Duration::from_secs(20);

/// A token for every ticket, read and write, valid ten minutes.
pub fn all_areas_token() -> String {
    JwtKeys::hs256(SECRET)
        .mint(
            &Access::AllAreas,
            "support:read support:write",
            Duration::from_secs(600),
        )
        .expect("mint a token")
}

/// True under CI, where a check that cannot run is a failure rather than a notice.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Tells whoever runs the tests about a check that was skipped. Written to the process's
/// stderr itself, as the test harness captures `eprintln!`.
pub fn notice(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "notice: {message}");
}

/// The binary, serving. Killed if dropped before it exits.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts the binary with exactly `env` (plus `PATH` and `BIND_ADDR=127.0.0.1:0`), and
    /// waits until it logs the address it listens on.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BINARY);
        command.env_clear().env("BIND_ADDR", "127.0.0.1:0");
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("the binary's stderr");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let lines = log.clone();
        let reader = tokio::spawn(async move {
            let mut stderr = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = stderr.next_line().await {
                lines.lock().expect("log buffer").push(line);
            }
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
        };
        let started = Instant::now();
        loop {
            if let Some(addr) = server.lines().iter().find_map(|l| listening_addr(l)) {
                server.addr = addr;
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                server.finish_log().await;
                panic!(
                    "the binary exited ({status}) before listening:\n{}",
                    server.log_text()
                );
            }
            assert!(
                started.elapsed() < START_PATIENCE,
                "the binary did not listen within {START_PATIENCE:?}:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The lines written to standard error so far.
    pub fn lines(&self) -> Vec<String> {
        self.log.lock().expect("log buffer").clone()
    }

    /// Waits up to two seconds for a line that `wanted` accepts, and says whether one came:
    /// the server writes its lines in batches, up to about 50 ms after they are logged.
    pub async fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> bool {
        let started = Instant::now();
        loop {
            if self.lines().iter().any(|l| wanted(l)) {
                return true;
            }
            if started.elapsed() > Duration::from_secs(2) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the server with SIGTERM, checks that it exits 0, and returns every line it
    /// wrote, each checked to be one JSON object (`LOG_FORMAT=json`).
    pub async fn stop_with_json_lines(&mut self) -> Vec<Value> {
        self.sigterm().await;
        let status = self
            .wait_exit(Duration::from_secs(10))
            .await
            .expect("the server exits after SIGTERM");
        assert_eq!(status.code(), Some(0), "{status}");
        self.lines()
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let record: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
                assert!(
                    record.is_object(),
                    "a log line that is not an object: {line}"
                );
                record
            })
            .collect()
    }

    /// The id of one ticket `token` sees.
    pub async fn one_ticket(&self, token: &str) -> String {
        let list = self
            .get("/v2/support_tickets?page_size=1", Some(token))
            .await;
        assert_eq!(list.status, 200, "{}", list.text);
        ticket_ids(&list).remove(0)
    }

    pub fn log_text(&self) -> String {
        self.lines().join("\n")
    }

    /// The JSON log lines whose `target` is `target`.
    pub fn json_lines_of(&self, target: &str) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == target)
            .collect()
    }

    /// Sends SIGTERM, as an orchestrator stopping the server does.
    pub async fn sigterm(&self) {
        let pid = self.child.id().expect("the binary is still running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid} failed: {status}");
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("the child's status")
    }

    /// Waits up to `limit` for the process to exit; then reads the rest of its log.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|s| s.expect("the child's status"));
        if status.is_some() {
            self.finish_log().await;
        }
        status
    }

    /// Waits for the log reader to reach the end of standard error (the process exited).
    async fn finish_log(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("GET", path, token, &[], None).await
    }

    /// One exchange on a connection of its own; panics when it fails at the HTTP level.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        exchange(self.addr, method, path, token, headers, body, HTTP_PATIENCE)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\nserver log:\n{}", self.log_text()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}

/// The address in a `listening on http://ADDR` line, text or JSON.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A response, and how long it took from connecting to its last byte.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The body parsed as JSON; `Null` when it is not JSON.
    pub body: Value,
    /// Length of the body as sent (after any transfer decoding).
    pub body_len: usize,
    pub latency: Duration,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_problem_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("application/problem+json"))
    }
}

/// One HTTP/1.1 exchange with `Connection: close`, within `limit`.
pub async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
    limit: Duration,
) -> Result<Reply, String> {
    let started = Instant::now();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || matches!(method, "POST" | "PATCH" | "PUT") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let raw = tokio::time::timeout(limit, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("cannot read: {e}"))?;
        Ok::<_, String>(raw)
    })
    .await
    .map_err(|_| format!("no complete response within {limit:?}"))??;
    let latency = started.elapsed();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete head in {} bytes", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut head_lines = head.split("\r\n");
    let status = head_lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let headers: Vec<(String, String)> = head_lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let rest = &raw[split + 4..];
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&body).into_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body_len: body.len(),
        latency,
    })
}

/// The body of a chunked transfer.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || rest.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[(end + 4 + size).min(rest.len())..];
    }
    out
}

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh database for one run of a test: its kind and the `DATABASE_URL` to give the
/// binary (which migrates it and loads the demo tickets).
#[derive(Debug, Clone)]
pub struct Db {
    pub kind: Kind,
    pub url: String,
}

/// Runs `test` on a fresh SQLite file, then on a fresh PostgreSQL database when
/// `TEST_DATABASE_URL` is set; cleans up after each, and fails with every run's failure.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failures = Vec::new();
    {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path: PathBuf = dir.path().join("gateway.db");
        let db = Db {
            kind: Kind::Sqlite,
            url: format!("sqlite://{}?mode=rwc", path.display()),
        };
        if let Err(e) = tokio::spawn(test(db)).await {
            failures.push(format!("on SQLite: {}", panic_text(e)));
        }
    }
    if let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("tg_test_{}", ulid::Ulid::new().to_string().to_lowercase());
        let admin = Database::connect(admin_url.as_str())
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create a database");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let db = Db {
            kind: Kind::Postgres,
            url: url.to_string(),
        };
        if let Err(e) = tokio::spawn(test(db)).await {
            failures.push(format!("on PostgreSQL: {}", panic_text(e)));
        }
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic".into()),
        Err(e) => e.to_string(),
    }
}

/// The ids of the tickets of a REST list (a bare array, or `results` when paged).
pub fn ticket_ids(list: &Reply) -> Vec<String> {
    let items = match &list.body {
        Value::Array(items) => items.clone(),
        other => other["results"].as_array().cloned().unwrap_or_default(),
    };
    let ids: Vec<String> = items
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !ids.is_empty(),
        "the ticket list has tickets: {} {}",
        list.status,
        list.text
    );
    ids
}

/// A lock the test holds on one ticket, so that a PATCH of it waits.
pub enum Lock {
    /// A transaction holding `SELECT … FOR UPDATE` on the ticket's row.
    Postgres(DatabaseConnection, DatabaseTransaction),
    /// A connection holding SQLite's write lock (`BEGIN IMMEDIATE`).
    Sqlite(DatabaseConnection),
}

impl Lock {
    pub async fn take(db: &Db, ticket: &str) -> Self {
        match db.kind {
            Kind::Postgres => {
                let conn = Database::connect(db.url.as_str())
                    .await
                    .expect("connect to the server's database");
                let txn = conn.begin().await.expect("begin");
                txn.execute_unprepared(&format!(
                    "SELECT id FROM support_ticket WHERE id = '{ticket}' FOR UPDATE"
                ))
                .await
                .expect("lock the ticket's row");
                Self::Postgres(conn, txn)
            }
            Kind::Sqlite => {
                let mut options = ConnectOptions::new(db.url.clone());
                options
                    .max_connections(1)
                    .min_connections(1)
                    .sqlx_logging(false);
                let conn = Database::connect(options)
                    .await
                    .expect("open the server's SQLite file");
                conn.execute_unprepared("BEGIN IMMEDIATE")
                    .await
                    .expect("take the write lock");
                Self::Sqlite(conn)
            }
        }
    }

    pub async fn release(self) {
        match self {
            Self::Postgres(conn, txn) => {
                txn.commit().await.expect("commit");
                let _ = conn.close().await;
            }
            Self::Sqlite(conn) => {
                conn.execute_unprepared("COMMIT").await.expect("commit");
                let _ = conn.close().await;
            }
        }
    }
}
