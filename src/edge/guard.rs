//! Requests that cannot succeed end early: while the database is down, those that need it
//! are answered 503 at once (and those waiting on it when it goes down, at that moment);
//! a request running past `REQUEST_TIMEOUT_SECS` is cancelled, its SQL with it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{context, Health};
use crate::error::AppError;
use crate::state::AppState;

/// What the guard needs of the server's state.
pub struct Guard {
    health: Arc<Health>,
    limit: Duration,
}

impl Guard {
    pub fn of(state: &AppState) -> Arc<Self> {
        Arc::new(Self {
            health: state.health.clone(),
            limit: state.config.edge.request_timeout(),
        })
    }
}

/// The middleware (see the module's documentation).
pub async fn guard(State(state): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let door = Door::of(path);
    let limit = state.limit;
    if !needs_database(path) {
        return match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => timed_out(door, limit),
        };
    }
    // The watcher has logged the outage: one line, not one per refused request.
    if !state.health.database_up() {
        return refusal(door, AppError::Unavailable, Logged::No);
    }
    tokio::select! {
        biased;
        response = next.run(request) => response,
        () = state.health.database_down() => refusal(door, AppError::Unavailable, Logged::No),
        () = tokio::time::sleep(limit) => timed_out(door, limit),
    }
}

fn timed_out(door: Door, limit: Duration) -> Response {
    context::record_timeout();
    refusal(door, AppError::TimedOut(Some(limit)), Logged::Yes)
}

/// Everything but the probes, the metrics and static pages and documents.
fn needs_database(path: &str) -> bool {
    !matches!(
        path,
        "/livez"
            | "/readyz"
            | "/healthz"
            | "/metrics"
            | "/favicon.ico"
            | "/v2/openapi.json"
            | "/dashboard"
    ) && !path.starts_with(crate::graphql::graphiql::ASSETS_PREFIX)
        && !path.starts_with("/dashboard/")
}

/// Whether a refusal is logged like any error leaving the application.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Logged {
    Yes,
    No,
}

/// The door a request came to, as far as the shape of its errors goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Door {
    GraphQl,
    V2,
    Other,
}

impl Door {
    fn of(path: &str) -> Self {
        if path == "/graphql" {
            Door::GraphQl
        } else if path == "/v2" || path.starts_with("/v2/") {
            Door::V2
        } else {
            Door::Other
        }
    }
}

/// An error in the shape of the door the request came to: a GraphQL error for `/graphql`,
/// problem+json (with the version header under `/v2`) elsewhere.
fn refusal(door: Door, error: AppError, logged: Logged) -> Response {
    if door == Door::GraphQl {
        return crate::graphql::refusal(&error);
    }
    let mut response = match logged {
        Logged::Yes => error.into_response(),
        Logged::No => error.into_unlogged_response(),
    };
    if door == Door::V2 {
        response
            .headers_mut()
            .insert(crate::rest::VERSION_HEADER, HeaderValue::from_static("2"));
    }
    response
}
