//! Building the application: shared state, the router of every door, and a server that
//! exposes its bound port (so tests and benchmarks can listen on port 0).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::JwtKeys;
use crate::config::AppConfig;
use crate::graphql::{self, GatewaySchema};
use crate::rest;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: JwtKeys,
    pub config: Arc<AppConfig>,
    pub schema: GatewaySchema,
    pub documents: Arc<graphql::Documents>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, keys: JwtKeys, config: AppConfig) -> Self {
        let schema = graphql::build_schema(&config.graphql);
        Self {
            db,
            keys,
            config: Arc::new(config),
            schema,
            documents: Arc::default(),
        }
    }
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.graphql.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route(
            graphql::graphiql::ASSETS_ROUTE,
            get(graphql::graphiql::asset),
        )
        .route("/favicon.ico", get(graphql::graphiql::favicon))
        .nest("/v2", rest::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// 200 when the database answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "database unavailable" })),
        ),
    }
}

/// A bound server, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn bind(state: AppState, addr: SocketAddr) -> Result<Self, String> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("BIND_ADDR `{addr}`: cannot listen: {e}"))?;
        Ok(Self {
            listener,
            router: router(state),
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        self.listener.local_addr().map_err(|e| e.to_string())
    }

    /// Serves until Ctrl-C or SIGTERM, finishing requests in flight.
    pub async fn run_until_stopped(self) -> Result<(), String> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
