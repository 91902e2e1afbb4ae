//! What every handler and layer may use, built once per server.

use std::sync::Arc;

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::config::AppConfig;
use crate::edge::{Health, Metrics};
use crate::graphql::{self, GatewaySchema};
use crate::limit::{Clock, Limiter, RedisStore, SystemClock, KEY_PREFIX};

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The pool every door's data access goes through.
    pub db: DatabaseConnection,
    /// How tokens are verified.
    pub keys: JwtKeys,
    pub config: Arc<AppConfig>,
    /// The GraphQL schema with its configured limits.
    pub schema: GatewaySchema,
    /// Parsed GraphQL documents, reused across requests.
    pub documents: Arc<graphql::Documents>,
    /// This server's Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Whether the database answers and whether the server drains.
    pub health: Arc<Health>,
    /// Request budgets per client and operation.
    pub limiter: Limiter,
}

impl AppState {
    /// Counts the statements `db` runs into the state's metrics: build the state before
    /// cloning the connection elsewhere, as clones made earlier are not counted.
    pub fn new(db: DatabaseConnection, keys: JwtKeys, config: AppConfig) -> Self {
        Self::with_clock(db, keys, config, Arc::new(SystemClock::new()))
    }

    /// [`AppState::new`] with the in-process limiter on `clock` (tests move time by hand); a
    /// limiter in Redis keeps Redis's time.
    pub fn with_clock(
        mut db: DatabaseConnection,
        keys: JwtKeys,
        config: AppConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let schema = graphql::build_schema(&config.graphql);
        let metrics = Arc::new(Metrics::new());
        metrics.count_statements_of(&mut db);
        let health = Arc::new(Health::new(db.clone()));
        let per_hour = config.edge.rate_limit_per_hour;
        let redis = config
            .edge
            .redis_url
            .as_deref()
            .map(|url| RedisStore::open(url, KEY_PREFIX, metrics.clone()));
        let limiter = match redis {
            Some(Ok(store)) => Limiter::over(Arc::new(store), per_hour),
            Some(Err(e)) => {
                // `AppConfig::with_edge` checks the URL: only a hand-built config gets here.
                tracing::error!(error = %e, "rate limits kept in this process instead");
                Limiter::in_process(per_hour, clock)
            }
            None => Limiter::in_process(per_hour, clock),
        };
        Self {
            db,
            keys,
            config: Arc::new(config),
            schema,
            documents: Arc::default(),
            metrics,
            health,
            limiter,
        }
    }
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}
