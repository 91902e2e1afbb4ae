//! Whether the server should be sent traffic: the database answering (watched all the
//! time on PostgreSQL, so an outage is known within a second and requests fail fast
//! instead of waiting on the pool), and whether the server is draining before it stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
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
        let health = self.clone();
        Some(tokio::spawn(async move {
            loop {
                let up = matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, health.db.ping()).await,
                    Ok(Ok(()))
                );
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
        if !self.database_up() {
            return Err(NotReady::DatabaseDown);
        }
        let pending = tokio::time::timeout(READY_TIMEOUT, async {
            self.db.ping().await?;
            Migrator::get_pending_migrations(&self.db).await
        })
        .await;
        match pending {
            Ok(Ok(pending)) if pending.is_empty() => Ok(()),
            Ok(Ok(_)) => Err(NotReady::SchemaBehind),
            Ok(Err(_)) | Err(_) => Err(NotReady::DatabaseDown),
        }
    }

    /// The database answers within a second (what `/healthz` reports).
    pub async fn database_answers(&self) -> bool {
        self.database_up()
            && matches!(
                tokio::time::timeout(READY_TIMEOUT, self.db.ping()).await,
                Ok(Ok(()))
            )
    }
}
