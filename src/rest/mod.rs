//! The REST shims of the documented `/v2` Support Tickets paths: they translate query
//! strings and bodies into the product's own types, call the data layer, and shape the
//! results as the contract does. No business logic lives here.

mod body;
pub mod openapi;
pub mod query;
mod schema;
mod stats;
mod tickets;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::accept::Accept;
use crate::error::AppError;
use crate::limit;
use crate::state::AppState;

pub use body::NO_VALUE;

/// The version header, read on requests and set on every response.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static("evenergy-version");

/// The problem type the contract gives to bad page parameters (and, in its example, to an
/// unsupported version).
pub const PAGINATION_PROBLEM: &str = "https://api.ev.energy/v2/problems/pagination-parameters/";

/// The `/v2` routes, outermost first: the version header on every answer, the rate limit
/// (before anything else is looked at), then the conventions.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/support_tickets", get(tickets::list))
        .route("/support_tickets/categories", get(tickets::categories))
        .route(
            "/support_tickets/{support_ticket_id}",
            get(tickets::retrieve).patch(tickets::update),
        )
        .route(
            "/support_tickets/{support_ticket_id}/messages",
            get(tickets::messages),
        )
        .route(
            "/support_tickets/{support_ticket_id}/messages/{message_id}",
            get(tickets::message),
        )
        .route("/support-ticket-stats/sankey", get(stats::sankey))
        .route("/support-ticket-stats/volume", get(stats::volume))
        .route("/support-ticket-stats/resolution", get(stats::resolution))
        .route("/support-ticket-stats/status", get(stats::status))
        .route("/support-ticket-stats/priority", get(stats::priority))
        .route("/support-ticket-stats/source", get(stats::source))
        .route(
            "/support-ticket-stats/top-categories",
            get(stats::top_categories),
        )
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(conventions))
        .layer(middleware::from_fn_with_state(state.clone(), limit::rest))
        .layer(middleware::from_fn(answer_as_version_2))
}

/// Every `/v2` answer says version 2, a refusal of the limiter's included.
async fn answer_as_version_2(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(VERSION_HEADER, HeaderValue::from_static("2"));
    response
}

/// What every `/v2` exchange shares: `Accept` and `EvEnergy-Version` are checked before
/// the handler, and every error leaves as problem+json.
async fn conventions(request: Request, next: Next) -> Response {
    let checked = if !accepts_json(request.headers()) {
        Err(AppError::NotAcceptable)
    } else {
        check_version(request.headers())
    };
    let response = match checked {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    };
    as_problem(response)
}

/// Absent or `2` (any spelling of the number 2) is accepted.
fn check_version(headers: &HeaderMap) -> Result<(), AppError> {
    for value in headers.get_all(&VERSION_HEADER) {
        let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
        if text.parse::<f64>().ok() != Some(2.0) {
            return Err(AppError::BadInput {
                title: "Unsupported version".into(),
                detail: format!("Unsupported version requested: {}", query::clip(&text)),
                field_errors: Vec::new(),
                problem_type: Some(PAGINATION_PROBLEM.into()),
            });
        }
    }
    Ok(())
}

/// Whether `Accept` allows JSON or problem+json: the most specific matching range decides,
/// and `q=0` refuses. No `Accept`, or an empty one, accepts anything.
fn accepts_json(headers: &HeaderMap) -> bool {
    let accept = Accept::of(headers);
    accept.is_blank()
        || ["application/json", "application/problem+json"]
            .iter()
            .any(|wanted| accept.quality(wanted) > 0.0)
}

/// Errors that the router or an extractor answered on its own (405, 413, ...) become
/// problem+json like every other error, keeping their headers (such as `Allow`).
fn as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let error = match status {
        StatusCode::BAD_REQUEST => AppError::bad_input("The request could not be understood."),
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::NOT_ACCEPTABLE => AppError::NotAcceptable,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(
            "The request body has a media type this operation does not take.".into(),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => {
            AppError::Internal("a /v2 route answered 500 by itself".into())
        }
        // Any other status keeps its number, with its reason phrase as the detail.
        other => {
            let reason = other.canonical_reason().unwrap_or("Error");
            let problem = problem_details::ProblemDetails::from_status_code(other)
                .with_detail(reason)
                .with_extensions(crate::error::ProblemExtensions {
                    request_id: crate::edge::request_id(),
                    ..Default::default()
                });
            return with_headers_of(
                &response,
                problem_details::JsonProblemDetails::from(problem).into_response(),
            );
        }
    };
    with_headers_of(&response, error.into_response())
}

/// Carries the headers of a replaced response that still apply to its problem.
fn with_headers_of(original: &Response, mut problem: Response) -> Response {
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = original.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}
