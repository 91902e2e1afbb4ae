//! The limiter in front of the `/v2` doors: decides before the handler (so a refused
//! request costs no database work) and stamps the budget on every answer.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Client, Decision};
use crate::auth::{MaybePrincipal, Principal};
use crate::error::AppError;
use crate::state::AppState;

/// The budget's size.
pub const LIMIT_HEADER: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// Requests left in the budget.
pub const REMAINING_HEADER: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// The middleware (see the module's documentation).
pub async fn rest(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let verified = crate::auth::authenticate(&state.keys, request.headers());
    let principal = verified.as_ref().ok().and_then(Option::as_ref).cloned();
    let client = client_of(principal.as_ref(), peer_of(request.extensions()));
    if let Ok(caller) = verified {
        // The handler's extractor takes it from here rather than verifying the token again.
        request.extensions_mut().insert(MaybePrincipal(caller));
    }
    let endpoint = endpoint_of(&request);
    let Some(decision) = state.limiter.check(&client, &endpoint).await else {
        return next.run(request).await;
    };
    state
        .metrics
        .rate_limit_decision("rest", decision.is_allowed());
    let mut response = if decision.is_allowed() {
        next.run(request).await
    } else {
        AppError::RateLimited {
            retry_after_secs: decision.retry_after_secs,
        }
        .into_response()
    };
    stamp(response.headers_mut(), &decision);
    response
}

/// The identity of a verified token; the remote address otherwise ("unknown" when the
/// server was not told it, as for requests sent in-process).
pub fn client_of(principal: Option<&Principal>, peer: Option<SocketAddr>) -> Client {
    if let Some(principal) = principal {
        return match &principal.client_id {
            Some(id) => Client::ClientId(id.clone()),
            None => Client::Subject(principal.subject.clone()),
        };
    }
    let address = peer.map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string());
    Client::Address(address)
}

/// The remote address the server put in the request's extensions, if any.
pub fn peer_of(extensions: &Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}

/// The operation: method and route template. Paths no route matches share one budget.
fn endpoint_of(request: &Request) -> String {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    format!("{} {route}", request.method())
}

fn stamp(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(LIMIT_HEADER, HeaderValue::from(decision.limit));
    headers.insert(REMAINING_HEADER, HeaderValue::from(decision.remaining));
}
