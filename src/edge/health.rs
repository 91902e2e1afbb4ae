//! Whether the server should be sent traffic: the database answering (watched all the
//! time on PostgreSQL, so an outage is known within a second and requests fail fast
//! instead of waiting on the pool), and whether the server is draining before it stops.
//!
//! The watcher keeps a connection of its own, outside the pool: a pool busy with slow
//! statements is not an outage, and a refused connection must fail at once, where the
//! pool would retry it until its acquire timeout.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::Connection;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;

/// How often the database is pinged while the server runs.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one ping may take before the connection counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long opening the watcher's connection may take (TLS and SCRAM to a remote server
/// included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// The database's state as the watcher last saw it, and whether the server drains.
pub struct Health {
    db: DatabaseConnection,
    up: watch::Sender<bool>,
    draining: AtomicBool,
    /// Whether the watcher runs (PostgreSQL while serving).
    watched: AtomicBool,
    /// The schema as the last readiness check saw it.
    schema_seen: AtomicU8,
}

/// Why the server is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    Draining,
    DatabaseDown,
    SchemaBehind,
}

impl NotReady {
    /// The reason, as `/readyz` gives it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Draining => "The server is shutting down.",
            Self::DatabaseDown => "The database does not answer.",
            Self::SchemaBehind => "The database schema is not at the latest migration.",
        }
    }
}

impl Health {
    /// Up and serving until told otherwise.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            up: watch::Sender::new(true),
            draining: AtomicBool::new(false),
            watched: AtomicBool::new(false),
            schema_seen: AtomicU8::new(SCHEMA_UNKNOWN),
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

    /// From now on `/readyz` answers 503.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether a shutdown has started.
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
        self.watched.store(true, Ordering::Relaxed);
        let health = self.clone();
        Some(tokio::spawn(async move {
            let mut probe: Option<PgConnection> = None;
            loop {
                let up = answers(&mut probe, &options).await;
                // Only a change wakes the requests waiting on it.
                let changed = health.up.send_if_modified(|state| {
                    let changed = *state != up;
                    *state = up;
                    changed
                });
                if changed {
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
        // Read-only: the probe needs no right to create tables.
        let checked = self
            .while_up(Migrator::get_pending_migrations_read_only(&self.db))
            .await;
        let schema_current = match checked {
            Checked::Done(Ok(pending)) => pending.is_empty(),
            // Migrations this build does not know: a newer build migrated the database
            // during a rolling deploy. Schema changes are additive, so this one still serves.
            Checked::Done(Err(sea_orm::DbErr::Custom(_))) => true,
            Checked::Done(Err(_)) | Checked::Down => return Err(NotReady::DatabaseDown),
            // A pool busy with slow statements while the watcher sees the database answer:
            // ready as the schema was last seen, not taken out of rotation for being busy.
            Checked::Slow => match self.schema_seen.load(Ordering::Relaxed) {
                SCHEMA_CURRENT if self.watched.load(Ordering::Relaxed) => true,
                SCHEMA_BEHIND => false,
                _ => return Err(NotReady::DatabaseDown),
            },
        };
        let seen = if schema_current {
            SCHEMA_CURRENT
        } else {
            SCHEMA_BEHIND
        };
        self.schema_seen.store(seen, Ordering::Relaxed);
        if schema_current {
            Ok(())
        } else {
            Err(NotReady::SchemaBehind)
        }
    }

    /// The database answers within a second (what `/healthz` reports).
    pub async fn database_answers(&self) -> bool {
        matches!(self.while_up(self.db.ping()).await, Checked::Done(Ok(())))
    }

    /// `work`'s result, unless the database is (or goes) down first or it takes longer
    /// than a second.
    async fn while_up<T>(&self, work: impl std::future::Future<Output = T>) -> Checked<T> {
        if !self.database_up() {
            return Checked::Down;
        }
        tokio::select! {
            done = tokio::time::timeout(READY_TIMEOUT, work) => match done {
                Ok(value) => Checked::Done(value),
                Err(_) => Checked::Slow,
            },
            () = self.database_down() => Checked::Down,
        }
    }
}

/// What became of work done against the database for a probe.
enum Checked<T> {
    Done(T),
    Down,
    Slow,
}

const SCHEMA_UNKNOWN: u8 = 0;
const SCHEMA_CURRENT: u8 = 1;
const SCHEMA_BEHIND: u8 = 2;

/// Whether the database answers a ping on the watcher's own connection. When the
/// connection fails (or there is none), one fresh connection is tried at once before the
/// database counts as down: a session ended by the server or one slow ping is no outage,
/// while a refused connection says so at once.
async fn answers(probe: &mut Option<PgConnection>, options: &PgConnectOptions) -> bool {
    if let Some(connection) = probe.as_mut() {
        if matches!(
            tokio::time::timeout(PROBE_TIMEOUT, connection.ping()).await,
            Ok(Ok(()))
        ) {
            return true;
        }
        *probe = None;
    }
    let Ok(Ok(mut connection)) =
        tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await
    else {
        return false;
    };
    let answered = matches!(
        tokio::time::timeout(PROBE_TIMEOUT, connection.ping()).await,
        Ok(Ok(()))
    );
    if answered {
        *probe = Some(connection);
    }
    answered
}
