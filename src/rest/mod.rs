//! The REST shims of the documented `/v2` Support Tickets paths.

use axum::Router;

use crate::error::AppError;
use crate::startup::AppState;

/// The `/v2` routes.
pub fn router() -> Router<AppState> {
    Router::new().fallback(|| async { AppError::NotFound })
}
