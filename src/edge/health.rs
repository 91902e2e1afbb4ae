//! Whether the server should be sent traffic: the database answering (watched all the
//! time on PostgreSQL, so an outage is known within a second and requests fail fast
//! instead of waiting on the pool), and whether the server is draining before it stops.
//!
//! The watcher keeps a connection of its own, outside the pool: a pool busy with slow
//! statements is not an outage, and a refused connection must fail at once, where the
//! pool would retry it until its acquire timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::Connection;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;

/// How often the database is pinged while the server runs.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one ping may take before the database counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Health {
    db: DatabaseConnection,
    up: watch::Sender<bool>,
    draining: AtomicBool,
}

/// Why the server is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    Draining,
    DatabaseDown,
    SchemaBehind,
}

impl NotReady {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Draining => "The server is shutting down.",
            Self::DatabaseDown => "The database does not answer.",
            Self::SchemaBehind => "The database schema is not at the latest migration.",
        }
    }
}

impl Health {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            up: watch::Sender::new(true),
            draining: AtomicBool::new(false),
        }
    }

    /// False from the moment the watcher sees the database fail until it answers again.
    pub fn database_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Resolves when the database is seen down (at once if it is down now).
    pub async fn database_down(&self) {
        let mut rx = self.up.subscribe();
        let _ = rx.wait_for(|up| !*up).await;
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Watches the database until the returned task is aborted. SQLite is a file in the
    /// process: there is no server to lose, so nothing is watched.
    pub fn watch_database(self: &std::sync::Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let options = self.db.get_postgres_connection_pool().connect_options();
        let health = self.clone();
        Some(tokio::spawn(async move {
            let mut probe: Option<PgConnection> = None;
            loop {
                let up = answers(&mut probe, &options).await;
                let was = health.up.send_replace(up);
                if was != up {
                    if up {
                        tracing::info!("the database answers again");
                    } else {
                        tracing::warn!(
                            "the database does not answer: requests get 503 until it does"
                        );
                    }
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        }))
    }

    /// Ready: not draining, the database answers within a second, and its schema is at the
    /// latest migration.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        let pending = self
            .while_up(async {
                self.db.ping().await?;
                Migrator::get_pending_migrations(&self.db).await
            })
            .await;
        match pending {
            Some(Ok(pending)) if pending.is_empty() => Ok(()),
            Some(Ok(_)) => Err(NotReady::SchemaBehind),
            Some(Err(_)) | None => Err(NotReady::DatabaseDown),
        }
    }

    /// The database answers within a second (what `/healthz` reports).
    pub async fn database_answers(&self) -> bool {
        matches!(self.while_up(self.db.ping()).await, Some(Ok(())))
    }

    /// `work`'s result, or `None` when it takes longer than a second or the database is
    /// (or goes) down first.
    async fn while_up<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        if !self.database_up() {
            return None;
        }
        tokio::select! {
            done = tokio::time::timeout(READY_TIMEOUT, work) => done.ok(),
            () = self.database_down() => None,
        }
    }
}

/// Whether the database answers a ping on the watcher's own connection, opening it first
/// when there is none; a connection that fails is dropped and opened anew next time.
async fn answers(probe: &mut Option<PgConnection>, options: &PgConnectOptions) -> bool {
    if probe.is_none() {
        match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
            Ok(Ok(connection)) => *probe = Some(connection),
            _ => return false,
        }
    }
    let Some(connection) = probe.as_mut() else {
        return false;
    };
    let pinged = tokio::time::timeout(PROBE_TIMEOUT, connection.ping()).await;
    if matches!(pinged, Ok(Ok(()))) {
        return true;
    }
    *probe = None;
    false
}
