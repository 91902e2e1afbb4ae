//! The limiter in front of the `/v2` doors: decides before the handler (so a refused
//! request costs no database work) and stamps the budget on every answer.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

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
    let address = client_address(
        request.extensions(),
        request.headers(),
        &state.config.trusted_proxies,
    );
    let client = client_of(principal.as_ref(), address);
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

/// The identity of a verified token; the client's address otherwise ("unknown" when the
/// server was not told it, as for requests sent in-process).
pub fn client_of(principal: Option<&Principal>, address: Option<IpAddr>) -> Client {
    if let Some(principal) = principal {
        return match &principal.client_id {
            Some(id) => Client::ClientId(id.clone()),
            None => Client::Subject(principal.subject.clone()),
        };
    }
    let address = address.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    Client::Address(address)
}

/// The client's address: the peer's, or, when the peer is one of the `trusted` proxies, the
/// rightmost address of `X-Forwarded-For` that is not itself a trusted proxy (what a client
/// writes further left can be anything, so it is never believed).
pub fn client_address(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .collect::<Vec<_>>();
    for value in forwarded.iter().rev() {
        let Ok(value) = value.to_str() else {
            return Some(client);
        };
        for entry in value.split(',').rev() {
            let entry = entry.trim();
            let Some(ip) = entry
                .parse::<IpAddr>()
                .ok()
                .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
            else {
                return Some(client);
            };
            client = ip;
            if !is_trusted(&ip) {
                return Some(ip);
            }
        }
    }
    Some(client)
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
