//! A real browser for tests: headless Chromium in a fresh profile, driven over WebDriver by
//! chromedriver, through a small client of the WebDriver JSON protocol (HTTP/1.1 on
//! loopback), and the application on a loopback port for it to visit. Chromium and its driver
//! are installed with apt when missing; when that fails the test is skipped with a notice,
//! unless it runs under CI.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use ticket_gateway::auth::JwtKeys;
use ticket_gateway::config::{AppConfig, GraphqlSettings};
use ticket_gateway::startup::{AppState, Application};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

use crate::helpers::{TestApp, BASE_URL};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What WebDriver calls an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`Browser::wait_until`] waits.
const PATIENCE: Duration = Duration::from_secs(30);

/// One Chromium session. Ends with [`Browser::quit`]; dropped unended, it still closes the
/// browser and stops the driver.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
pub struct Element(String);

/// The application over `app`'s database on a loopback port, verifying tokens with `keys`.
/// It serves until the test's runtime ends.
pub async fn serve(app: &TestApp, keys: JwtKeys) -> SocketAddr {
    let config = AppConfig::new(BASE_URL, GraphqlSettings::default()).expect("config");
    let state = AppState::new(app.db.clone(), keys, config);
    let server = Application::bind(state, ([127, 0, 0, 1], 0).into())
        .await
        .expect("a loopback port");
    let addr = server.local_addr().expect("the bound address");
    tokio::spawn(server.run_until_stopped());
    addr
}

/// Installs Chromium and chromedriver once per test run; the error says why it could not.
async fn installed() -> Result<(), String> {
    static INSTALLED: OnceCell<Result<(), String>> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
                return Ok(());
            }
            crate::helpers::notice("installing chromium and chromium-driver with apt-get");
            let install = || async {
                Command::new("apt-get")
                    .args([
                        "install",
                        "-y",
                        "-q",
                        "--no-install-recommends",
                        "chromium",
                        "chromium-driver",
                    ])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .stdin(Stdio::null())
                    .output()
                    .await
            };
            let mut output = install()
                .await
                .map_err(|e| format!("apt-get cannot run: {e}"))?;
            if !output.status.success() {
                // Package lists may be missing or stale: refresh them once and try again.
                let _ = Command::new("apt-get")
                    .args(["update", "-q"])
                    .stdin(Stdio::null())
                    .output()
                    .await;
                output = install()
                    .await
                    .map_err(|e| format!("apt-get cannot run: {e}"))?;
            }
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                Err(format!(
                    "apt-get install chromium chromium-driver failed: {}",
                    tail.join(" / ")
                ))
            } else if !Path::new(CHROMEDRIVER).exists() {
                Err(format!(
                    "{CHROMEDRIVER} is missing after installing chromium-driver"
                ))
            } else {
                Ok(())
            }
        })
        .await
        .clone()
}

impl Browser {
    /// A headless Chromium with an empty profile and a 1280 × 800 window, or `None` (after
    /// a notice) when Chromium cannot be installed. Under CI it must be there.
    pub async fn start() -> Option<Self> {
        if let Err(why) = installed().await {
            assert!(
                !crate::helpers::in_ci(),
                "a browser test needs Chromium under CI: {why}"
            );
            crate::helpers::notice(&format!("browser test skipped: {why}"));
            return None;
        }
        // A driver that dies while starting (a port taken in between, Chromium failing to
        // launch on a loaded machine) is replaced, up to three times.
        let mut attempt = 1;
        loop {
            match Self::launch().await {
                Ok(browser) => return Some(browser),
                Err(why) if attempt < 3 => {
                    crate::helpers::notice(&format!(
                        "chromedriver failed to start ({why}); retrying"
                    ));
                    attempt += 1;
                }
                Err(why) => panic!("chromedriver failed to start three times: {why}"),
            }
        }
    }

