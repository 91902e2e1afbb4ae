//! A PostgreSQL cluster of the test's own, to stop and start under a running server: made
//! with `initdb` in a fresh directory and run with `pg_ctl`, both as the `postgres` OS user
//! (the tests run as root), listening on 127.0.0.1 only, on a free port below the
//! ephemeral range, with its socket in its own directory. Stopped and removed when dropped.
//! The machine's own PostgreSQL is never touched.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";
const OS_USER: &str = "postgres";

pub struct Cluster {
    dir: tempfile::TempDir,
    data: PathBuf,
    pub port: u16,
    running: bool,
}

impl Cluster {
    /// Whether a cluster can be made here; the error says why not.
    pub async fn can_run() -> Result<(), String> {
        for tool in ["initdb", "pg_ctl"] {
            if !Path::new(BIN).join(tool).exists() {
                return Err(format!("{BIN}/{tool} is missing"));
            }
        }
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .await
            .map_err(|e| format!("`id -u` cannot run: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("initdb must run as the postgres OS user, which needs root".into());
        }
        let user = Command::new("id")
            .arg(OS_USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map_err(|e| format!("`id {OS_USER}` cannot run: {e}"))?;
        if !user.success() {
            return Err(format!("there is no `{OS_USER}` OS user"));
        }
        Ok(())
    }

    /// A new cluster, initialized and started.
    pub async fn start() -> Result<Self, String> {
        let dir = postgres_dir("tg-pg-").await?;
        let data = dir.path().join("data");
        let mut cluster = Self {
            data,
            port: free_port()?,
            running: false,
            dir,
        };
        run(
            cluster
                .as_postgres("initdb")
                .arg("-D")
                .arg(&cluster.data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
                .args(["--locale=C", "--no-sync"]),
            "initdb",
        )
        .await?;
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n",
            cluster.port,
            cluster.dir.path().display()
        );
        let conf = cluster.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| format!("{conf:?}: {e}"))?;
        text.push_str(&settings);
        std::fs::write(&conf, text).map_err(|e| format!("{conf:?}: {e}"))?;
        cluster.start_again().await?;
        Ok(cluster)
    }

    /// A streaming replica of this cluster (`pg_basebackup -R`), started, on a port of its own.
    pub async fn replica(&self) -> Result<Self, String> {
        let dir = postgres_dir("tg-pg-replica-").await?;
        let mut replica = Self {
            data: dir.path().join("data"),
            port: free_port()?,
            running: false,
            dir,
        };
        run(
            replica
                .as_postgres("pg_basebackup")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .arg("-D")
                .arg(&replica.data)
                .args(["-R", "-X", "stream", "--no-sync", "--checkpoint=fast"]),
            "pg_basebackup",
        )
        .await?;
        // The copied settings name the primary's port and socket; the last line wins.
        let settings = format!(
            "\nport = {}\nunix_socket_directories = '{}'\nhot_standby = on\n",
            replica.port,
            replica.dir.path().display()
        );
        let conf = replica.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| format!("{conf:?}: {e}"))?;
        text.push_str(&settings);
        std::fs::write(&conf, text).map_err(|e| format!("{conf:?}: {e}"))?;
        replica.start_again().await?;
        Ok(replica)
    }

    /// `postgres://postgres@127.0.0.1:PORT/{database}`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `pg_ctl start`, returning once it accepts connections.
    pub async fn start_again(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("postgres.log");
        run(
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "start"]),
            "pg_ctl start",
        )
        .await
        .map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\n{log}")
        })?;
        self.running = true;
        Ok(())
    }

    /// `pg_ctl stop -m fast`, returning once the server is gone.
    pub async fn stop_fast(&mut self) -> Result<(), String> {
        run(
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "-t", "30", "stop"]),
            "pg_ctl stop",
        )
        .await?;
        self.running = false;
        Ok(())
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", OS_USER, "--"])
            .arg(Path::new(BIN).join(tool))
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = std::process::Command::new("runuser")
                .args(["-u", OS_USER, "--"])
                .arg(Path::new(BIN).join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // The TempDir removes the directory and everything in it.
    }
}

/// A new directory under /var/tmp owned by the postgres OS user, removed when dropped.
async fn postgres_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/var/tmp")
        .map_err(|e| format!("cannot make a directory: {e}"))?;
    run(
        Command::new("chown")
            .arg(format!("{OS_USER}:{OS_USER}"))
            .arg(dir.path()),
        "chown",
    )
    .await?;
    Ok(dir)
}

async fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .await
        .map_err(|e| format!("{what} cannot run: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A port below 32768 (under Linux's ephemeral range, so no outgoing connection takes it
/// meanwhile) that nothing listens on now.
fn free_port() -> Result<u16, String> {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos()
        ^ std::process::id();
    for _ in 0..200 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let port = 20_000 + (seed >> 8) as u16 % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port below 32768".into())
}
