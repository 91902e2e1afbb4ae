//! What operators and load balancers ask: `/livez`, `/readyz`, `/healthz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::AppError;
use crate::state::AppState;

/// 200 while the process answers; never touches the database.
pub async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// 200 when the server should get traffic; 503 with the reason while it drains, while the
/// database does not answer within a second, or while the schema is behind.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.health.readiness().await {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(why) => AppError::NotReady(why.reason().to_owned()).into_response(),
    }
}

/// 200 when the database answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.health.database_answers().await {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ok" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "database unavailable" })),
        )
    }
}

/// The Prometheus text format; with `METRICS_TOKEN` set, only for `Bearer <METRICS_TOKEN>`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.config.edge.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .unwrap_or_default();
        if !same_secret(given.trim().as_bytes(), expected.as_bytes()) {
            return AppError::Unauthenticated(
                "Metrics need `Authorization: Bearer <METRICS_TOKEN>`.".into(),
            )
            .into_response();
        }
    }
    let text = state.metrics.render(&state.db, state.health.database_up());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}