    /// One chromedriver and its session.
    async fn launch() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("chromedriver does not start: {e}"))?;
        let profile = tempfile::tempdir().map_err(|e| format!("no profile directory: {e}"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect(addr).await.is_err() {
            if started.elapsed() > PATIENCE {
                return Err(format!("chromedriver did not listen on {addr}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        } } });
        let (status, text) = http(addr, "POST", "/session", &capabilities.to_string())
            .await
            .map_err(|e| format!("POST /session: {e}"))?;
        let created: Value =
            serde_json::from_str(&text).map_err(|_| format!("POST /session: {status} {text}"))?;
        let session = created["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("POST /session: {status} {created}"))?
            .to_owned();
        Ok(Self {
            driver,
            addr,
            session,
            _profile: profile,
        })
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, text) = http(self.addr, method, path, &body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("WebDriver {method} {path}: {status} {text}"));
        assert!(status < 400, "WebDriver {method} {path}: {status} {reply}");
        reply["value"].clone()
    }

    async fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body).await
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page. A promise it
    /// returns is awaited.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Polls `script` until it returns something truthy, and returns that; panics naming
    /// `what` after 30 s.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.execute(script, json!([])).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            assert!(started.elapsed() < PATIENCE, "waited 30 s for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element `css` selects, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .session_call(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[0][ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    /// Clicks `element` as a user would (it must be visible and not covered).
    pub async fn click(&self, element: &Element) {
        self.session_call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Everything the page's origin keeps in the browser, one entry a line: every key and
    /// value of localStorage and sessionStorage, every IndexedDB database with the records of
    /// its stores, every Cache Storage entry, and every cookie (HttpOnly ones included).
    pub async fn stored(&self) -> String {
        let in_page = self
            .execute(
                r#"return (async () => {
                    const out = [];
                    for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
                        for (let i = 0; i < store.length; i++) {
                            const key = store.key(i);
                            out.push(`${name} ${key} = ${store.getItem(key)}`);
                        }
                    }
                    const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
                    for (const { name } of await indexedDB.databases()) {
                        out.push(`indexedDB ${name}`);
                        const db = await request(indexedDB.open(name));
                        for (const store of db.objectStoreNames) {
                            const records = await request(db.transaction(store).objectStore(store).getAll());
                            out.push(`indexedDB ${name}/${store} = ${JSON.stringify(records)}`);
                        }
                        db.close();
                    }
                    for (const name of await caches.keys()) {
                        for (const r of await (await caches.open(name)).keys()) {
                            out.push(`cache ${name} ${r.url} ${JSON.stringify([...r.headers])}`);
                        }
                    }
                    return out.join('\n');
                })();"#,
                json!([]),
            )
            .await;
        let cookies = self.session_call("GET", "/cookie", None).await;
        format!(
            "{}\ncookies {cookies}",
            in_page.as_str().unwrap_or_default()
        )
    }

    /// The browser console's errors (failed loads included) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .session_call("POST", "/se/log", Some(json!({ "type": "browser" })))
            .await;
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == json!("SEVERE"))
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Closes the browser and stops the driver.
    pub async fn quit(mut self) {
        let session = std::mem::take(&mut self.session);
        let _ = http(self.addr, "DELETE", &format!("/session/{session}"), "").await;
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// After a failed assertion: end the session, which closes Chromium, so that no browser
    /// outlives the test (killing the driver alone would leave it running).
    fn drop(&mut self) {
        if self.session.is_empty() {
            return;
        }
        use std::io::{Read, Write};
        if let Ok(mut stream) =
            std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session, self.addr
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read(&mut [0; 512]);
            }
        }
    }
}

/// One HTTP/1.1 exchange with the driver: the status and the body. chromedriver keeps
/// connections open whatever the request says, so the body ends where its length says.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut buf = [0; 16 * 1024];
    let complete = |raw: &[u8]| -> Option<(String, Vec<u8>)> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = &raw[split + 4..];
        let length = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|n| n.trim().parse::<usize>().ok())
        });
        let chunked = head
            .lines()
            .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
        let body = match length {
            Some(n) if body.len() >= n => body[..n].to_vec(),
            None if chunked && body.ends_with(b"0\r\n\r\n") => dechunk(body),
            _ => return None,
        };
        Some((head, body))
    };
    let (head, body) = loop {
        if let Some(done) = complete(&raw) {
            break done;
        }
        let n = tokio::time::timeout(PATIENCE * 2, stream.read(&mut buf))
            .await
            .map_err(|_| "the driver did not answer within a minute".to_owned())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the driver closed the connection mid-response".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The body of a chunked transfer.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let after = &rest[end + 2..];
        match size {
            Some(size) if size > 0 && after.len() >= size => {
                out.extend_from_slice(&after[..size]);
                rest = after[size..]
                    .strip_prefix(b"\r\n")
                    .unwrap_or(&after[size..]);
            }
            _ => break,
        }
    }
    out
}
