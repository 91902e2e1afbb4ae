//! The one error type of the application, and the one place that maps it to an HTTP
//! problem+json response and to a GraphQL error with `extensions.code`.

use async_graphql::ErrorExtensions;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;

/// One bad input field: which parameter, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error
/// without extensions, and every error must carry its `extensions.code`.
#[derive(Debug)]
pub enum AppError {
    /// No credentials, or credentials that fail validation.
    Unauthenticated(String),
    /// Valid credentials without the OAuth scope the operation needs.
    Forbidden(String),
    /// Absent, or outside the caller's scope: the two are indistinguishable on purpose.
    NotFound,
    /// Input the caller can fix.
    BadInput {
        title: String,
        detail: String,
        field_errors: Vec<FieldError>,
        problem_type: Option<String>,
    },
    /// The resource changed since the caller read it.
    Conflict(String),
    /// `If-Match` no longer matches.
    PreconditionFailed,
    /// The path exists, the method does not (the `Allow` header is the caller's to add).
    MethodNotAllowed,
    /// No representation the `Accept` header allows.
    NotAcceptable,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// A request body of a media type the operation does not take.
    UnsupportedMediaType(String),
    /// The client has spent its request budget; one more passes after `retry_after_secs`.
    RateLimited { retry_after_secs: u64 },
    /// The database cannot be reached; retrying later may work.
    Unavailable,
    /// The request (or its SQL statement, when the limit is the database's) ran past the
    /// configured limit and was cancelled.
    TimedOut(Option<std::time::Duration>),
    /// The server should not get traffic now (the reason says why).
    NotReady(String),
    /// A subscriber fell behind by more changes than the server holds for it (the count).
    SlowConsumer(u64),
    /// Anything else: logged with its cause, reported to the client without it.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// `Retry-After` of a 503 for an unreachable database: the server notices its return
/// within a second.
pub const RETRY_AFTER_SECS: &str = "1";

/// The problem type of a refused request, as the contract names it.
pub const RATE_LIMIT_PROBLEM: &str = "https://api.ev.energy/v2/problems/rate-limit-exceeded/";

impl AppError {
    pub fn bad_input(detail: impl Into<String>) -> Self {
        Self::BadInput {
            title: "Bad request".into(),
            detail: detail.into(),
            field_errors: Vec::new(),
            problem_type: None,
        }
    }

    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_fields(vec![FieldError::new(field, message)])
    }

    pub fn bad_fields(field_errors: Vec<FieldError>) -> Self {
        let detail = field_errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::BadInput {
            title: "Invalid parameters".into(),
            detail,
            field_errors,
            problem_type: None,
        }
    }

