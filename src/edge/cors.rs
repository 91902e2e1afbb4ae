//! Cross-origin access for browser apps, from `CORS_ALLOWED_ORIGINS`.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// The request headers clients of the gateway send.
const REQUEST_HEADERS: [HeaderName; 7] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("evenergy-version"),
    HeaderName::from_static("evenergy-user"),
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    HeaderName::from_static("x-request-id"),
];

/// The response headers scripts may read.
const EXPOSED_HEADERS: [HeaderName; 8] = [
    header::ETAG,
    header::LINK,
    header::RETRY_AFTER,
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("evenergy-version"),
    HeaderName::from_static("x-ratelimit-limit"),
    HeaderName::from_static("x-ratelimit-remaining"),
    HeaderName::from_static("x-ratelimit-reset"),
];

/// The layer for the configured origins; `None` when none are configured (no CORS headers
/// at all). `*` allows any origin, without credentials.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers(REQUEST_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(MAX_AGE);
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(AllowOrigin::any()));
    }
    let exact: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        base.allow_origin(AllowOrigin::list(exact))
            .allow_credentials(true),
    )
}

/// Preflights are answered 204 No Content (the CORS layer answers them 200 with no body).
pub async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// Checks one configured origin: `*`, or `scheme://host[:port]` with nothing after.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let parsed = url::Url::parse(origin).map_err(|e| format!("`{origin}`: {e}"))?;
    let serialized = parsed.origin().ascii_serialization();
    if serialized != origin {
        return Err(format!(
            "`{origin}` is not an exact origin (scheme://host[:port], no path or trailing slash; did you mean `{serialized}`?)"
        ));
    }
    Ok(())
}
