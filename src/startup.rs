//! Building the application: the router of every door behind the edge stack, and a server
//! that exposes its bound port (so tests and benchmarks can listen on port 0), bounds how
//! long clients may take, and drains before it stops.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::get;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::edge::{self, probes};
use crate::graphql;
use crate::rest;
pub use crate::state::AppState;

/// The whole HTTP surface, behind the edge stack.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.graphql.max_body_bytes;
    let doors = Router::new()
        .route("/livez", get(probes::livez))
        .route("/readyz", get(probes::readyz))
        .route("/healthz", get(probes::healthz))
        .route("/metrics", get(probes::metrics))
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route(
            graphql::graphiql::ASSETS_ROUTE,
            get(graphql::graphiql::asset),
        )
        .route("/favicon.ico", get(graphql::graphiql::favicon))
        .route("/dashboard", get(crate::dashboard::page))
        .route(crate::dashboard::ASSETS_ROUTE, get(crate::dashboard::asset))
        .nest("/v2", rest::router(&state))
        .layer(DefaultBodyLimit::max(body_limit));
    edge::stack(doors, &state).with_state(state)
}

/// Listens on `addr` (port 0: any free port).
pub async fn listen(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("BIND_ADDR `{addr}`: cannot listen: {e}"))
}

/// A bound server, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Listens on `addr` for `state`'s router.
    pub async fn bind(state: AppState, addr: SocketAddr) -> Result<Self, String> {
        Ok(Self::on(listen(addr).await?, state))
    }

    /// Serves on a listener already bound (its address may decide the state's settings).
    pub fn on(listener: TcpListener, state: AppState) -> Self {
        Self { listener, state }
    }

    /// The address listened on (with the port taken when 0 was asked).
    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        self.listener.local_addr().map_err(|e| e.to_string())
    }

    /// Serves until Ctrl-C or SIGTERM, then drains (see [`Application::run_until`]).
    pub async fn run_until_stopped(self) -> Result<(), String> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves. Then `/readyz` answers 503 at once while the listener
    /// keeps serving for `SHUTDOWN_DRAIN_SECS`; then the listener closes and requests in
    /// flight get up to `SHUTDOWN_TIMEOUT_SECS` to finish.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<(), String> {
        let edge_settings = self.state.config.edge.clone();
        let health = self.state.health.clone();
        let watcher = health.watch_database();
        let metrics = self.state.metrics.clone();
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                metrics.upkeep();
            }
        });
        let app = router(self.state);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(edge_settings.header_read_timeout());
        let connections = GracefulShutdown::new();

        tokio::pin!(stop);
        let mut draining: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let conn = http
                            .serve_connection(TokioIo::new(stream), with_peer(app.clone(), peer));
                        let conn = connections.watch(conn);
                        tokio::spawn(async move {
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        });
                    }
                    // Out of file descriptors and the like: pause rather than spin.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut stop, if draining.is_none() => {
                    health.start_draining();
                    let drain = edge_settings.shutdown_drain();
                    tracing::info!(drain_secs = drain.as_secs(), "shutting down: /readyz answers 503, still serving while draining");
                    draining = Some(Box::pin(tokio::time::sleep(drain)));
                }
                // A second signal: the operator does not want to wait for the drain.
                () = shutdown_signal(), if draining.is_some() => {
                    tracing::info!("second signal: ending the drain now");
                    break;
                }
                () = async { if let Some(d) = draining.as_mut() { d.await } }, if draining.is_some() => break,
            }
        }
        drop(self.listener);
        let timeout = edge_settings.shutdown_timeout();
        tracing::info!(
            open = connections.count(),
            timeout_secs = timeout.as_secs(),
            "listener closed: finishing requests in flight"
        );
        if tokio::time::timeout(timeout, connections.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("requests still in flight after SHUTDOWN_TIMEOUT_SECS: closing them");
        }
        if let Some(w) = watcher {
            w.abort();
        }
        upkeep.abort();
        tracing::info!("stopped");
        Ok(())
    }
}

/// The router of one connection, telling each request the peer's address (what the rate
/// limiter counts requests without a valid token by).
fn with_peer(
    app: Router,
    peer: SocketAddr,
) -> TowerToHyperService<
    impl tower::Service<
            Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone,
> {
    TowerToHyperService::new(tower::util::MapRequest::new(
        app,
        move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        },
    ))
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
}
