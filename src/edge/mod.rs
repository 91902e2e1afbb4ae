//! The edge: what every request goes through before and after its door. [`stack`] reads
//! as the stack it builds, outermost first.

mod compress;
mod context;
mod cors;
mod guard;
mod health;
mod logs;
mod metrics;
mod observe;
pub mod probes;

use axum::middleware;
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

pub use compress::compress_whole;
pub use context::{
    record_caller, record_graphql_errors, record_operation, record_timeout, request_id, Operation,
    REQUEST_ID,
};
pub use cors::check_origin;
pub use health::{Health, NotReady};
pub use logs::{flush as flush_logs, init as init_logs};
pub use metrics::Metrics;

use crate::state::AppState;

/// Bodies smaller than this go out as they are: compressing them saves less than it costs.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Which responses are compressed, whole or streamed: over 1 KiB, and not images, gRPC or
/// event streams.
fn compressible() -> impl Predicate {
    DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES))
}

/// Wraps every route of `router`, outermost first:
/// 1. request id, span, access log and metrics ([`observe`](observe::observe));
/// 2. a panic answered 500 like any internal error, not a dropped connection;
/// 3. CORS, when origins are configured, with preflights answered 204;
/// 4. compression (gzip, br, zstd) of bodies over 1 KiB: in one call for bodies whole in
///    memory ([`compress`]), streamed for the rest;
/// 5. the guard: fail fast while the database is down, cancel past `REQUEST_TIMEOUT_SECS`.
pub fn stack(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let streams = CompressionLayer::new()
        .gzip(true)
        .br(true)
        .zstd(true)
        .quality(CompressionLevel::Fastest)
        .compress_when(compressible());
    // Layers added later wrap those added before: built from the innermost out.
    let mut router = router
        .layer(middleware::from_fn_with_state(
            guard::Guard::of(state),
            guard::guard,
        ))
        .layer(middleware::from_fn(compress::compress_whole))
        .layer(streams);
    if let Some(cors) = cors::layer(&state.config.edge.cors_allowed_origins) {
        router = router
            .layer(cors)
            .layer(middleware::from_fn(cors::preflight_no_content));
    }
    router
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(middleware::from_fn_with_state(
            observe::Observer::of(state),
            observe::observe,
        ))
}

fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    crate::error::AppError::Internal(format!("panic: {what}")).into_response()
}