    /// The message for the client: never a database or internal error text.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::UnsupportedMediaType(m)
            | Self::NotReady(m) => m.clone(),
            Self::NotFound => "Resource does not exist or cannot be accessed.".into(),
            Self::BadInput { detail, .. } => detail.clone(),
            Self::PreconditionFailed => {
                "The resource has changed since it was read (If-Match).".into()
            }
            Self::MethodNotAllowed => "The resource does not support this method.".into(),
            Self::NotAcceptable => "Could not satisfy the request Accept header.".into(),
            Self::PayloadTooLarge => "The request body is too large.".into(),
            // The contract's wording, "seconds" even for one.
            Self::RateLimited { retry_after_secs } => {
                format!("Request was rate limited. Try again in {retry_after_secs} seconds")
            }
            Self::Unavailable => {
                "The service is temporarily unavailable; try again shortly.".into()
            }
            Self::TimedOut(Some(limit)) => format!(
                "The request took longer than {} s and was cancelled.",
                limit.as_secs()
            ),
            Self::TimedOut(None) => "The request took too long and was cancelled.".into(),
            Self::SlowConsumer(missed) => format!(
                "The subscriber read its changes too slowly and missed {missed}; subscribe again and refetch."
            ),
            Self::Internal(_) => "Something went wrong on our side.".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadInput { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::SlowConsumer(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::TimedOut(_) | Self::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) | Self::PreconditionFailed => "CONFLICT",
            Self::MethodNotAllowed
            | Self::NotAcceptable
            | Self::PayloadTooLarge
            | Self::UnsupportedMediaType(_) => "BAD_REQUEST",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable | Self::NotReady(_) => "SERVICE_UNAVAILABLE",
            Self::TimedOut(_) => "TIMEOUT",
            Self::SlowConsumer(_) => "SLOW_CONSUMER",
            Self::Internal(_) => "INTERNAL",
        }
    }

    fn title(&self) -> String {
        match self {
            Self::Unauthenticated(_) => "Unauthorized".into(),
            Self::Forbidden(_) => "Forbidden".into(),
            Self::NotFound => "Not found".into(),
            Self::BadInput { title, .. } => title.clone(),
            Self::Conflict(_) => "Conflict".into(),
            Self::PreconditionFailed => "Precondition failed".into(),
            Self::MethodNotAllowed => "Method not allowed".into(),
            // As the contract spells it.
            Self::NotAcceptable => "Not Acceptable".into(),
            Self::PayloadTooLarge => "Payload too large".into(),
            Self::UnsupportedMediaType(_) => "Unsupported media type".into(),
            Self::RateLimited { .. } => "Too Many Requests".into(),
            Self::Unavailable | Self::NotReady(_) => "Service unavailable".into(),
            Self::TimedOut(_) => "Request timed out".into(),
            Self::SlowConsumer(_) => "Slow consumer".into(),
            Self::Internal(_) => "Internal server error".into(),
        }
    }

    /// Logs what the client is not told. Called wherever the error leaves the application.
    fn log(&self) {
        match self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable => tracing::warn!("database unavailable"),
            Self::TimedOut(limit) => tracing::warn!(?limit, "request cancelled: it ran too long"),
            _ => {}
        }
    }

    /// The RFC 9457 body and status (and the log line of what the client is not told).
    pub fn problem(&self) -> problem_details::ProblemDetails<ProblemExtensions> {
        self.log();
        self.problem_unlogged()
    }

    fn problem_unlogged(&self) -> problem_details::ProblemDetails<ProblemExtensions> {
        let status = self.status();
        let mut problem = problem_details::ProblemDetails::from_status_code(status)
            .with_title(self.title())
            .with_detail(self.message())
            .with_extensions(ProblemExtensions {
                request_id: crate::edge::request_id(),
                ..ProblemExtensions::default()
            });
        let problem_type = match self {
            Self::BadInput { problem_type, .. } => problem_type.as_deref(),
            Self::RateLimited { .. } => Some(RATE_LIMIT_PROBLEM),
            _ => None,
        };
        if let Some(ty) = problem_type.and_then(|t| t.parse::<axum::http::Uri>().ok()) {
            problem = problem.with_type(ty);
        }
        if let Self::BadInput { field_errors, .. } = self {
            if !field_errors.is_empty() {
                problem.extensions.field_errors = Some(field_errors.clone());
            }
        }
        problem
    }

    /// The GraphQL error, with `extensions.code` and, for bad input, the bad fields.
    pub fn into_graphql(self) -> async_graphql::Error {
        self.log();
        let code = self.code();
        let field_errors = match &self {
            Self::BadInput { field_errors, .. } if !field_errors.is_empty() => {
                Some(field_errors.clone())
            }
            _ => None,
        };
        let mut err = async_graphql::Error::new(self.message());
        err = err.extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(id) = crate::edge::request_id() {
                ext.set("requestId", id);
            }
            if let Some(fields) = &field_errors {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|f| {
                        let mut obj = async_graphql::indexmap::IndexMap::new();
                        obj.insert(
                            async_graphql::Name::new("field"),
                            async_graphql::Value::from(f.field.clone()),
                        );
                        obj.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(f.message.clone()),
                        );
                        async_graphql::Value::Object(obj)
                    })
                    .collect();
                ext.set("fieldErrors", list);
            }
        });
        err
    }
}

/// Members of a problem body beyond the RFC's own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProblemExtensions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_errors: Option<Vec<FieldError>>,
    /// The request's `X-Request-Id`, to find its log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        self.into_unlogged_response()
    }
}

impl AppError {
    /// The problem+json response, without logging (for refusals logged once elsewhere).
    pub fn into_unlogged_response(self) -> Response {
        let unauthenticated = matches!(self, Self::Unauthenticated(_));
        let retry_after = match &self {
            Self::Unavailable => Some(HeaderValue::from_static(RETRY_AFTER_SECS)),
            Self::RateLimited { retry_after_secs } => Some(HeaderValue::from(*retry_after_secs)),
            _ => None,
        };
        let mut response =
            problem_details::JsonProblemDetails::from(self.problem_unlogged()).into_response();
        if unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => AppError::Unavailable,
            DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
            | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
                if is_statement_timeout(e.as_ref()) =>
            {
                // The database stopped the statement at the request's limit: the request timed
                // out, whichever of the two clocks noticed first.
                crate::edge::record_timeout();
                AppError::TimedOut(None)
            }
            DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
            | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
                if is_connection_error(e.as_ref()) =>
            {
                AppError::Unavailable
            }
            _ => AppError::Internal(err.to_string()),
        }
    }
}

fn is_connection_error(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P (the server shutting down or
        // terminating the session) and 53300 (too many connections): the database is away
        // or busy, not the request wrong. SQLite's primary codes 5 (SQLITE_BUSY) and 6
        // (SQLITE_LOCKED), whatever their extended code: another writer kept the lock past
        // the busy timeout.
        E::Database(db) => db.code().is_some_and(|c| {
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                return c
                    .parse::<i32>()
                    .is_ok_and(|code| matches!(code & 0xff, 5 | 6));
            }
            c.starts_with("08") || c.starts_with("57P") || c == "53300"
        }),
        _ => false,
    }
}

/// SQLSTATE 57014: PostgreSQL stopped a statement at its `statement_timeout` (the
/// request timeout, or the operator's own in `DATABASE_URL`).
fn is_statement_timeout(err: &sea_orm::sqlx::Error) -> bool {
    matches!(err, sea_orm::sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.into_graphql()
    }
}
