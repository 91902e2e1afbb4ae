//! The ground everything stands on: migrations, seeding, the binary's defaults and its
//! refusal of bad settings.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{each_backend, fresh_postgres};

const BIN: &str = env!("CARGO_BIN_EXE_ticket-gateway");

#[tokio::test]
async fn migrations_create_every_table_on_each_backend() {
    each_backend(|app| async move {
        for table in [
            "organization",
            "user",
            "support_ticket",
            "support_ticket_message",
            "categorization_change",
            "gateway_setting",
        ] {
            let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\"");
            let row = app
                .db
                .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
                .await
                .unwrap_or_else(|e| panic!("{}: {table}: {e}", app.backend));
            assert!(row.is_some(), "{}: {table}", app.backend);
        }
    })
    .await;
}

/// Every row of every seeded table, in id order, as text.
async fn dump(db: &DatabaseConnection) -> Vec<String> {
    let mut out = Vec::new();
    for (table, columns) in [
        ("organization", "id, name, created_at"),
        ("user", "id, organization_id, email, full_name, joined_at"),
        (
            "support_ticket",
            "id, user_id, external_ticket_id, subject, status, priority, source, human_verified_category, \
             human_verified_subcategory, ai_generated_category, ai_generated_subcategory, type_deprecated, tags, \
             conversation_summary, custom_fields, attributes, created_at, ticket_updated_at, resolved_at",
        ),
        ("support_ticket_message", "id, ticket_id, position, message_type, message, message_clean, created_at"),
    ] {
        let sql = format!("SELECT {columns} FROM \"{table}\" ORDER BY id");
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("dump");
        for row in rows {
            out.push(format!("{table}: {row:?}"));
        }
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows_and_another_seed_does_not() {
    let mut urls = vec!["sqlite::memory:".to_owned()];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        urls.push(url);
    }
    for url in urls {
        let fresh = || async {
            if url.starts_with("sqlite") {
                let db = ticket_gateway::db::connect(&url).await.expect("connect");
                ticket_gateway::db::migrate(&db).await.expect("migrate");
                db
            } else {
                fresh_postgres(&url).await.0
            }
        };
        let (a, b, c) = (fresh().await, fresh().await, fresh().await);
        let summary = ticket_gateway::seed::seed(&a, 120, 7, |_, _| {})
            .await
            .expect("seed a");
        ticket_gateway::seed::seed(&b, 120, 7, |_, _| {})
            .await
            .expect("seed b");
        ticket_gateway::seed::seed(&c, 120, 8, |_, _| {})
            .await
            .expect("seed c");
        assert_eq!(summary.tickets, 120);
        assert!(summary.messages >= 120 && summary.messages <= 1200);
        let (da, db_, dc) = (dump(&a).await, dump(&b).await, dump(&c).await);
        assert_eq!(
            da.len(),
            summary.organizations + summary.users + summary.tickets + summary.messages
        );
        assert_eq!(da, db_, "same seed, same rows ({url})");
        assert_ne!(da, dc, "another seed, other rows ({url})");
        // Seeding the same data twice is refused with a clear message, not a constraint error.
        let again = ticket_gateway::seed::seed(&a, 120, 7, |_, _| {}).await;
        assert!(again.is_err_and(|e| e.contains("already holds")));
    }
}

#[tokio::test]
async fn seeded_data_has_a_realistic_spread() {
    let db = ticket_gateway::db::connect("sqlite::memory:")
        .await
        .expect("connect");
    ticket_gateway::db::migrate(&db).await.expect("migrate");
    ticket_gateway::seed::seed(&db, 2000, 1, |_, _| {})
        .await
        .expect("seed");
    let one = |sql: &str| {
        let db = db.clone();
        let sql = sql.to_owned();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    let no_user = one("SELECT COUNT(*) FROM support_ticket WHERE user_id IS NULL").await;
    let human =
        one("SELECT COUNT(*) FROM support_ticket WHERE human_verified_category IS NOT NULL").await;
    let ai =
        one("SELECT COUNT(*) FROM support_ticket WHERE ai_generated_category IS NOT NULL").await;
    let resolved = one("SELECT COUNT(*) FROM support_ticket WHERE resolved_at IS NOT NULL").await;
    let statuses = one("SELECT COUNT(DISTINCT status) FROM support_ticket").await;
    let bad_positions = one(
        "SELECT COUNT(*) FROM (SELECT ticket_id, MIN(position) AS lo, MAX(position) AS hi, COUNT(*) AS n \
         FROM support_ticket_message GROUP BY ticket_id) t WHERE lo <> 0 OR hi <> n - 1 OR n > 10",
    )
    .await;
    let first_not_initial =
        one("SELECT COUNT(*) FROM support_ticket_message WHERE position = 0 AND message_type <> 'INITIAL_REQUEST'").await;
    assert!(
        (40..=200).contains(&no_user),
        "tickets without a user: {no_user}"
    );
    assert!((800..=1500).contains(&human), "human-verified: {human}");
    assert!((1400..=1900).contains(&ai), "ai-generated: {ai}");
    assert!((1100..=1700).contains(&resolved), "resolved: {resolved}");
    assert_eq!(statuses, 4);
    assert_eq!(
        bad_positions, 0,
        "positions run 0..n-1 with at most 10 messages"
    );
    assert_eq!(first_not_initial, 0);
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run binary")
}

fn assert_one_clear_line(output: &std::process::Output, names: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {stderr}");
    assert!(stderr.contains(names), "should name {names}: {stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert_eq!(
        stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn bad_settings_stop_the_binary_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_one_clear_line(
        &run(
            dir.path(),
            &["migrate"],
            &[("DATABASE_URL", "mysql://nope")],
        ),
        "DATABASE_URL",
    );
    assert_one_clear_line(
        &run(
            dir.path(),
            &["migrate"],
            &[("DATABASE_URL", "postgres://[::1")],
        ),
        "DATABASE_URL",
    );
    assert_one_clear_line(
        &run(
            dir.path(),
            &["migrate"],
            &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")],
        ),
        "DATABASE_URL",
    );
    assert_one_clear_line(
        &run(
            dir.path(),
            &["token", "--all-areas"],
            &[("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")],
        ),
        "JWT_PUBLIC_KEY_FILE",
    );
    assert_one_clear_line(
        &run(
            dir.path(),
            &["token", "--all-areas"],
            &[("JWT_SECRET", "short")],
        ),
        "JWT_SECRET",
    );
    assert_one_clear_line(
        &run(
            dir.path(),
            &["serve"],
            &[
                ("JWT_SECRET", "long-enough-secret-123"),
                ("BIND_ADDR", "nonsense"),
            ],
        ),
        "BIND_ADDR",
    );
}

#[test]
fn token_prints_the_token_alone_and_schema_prints_the_sdl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        &["token", "--all-areas", "--ttl", "5m"],
        &[("JWT_SECRET", "long-enough-secret-123")],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim().split('.').count(), 3, "a JWT alone: {stdout}");
    assert_eq!(stdout.lines().count(), 1);
    let schema = run(dir.path(), &["schema"], &[]);
    assert!(String::from_utf8_lossy(&schema.stdout).contains("type Query"));
}

async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to server");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn serve_with_no_configuration_creates_a_database_loads_demo_data_and_prints_working_tokens()
{
    let dir = tempfile::tempdir().expect("tempdir");
    // Every default but the port, so the test cannot collide with anything on 8080.
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut addr, mut tokens) = (None, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokens.len() < 3 && Instant::now() < deadline {
        let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
        else {
            break;
        };
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
        }
        if line.contains("demo token") {
            tokens.push(line.rsplit(' ').next().unwrap_or_default().to_owned());
        }
        assert!(!line.contains("GraphiQL") || line.contains("/graphql"));
    }
    let addr = addr.expect("serve logs its address");
    assert_eq!(tokens.len(), 3, "one token per kind of access");
    assert!(
        dir.path().join("ticket-gateway.db").exists(),
        "the SQLite file is created in the working directory"
    );

    let (status, _) = http(&addr, "GET", "/healthz", None, "").await;
    assert_eq!(status, 200);
    let query = r#"{"query":"{ viewer { access } tickets(first: 1) { totalCount } }"}"#;
    for token in &tokens {
        let (status, body) = http(&addr, "POST", "/graphql", Some(token), query).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("totalCount"), "{body}");
    }
    let (_, body) = http(&addr, "POST", "/graphql", Some(&tokens[2]), query).await;
    assert!(
        body.contains("\"totalCount\":300"),
        "all-areas sees all demo tickets: {body}"
    );

    // `token` shares the development secret of the same database.
    let out = run(dir.path(), &["token", "--all-areas"], &[]);
    let minted = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (status, body) = http(&addr, "POST", "/graphql", Some(&minted), query).await;
    assert_eq!(status, 200, "{body}");
    child.kill().await.ok();
}
