//! Connecting to the database with settings fit for each backend, and the few settings the
//! gateway keeps in it.

use std::time::Duration;

use entity::gateway_setting;
use migration::{Migrator, MigratorTrait};
use rand::Rng;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Set};

/// The URL with any password hidden, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Opens a pool. Errors are one line naming `DATABASE_URL`.
pub async fn connect(url: &str) -> Result<DatabaseConnection, String> {
    connect_with(url, None).await
}

/// [`connect`], with PostgreSQL stopping any statement that runs past `statement_timeout`
/// (unless the URL sets its own `statement_timeout`).
pub async fn connect_with(
    url: &str,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, String> {
    let shown = redacted(url);
    let is_sqlite = url.starts_with("sqlite:");
    let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_sqlite && !is_postgres {
        return Err(format!(
            "DATABASE_URL `{shown}` is not a sqlite: or postgres:// URL"
        ));
    }
    if is_postgres {
        url::Url::parse(url).map_err(|e| format!("DATABASE_URL `{shown}` is malformed: {e}"))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5));
    if is_sqlite {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // Each connection to `:memory:` is its own database: keep exactly one, forever.
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            options.max_connections(8);
        }
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        });
    } else {
        options.max_connections(16).min_connections(0);
        let settings = session_settings(url, statement_timeout);
        options.map_sqlx_postgres_opts(move |o| o.options(settings.clone()));
    }
    Database::connect(options).await.map_err(|e| {
        let why = match &e {
            sea_orm::DbErr::Conn(inner) => inner.to_string(),
            other => other.to_string(),
        };
        format!(
            "DATABASE_URL `{shown}`: cannot connect: {}",
            why.lines().next().unwrap_or("unknown error")
        )
    })
}

/// Settings of every PostgreSQL session the gateway opens, unless the URL sets them itself
/// (`?options=-c%20work_mem%3D16MB`):
/// - `statement_timeout`: a request's limit, so that a cancelled request takes its SQL along;
/// - `work_mem` 64MB: a statistic's percentiles sort a million durations in memory rather
///   than on disk (statistics run at most four at a time per request);
/// - `jit` off: compiling a statement costs more than it saves on the gateway's statements,
///   and several milliseconds on each statistic over a large table.
fn session_settings(url: &str, statement_timeout: Option<Duration>) -> Vec<(&'static str, String)> {
    let mut settings = Vec::new();
    if let Some(limit) = statement_timeout.filter(|_| !url.contains("statement_timeout")) {
        settings.push(("statement_timeout", limit.as_millis().to_string()));
    }
    if !url.contains("work_mem") {
        settings.push(("work_mem", "64MB".to_owned()));
    }
    if !url.contains("jit") {
        settings.push(("jit", "off".to_owned()));
    }
    settings
}

/// How the replica's connections name themselves in `pg_stat_activity`.
pub const REPLICA_APPLICATION_NAME: &str = "ticket-gateway-replica";

/// A pool on the read replica of `DATABASE_REPLICA_URL` (PostgreSQL), connecting when first
/// used: a replica that is down at start delays nothing, its statistics run on the primary.
/// Waits at most a second for a connection, so a replica gone away costs little.
pub async fn connect_replica(
    url: &str,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, String> {
    let shown = redacted(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "DATABASE_REPLICA_URL `{shown}` is not a postgres:// URL"
        ));
    }
    url::Url::parse(url)
        .map_err(|e| format!("DATABASE_REPLICA_URL `{shown}` is malformed: {e}"))?;
    let settings = session_settings(url, statement_timeout);
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(1))
        .connect_timeout(Duration::from_secs(1))
        .max_connections(16)
        .min_connections(0)
        .connect_lazy(true)
        .map_sqlx_postgres_opts(move |o| {
            o.application_name(REPLICA_APPLICATION_NAME)
                .options(settings.clone())
        });
    Database::connect(options)
        .await
        .map_err(|e| format!("DATABASE_REPLICA_URL `{shown}`: {e}"))
}

/// Brings the schema up to date, then refreshes the planner's statistics if anything changed.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), String> {
    let fail = |e: sea_orm::DbErr| format!("migrating the database failed: {e}");
    let pending = Migrator::get_pending_migrations(db).await.map_err(fail)?;
    Migrator::up(db, None).await.map_err(fail)?;
    if !pending.is_empty() {
        analyze(db).await?;
    }
    Ok(())
}

/// Refreshes the query planner's statistics. Without them, after a bulk load and before
/// autovacuum gets to it, PostgreSQL plans a page's lookups as scans of whole tables.
pub async fn analyze(db: &DatabaseConnection) -> Result<(), String> {
    refresh(db, "ANALYZE").await
}

/// [`analyze`] after a bulk load, and on PostgreSQL a VACUUM too: it marks the new rows'
/// pages all-visible, which lets statistics read their indexes alone (index-only scans).
pub async fn vacuum_analyze(db: &DatabaseConnection) -> Result<(), String> {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => refresh(db, "VACUUM (ANALYZE)").await,
        _ => analyze(db).await,
    }
}

async fn refresh(db: &DatabaseConnection, command: &str) -> Result<(), String> {
    let sql = match db.get_database_backend() {
        // The product's tables only: the system catalogs are not ours to refresh.
        sea_orm::DbBackend::Postgres => format!(
            r#"{command} organization, "user", support_ticket, support_ticket_message, categorization_change"#
        ),
        _ => "ANALYZE".to_owned(),
    };
    db.execute_unprepared(&sql)
        .await
        .map(|_| ())
        .map_err(|e| format!("{command} failed: {e}"))
}

const DEV_SECRET_KEY: &str = "development_jwt_secret";

/// The development signing secret of this database, created on first use. `serve` and
/// `token` read the same one, so tokens minted by `token` work against `serve`.
pub async fn development_secret(db: &DatabaseConnection) -> Result<String, String> {
    let fail = |e: sea_orm::DbErr| format!("reading the development secret failed: {e}");
    if let Some(row) = gateway_setting::Entity::find_by_id(DEV_SECRET_KEY)
        .one(db)
        .await
        .map_err(fail)?
    {
        return Ok(row.value);
    }
    let bytes: [u8; 32] = rand::rng().random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    gateway_setting::Entity::insert(gateway_setting::ActiveModel {
        key: Set(DEV_SECRET_KEY.to_owned()),
        value: Set(secret),
    })
    .on_conflict(
        OnConflict::column(gateway_setting::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(fail)?;
    // Another process may have won the race: read back whatever is stored.
    gateway_setting::Entity::find_by_id(DEV_SECRET_KEY)
        .one(db)
        .await
        .map_err(fail)?
        .map(|row| row.value)
        .ok_or_else(|| "the development secret could not be stored".to_owned())
}
