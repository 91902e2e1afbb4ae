//! The GraphiQL playground, served entirely by the gateway: its page and the scripts and
//! styles it needs are compiled into the binary (gzip-compressed), so the playground works
//! on machines without internet access. GraphiQL and React are MIT-licensed; their licences
//! are in `graphiql/`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::{Access, JwtKeys};
use crate::error::AppError;

const PAGE: &str = include_str!("graphiql.html");

/// Where the page expects the demo token (a JavaScript expression, `null` for none).
const DEMO_TOKEN_SLOT: &str = "/*DEMO_TOKEN*/null";

/// The page served at `GET /graphql` to browsers. In development mode (the keys are the
/// development secret) it carries an all-areas demo token for its one-click button.
pub fn page(keys: &JwtKeys) -> Response {
    if !keys.is_development() {
        return Html(PAGE).into_response();
    }
    let token = keys
        .mint_demo(&Access::AllAreas)
        .map_err(|e| tracing::warn!("cannot mint the playground's demo token: {e}"))
        .ok()
        .and_then(|t| serde_json::to_string(&t).ok());
    let Some(token) = token else {
        return Html(PAGE).into_response();
    };
    (
        // A page holding a token is not kept in any cache.
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(PAGE.replace(DEMO_TOKEN_SLOT, &token)),
    )
        .into_response()
}

/// The icon browsers ask for on their own: a ticket, 32 × 32.
pub async fn favicon() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/x-icon"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        include_bytes!("favicon.ico").as_slice(),
    )
        .into_response()
}

/// Where the page loads its assets from; the version is in the path, so they can be cached
/// for good.
pub const ASSETS_ROUTE: &str = "/graphiql/3.8.3/{file}";

/// Where the compiled-in playground assets live (no database behind them).
pub const ASSETS_PREFIX: &str = "/graphiql/";

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("graphiql/graphiql.min.js.gz"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("graphiql/graphiql.min.css.gz"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("graphiql/react.production.min.js.gz"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("graphiql/react-dom.production.min.js.gz"),
    ),
];

/// One asset, gzip-encoded. Every browser accepts gzip; a client that says it does not
/// (`identity` only, or `gzip;q=0`) gets 406 rather than bytes it cannot read.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return AppError::NotFound.into_response();
    };
    if !crate::accept::accepts_gzip(&headers) {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "This asset is only served gzip-encoded; send Accept-Encoding: gzip.",
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        *bytes,
    )
        .into_response()
}
