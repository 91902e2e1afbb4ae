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
        let sockets = self.state.sockets.clone();
        // Listening for changes from the start: a first subscriber never races it.
        self.state.changes.start();
        let app = router(self.state);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(edge_settings.header_read_timeout());
        let connections = Connections::default();

        tokio::pin!(stop);
        let mut draining: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let conn = http
                            .serve_connection(TokioIo::new(stream), with_peer(app.clone(), peer))
                            .with_upgrades();
                        connections.serve(conn);
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
            websockets = sockets.open(),
            timeout_secs = timeout.as_secs(),
            "listener closed: finishing requests in flight"
        );
        // WebSocket clients are told to reconnect elsewhere.
        sockets.close_all();
        let finished = async { tokio::join!(connections.shutdown(), sockets.all_closed()) };
        if tokio::time::timeout(timeout, finished).await.is_err() {
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

/// The HTTP connections being served, and how to end them gracefully: a connection asked to
/// stop finishes the request it is answering, then closes. (A connection upgraded to a
/// WebSocket leaves this count; [`crate::graphql::Sockets`] closes those.)
struct Connections {
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stopping: tokio::sync::watch::Sender<bool>,
    /// Each connection's task holds a clone; `recv` returns `None` once all are gone.
    done: (
        Option<tokio::sync::mpsc::Sender<()>>,
        tokio::sync::mpsc::Receiver<()>,
    ),
}

impl Default for Connections {
    fn default() -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        Self {
            open: Default::default(),
            stopping: tokio::sync::watch::Sender::new(false),
            done: (Some(sender), receiver),
        }
    }
}

impl Connections {
    fn serve<S>(
        &self,
        conn: hyper::server::conn::http1::UpgradeableConnection<TokioIo<tokio::net::TcpStream>, S>,
    ) where
        S: hyper::service::HttpService<Incoming, ResBody = axum::body::Body> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(done) = self.done.0.clone() else {
            return;
        };
        let mut stopping = self.stopping.subscribe();
        let open = self.open.clone();
        open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            drop(done);
        });
    }

    fn count(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Asks every connection to finish, and waits until they have.
    async fn shutdown(mut self) {
        self.stopping.send_replace(true);
        self.done.0 = None;
        let _ = self.done.1.recv().await;
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
