//! What every handler and layer may use, built once per server.

use std::sync::Arc;

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::config::AppConfig;
use crate::data::replica::Replica;
use crate::edge::{Health, Metrics};
use crate::graphql::{self, GatewaySchema};
use crate::limit::{Budgets, Clock, Limiter, RedisStore, SystemClock, KEY_PREFIX};
use crate::live::Changes;
use crate::redis_link::RedisLink;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The pool every door's data access goes through.
    pub db: DatabaseConnection,
    /// How tokens are verified.
    pub keys: Arc<JwtKeys>,
    pub config: Arc<AppConfig>,
    /// The GraphQL schema with its configured limits.
    pub schema: GatewaySchema,
    /// Parsed GraphQL documents, reused across requests.
    pub documents: Arc<graphql::Documents>,
    /// This server's Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Whether the database answers and whether the server drains.
    pub health: Arc<Health>,
    /// Request budgets per client and operation, and GraphQL points per client.
    pub limiter: Limiter,
    /// GraphQL documents known by their hash.
    pub persisted: Arc<graphql::PersistedQueries>,
    /// The read replica statistics read from, when there is one.
    pub replica: Option<Arc<Replica>>,
    /// Changes to tickets and messages, for subscriptions.
    pub changes: Arc<Changes>,
    /// The open GraphQL WebSockets.
    pub sockets: Arc<graphql::Sockets>,
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
        let changes = Arc::new(Changes::new(db.clone(), metrics.clone()));
        let budgets = Budgets {
            rest_per_hour: config.edge.rate_limit_per_hour,
            graphql_points_per_hour: config.graphql.graphql_points_per_hour,
        };
        let redis = match config.edge.redis_url.as_deref().map(RedisLink::open) {
            Some(Ok(link)) => Some(Arc::new(link)),
            Some(Err(e)) => {
                // `AppConfig::with_edge` checks the URL: only a hand-built config gets here.
                tracing::error!(error = %e, "rate limits and persisted queries kept in this process instead");
                None
            }
            None => None,
        };
        let limiter = match &redis {
            Some(link) => {
                let store = RedisStore::new(link.clone(), KEY_PREFIX, metrics.clone());
                Limiter::over(Arc::new(store), budgets)
            }
            None => Limiter::in_process(budgets, clock),
        };
        let persisted = Arc::new(graphql::PersistedQueries::new(
            redis,
            config.manifest.clone(),
            metrics.clone(),
        ));
        Self {
            db,
            keys: Arc::new(keys),
            config: Arc::new(config),
            schema,
            documents: Arc::default(),
            metrics,
            health,
            limiter,
            persisted,
            replica: None,
            changes,
            sockets: Arc::default(),
        }
    }

    /// Statistics read from `replica` (see [`crate::data::replica`]).
    pub fn with_replica(mut self, replica: DatabaseConnection) -> Self {
        self.replica = Some(Arc::new(Replica::new(replica)));
        self
    }
}

impl FromRef<AppState> for Arc<JwtKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}
