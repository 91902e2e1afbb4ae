//! `/graphql` over HTTP: JSON POSTs (single or batched), GET queries, and GraphiQL for
//! browsers. Enforces the limits the executor does not: body size (router), batch size,
//! expanded size, depth, aliases, and no mutations over GET.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, ServerError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Timelike, Utc};

use super::order::in_query_order;
use super::over_http::{self, ResponseMedia};
use super::persisted::Refusal;
use super::shape::{measure, MAX_EXPANDED_FIELDS};
use super::types::RateLimit;
use super::{cost_model, Loaders};
use crate::auth::authenticate;
use crate::edge;
use crate::error::{AppError, RETRY_AFTER_SECS};
use crate::limit::{client_address, client_of, Decision};
use crate::state::AppState;

/// A GraphQL-shaped error response with an HTTP status: a request error, so no `data`.
fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    if let Some(id) = edge::request_id() {
        ext.set("requestId", id);
    }
    err.extensions = Some(ext);
    edge::record_graphql_errors([code]);
    let body = async_graphql::Response::from_errors(vec![err]);
    let mut response = over_http::reply(status, ResponseMedia::Json, &BatchResponse::Single(body));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && code == "SERVICE_UNAVAILABLE" {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    response
}

/// The answer to a request whose persisted document could not be settled. Asking for the
/// document is not the client's mistake: 200 under `application/json`, as Apollo's clients
/// expect; under `application/graphql-response+json` every request error is a 4xx.
fn persisted_refusal(refusal: &Refusal, media: ResponseMedia) -> Response {
    let status = if refusal.is_bad_request() || media == ResponseMedia::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    error_response(status, refusal.code(), &refusal.message())
}

/// `error` as a GraphQL request error, for requests the edge answers without the door.
pub fn refusal(error: &AppError) -> Response {
    error_response(error.status(), error.code(), &error.message())
}

/// Names the operation a request runs, for the access log and the metrics.
fn name_operation(doc: Option<&ExecutableDocument>, requested: Option<&str>) {
    let Some(doc) = doc else {
        return;
    };
    let (ty, name) = match &doc.operations {
        DocumentOperations::Single(op) => (op.node.ty, None),
        DocumentOperations::Multiple(ops) => {
            let found = match requested {
                Some(wanted) => ops.iter().find(|(n, _)| n.as_str() == wanted),
                None if ops.len() == 1 => ops.iter().next(),
                None => None,
            };
            match found {
                Some((name, op)) => (op.node.ty, Some(name.to_string())),
                None => return,
            }
        }
    };
    let kind = match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    edge::record_operation(edge::Operation { kind, name });
}

/// An operation measured and ready to run.
pub(super) struct Checked {
    /// The parsed document (from the per-process cache when the text was seen before),
    /// handed to the executor so it does not parse again, and kept to put the response in
    /// order. `None` when it does not parse: the executor reports that.
    pub doc: Option<Arc<ExecutableDocument>>,
    /// Its cost in points (see [`cost`](super::cost)).
    pub cost: u64,
}

/// Why an operation is refused before it runs: the HTTP status, the GraphQL
/// `extensions.code` and the message.
pub(super) struct Refused {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
        }
    }

    /// The same refusal as a GraphQL error (for transports without a status).
    pub fn into_server_error(self) -> ServerError {
        let mut err = ServerError::new(self.message, None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code);
        err.extensions = Some(ext);
        edge::record_graphql_errors([self.code]);
        err
    }
}

/// What the executor does not check itself, measured before it validates anything (see
/// [`shape`](super::shape) and [`cost`](super::cost)): expanded size, depth, aliases and cost
/// per operation, and (for GET) that the operation is not a mutation.
fn precheck(state: &AppState, request: &Request, via_get: bool) -> Result<Checked, Response> {
    check(state, request, via_get).map_err(|refused| {
        let mut response = error_response(refused.status, refused.code, &refused.message);
        if refused.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        response
    })
}

/// [`precheck`] for any transport.
pub(super) fn check(
    state: &AppState,
    request: &Request,
    via_get: bool,
) -> Result<Checked, Refused> {
    let Some(doc) = state.documents.parse(&request.query) else {
        return Ok(Checked { doc: None, cost: 0 });
    };
    let operations: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops
                .iter()
                .filter(|(n, _)| n.as_str() == name)
                .map(|(_, op)| op)
                .collect(),
            None => ops.values().collect(),
        },
    };
    let max_aliases = state.config.graphql.graphql_max_aliases;
    let mut cost = 0;
    for op in operations {
        if via_get && op.node.ty == OperationType::Mutation {
            return Err(Refused::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "Mutations must be sent with POST.".into(),
            ));
        }
        let shape = measure(&op.node.selection_set.node, &doc);
        if shape.fields > MAX_EXPANDED_FIELDS {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "GRAPHQL_VALIDATION_FAILED",
                format!(
                    "The operation expands to more than {MAX_EXPANDED_FIELDS} field selections (fragments count wherever they are spread)."
                ),
            ));
        }
        let max_depth = state.config.graphql.graphql_max_depth;
        let nesting = shape.depth;
        if nesting > max_depth {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "GRAPHQL_VALIDATION_FAILED",
                format!(
                    "The operation nests {nesting} levels deep; at most {max_depth} are allowed."
                ),
            ));
        }
        let aliases = shape.aliases;
        if aliases > max_aliases {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                format!("The operation uses {aliases} aliases; at most {max_aliases} are allowed."),
            ));
        }
        let weight = cost_model().weight(&doc, &op.node, &request.variables);
        let ceiling = max_weight(state);
        if weight > ceiling {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "GRAPHQL_VALIDATION_FAILED",
                format!(
                    "The operation weighs {weight}; one operation may weigh at most {ceiling}. Ask for smaller pages or fewer nested lists."
                ),
            ));
        }
        // Of several operations only one runs: the dearest is what the request may cost.
        cost = cost.max(super::cost::points(weight));
    }
    Ok(Checked {
        doc: Some(doc),
        cost,
    })
}

/// Registers a persisted document that passed the checks (and parses: garbage would fail
/// again wherever it is sent).
pub(super) async fn keep(
    state: &AppState,
    registration: Option<super::persisted::Registration>,
    checked: &Checked,
    request: &Request,
) {
    if let (Some(registration), Some(_)) = (registration, &checked.doc) {
        state.persisted.register(registration, &request.query).await;
    }
}

/// The most one operation may weigh: `GRAPHQL_MAX_COMPLEXITY`, and no more than a whole
/// hourly budget buys (an operation costing more could never run).
fn max_weight(state: &AppState) -> u64 {
    let ceiling = u64::try_from(state.config.graphql.graphql_max_complexity).unwrap_or(u64::MAX);
    match state.limiter.graphql_points() {
        Some(budget) => ceiling.min(super::cost::max_weight_for(u64::from(budget))),
        None => ceiling,
    }
}

/// `decision` as the `rateLimit` of an operation costing `cost`.
fn rate_limit(decision: &Decision, cost: u64, reset_at: DateTime<Utc>) -> RateLimit {
    RateLimit {
        cost,
        limit: u64::from(decision.limit),
        remaining: u64::from(decision.remaining),
        reset_at,
    }
}

/// `extensions.cost` of a response.
fn cost_extension(report: &RateLimit) -> async_graphql::Value {
    let mut map = async_graphql::indexmap::IndexMap::new();
    map.insert(async_graphql::Name::new("requested"), report.cost.into());
    map.insert(async_graphql::Name::new("limit"), report.limit.into());
    map.insert(
        async_graphql::Name::new("remaining"),
        report.remaining.into(),
    );
    map.insert(
        async_graphql::Name::new("resetAt"),
        // As the `DateTime` scalar writes it, so both say the same.
        report.reset_at.to_rfc3339().into(),
    );
    async_graphql::Value::Object(map)
}

/// When a budget that refills in `after` is whole again, to the second (rounded up).
fn reset_at(after: std::time::Duration) -> DateTime<Utc> {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let now = Utc::now();
    // Whole seconds, never earlier than the budget is back.
    let secs = secs.saturating_add(i64::from(now.nanosecond() > 0));
    let second = now.with_nanosecond(0).unwrap_or(now);
    second
        .checked_add_signed(chrono::TimeDelta::seconds(secs))
        .unwrap_or(second)
}

/// 429: the operations cost more than the budget has left. Nothing was run.
fn rate_limited(
    decision: &Decision,
    reports: &[RateLimit],
    batched: bool,
    media: ResponseMedia,
) -> Response {
    let total: u64 = reports.iter().map(|r| r.cost).fold(0, u64::saturating_add);
    let wait = decision.retry_after_secs;
    let one = |report: &RateLimit| {
        let mut err = ServerError::new(
            format!(
                "This request costs {total} points and {} are left of {} an hour; try again in {wait} second{}.",
                decision.remaining,
                decision.limit,
                if wait == 1 { "" } else { "s" }
            ),
            None,
        );
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "RATE_LIMITED");
        ext.set("retryAfter", wait);
        if let Some(id) = edge::request_id() {
            ext.set("requestId", id);
        }
        err.extensions = Some(ext);
        edge::record_graphql_errors(["RATE_LIMITED"]);
        let mut response = async_graphql::Response::from_errors(vec![err]);
        response
            .extensions
            .insert("cost".to_owned(), cost_extension(report));
        response
    };
    let body = if batched {
        BatchResponse::Batch(reports.iter().map(one).collect())
    } else {
        match reports.first() {
            Some(report) => BatchResponse::Single(one(report)),
            None => BatchResponse::Batch(Vec::new()),
        }
    };
    let mut response = over_http::reply(StatusCode::TOO_MANY_REQUESTS, media, &body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// Runs checked requests (`checked` in the same order): authenticates, spends their cost
/// from the caller's budget, executes.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    client_ip: Option<IpAddr>,
    requests: Vec<Request>,
    checked: Vec<Checked>,
    batched: bool,
    media: ResponseMedia,
) -> Response {
    let principal = match authenticate(&state.keys, headers) {
        Ok(p) => p,
        Err(e) => {
            let status = e.status();
            return error_response(status, e.code(), &e.message());
        }
    };
    let total = checked.iter().map(|c| c.cost).fold(0, u64::saturating_add);
    let client = client_of(principal.as_ref(), client_ip);
    let points = u32::try_from(total).unwrap_or(u32::MAX);
    let decision = state.limiter.spend(&client, points).await;
    let reports: Option<Vec<RateLimit>> = decision.as_ref().map(|d| {
        if points > 0 {
            state.metrics.rate_limit_decision("graphql", d.is_allowed());
        }
        let at = reset_at(d.refill_after);
        checked.iter().map(|c| rate_limit(d, c.cost, at)).collect()
    });
    if let (Some(d), Some(reports)) = (&decision, &reports) {
        if !d.is_allowed() {
            return rate_limited(d, reports, batched, media);
        }
    }
    let docs: Vec<Option<Arc<ExecutableDocument>>> = checked.into_iter().map(|c| c.doc).collect();
    let names: Vec<Option<String>> = requests.iter().map(|r| r.operation_name.clone()).collect();
    let mut prepared = Vec::with_capacity(requests.len());
    for (i, mut request) in requests.into_iter().enumerate() {
        if let Some(Some(doc)) = docs.get(i) {
            request.set_parsed_query(ExecutableDocument::clone(doc));
        }
        request = request.data(state.db.clone());
        if let Some(replica) = &state.replica {
            request = request.data(replica.clone());
        }
        if let Some(report) = reports.as_ref().and_then(|r| r.get(i)) {
            request = request.data(report.clone());
        }
        if let Some(p) = &principal {
            request = request
                .data(Loaders::new(
                    state.db.clone(),
                    p.scope(),
                    std::time::Duration::from_millis(state.config.graphql.graphql_loader_delay_ms),
                ))
                .data(p.clone());
        }
        prepared.push(request);
    }
    let response = if batched {
        BatchResponse::Batch(
            futures::future::join_all(prepared.into_iter().map(|r| state.schema.execute(r))).await,
        )
    } else {
        let Some(request) = prepared.pop() else {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "The batch is empty.",
            );
        };
        BatchResponse::Single(state.schema.execute(request).await)
    };
    let finish = |r: async_graphql::Response, i: usize| {
        let doc = docs.get(i).and_then(Option::as_deref);
        let name = names.get(i).and_then(Option::as_deref);
        name_operation(doc, name);
        let mut r = with_codes(in_query_order(r, doc, name));
        if let Some(report) = reports.as_ref().and_then(|r| r.get(i)) {
            r.extensions
                .insert("cost".to_owned(), cost_extension(report));
        }
        r
    };
    let response = match response {
        BatchResponse::Single(r) => BatchResponse::Single(finish(r, 0)),
        BatchResponse::Batch(list) => BatchResponse::Batch(
            list.into_iter()
                .enumerate()
                .map(|(i, r)| finish(r, i))
                .collect(),
        ),
    };
    let unauthenticated = principal.is_none() && response_has_code(&response, "UNAUTHENTICATED");
    // An outage is the server's state, not the request's: say so at the HTTP level too, so
    // that load balancers and clients retry. So is a request past its time limit, whether the
    // server's clock or the database's (the same limit, as `statement_timeout`) noticed first.
    let unavailable = response_has_code(&response, "SERVICE_UNAVAILABLE")
        || response_has_code(&response, "TIMEOUT");
    // Under application/graphql-response+json a request that never reached execution says so
    // with its status; application/json keeps 200 for legacy clients.
    let refused = media == ResponseMedia::GraphqlResponseJson
        && matches!(&response, BatchResponse::Single(r) if over_http::is_request_error(r));
    let status = if unauthenticated {
        StatusCode::UNAUTHORIZED
    } else if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if refused {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut http = over_http::reply(status, media, &response);
    if unauthenticated {
        http.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if unavailable {
        http.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    http
}

/// Gives every error an `extensions.code` and the request's `extensions.requestId`. Errors
/// of our resolvers carry a code already; the rest come from async-graphql's parser,
/// validator and input coercion, which do not classify them: a bad argument or variable
/// value is BAD_USER_INPUT, anything else found before execution (no path) is
/// GRAPHQL_VALIDATION_FAILED.
pub(super) fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    if response.errors.is_empty() {
        return response;
    }
    let request_id = edge::request_id();
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if let Some(id) = &request_id {
            extensions.set("requestId", id.as_str());
        }
        if let Some(async_graphql::Value::String(code)) = extensions.get("code") {
            edge::record_graphql_errors([code.as_str()]);
            continue;
        }
        let bad_value = error.message.starts_with("Invalid value for argument")
            || error.message.starts_with("Failed to parse")
            || error.message.starts_with("Variable")
            || error.message.contains("Invalid value for variable");
        let code = if bad_value || !error.path.is_empty() {
            "BAD_USER_INPUT"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        edge::record_graphql_errors([code]);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
    response
}

fn response_has_code(response: &BatchResponse, code: &str) -> bool {
    let one = |r: &async_graphql::Response| {
        r.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map(|v| *v == async_graphql::Value::from(code))
                .unwrap_or(false)
        })
    };
    match response {
        BatchResponse::Single(r) => one(r),
        BatchResponse::Batch(list) => list.iter().any(one),
    }
}

/// JSON in UTF-8, the one request encoding served.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .map(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
                && m.get_param(mime::CHARSET)
                    .is_none_or(|c| c.as_str().eq_ignore_ascii_case("utf-8"))
        })
        .unwrap_or(false)
}

/// 406 when `Accept` allows none of the response media types.
fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        "BAD_REQUEST",
        "GraphQL responses are application/graphql-response+json or application/json (UTF-8); Accept allows neither.",
    )
}

/// `POST /graphql` with a JSON body: one operation or a batch.
pub async fn graphql_post(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = ResponseMedia::negotiate(&headers) else {
        return not_acceptable();
    };
    let client_ip = client_address(&extensions, &headers, &state.config.trusted_proxies);
    media.label(post(state, headers, client_ip, body, media).await)
}

async fn post(
    state: AppState,
    headers: HeaderMap,
    client_ip: Option<IpAddr>,
    body: Result<Bytes, BytesRejection>,
    media: ResponseMedia,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let (code, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
                (
                    "PAYLOAD_TOO_LARGE",
                    "The request body is larger than this server accepts.",
                )
            } else {
                ("BAD_REQUEST", "The request body could not be read.")
            };
            return error_response(status, code, message);
        }
    };
    if !is_json(&headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "GraphQL requests must be sent as application/json (UTF-8).",
        );
    }
    let batch = match over_http::parse_body(&body) {
        Ok(b) => b,
        Err(problem) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("The body is not a GraphQL request: {problem}."),
            )
        }
    };
    let max_batch = state.config.graphql.graphql_max_batch;
    let (mut requests, batched) = match batch {
        BatchRequest::Single(r) => (vec![r], false),
        BatchRequest::Batch(list) => (list, true),
    };
    if requests.is_empty() || requests.len() > max_batch {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            &format!(
                "A batch holds 1 to {max_batch} operations; this one holds {}.",
                requests.len()
            ),
        );
    }
    let mut checked = Vec::with_capacity(requests.len());
    for request in &mut requests {
        let registration = match state.persisted.resolve(request).await {
            Ok(registration) => registration,
            Err(refusal) => return persisted_refusal(&refusal, media),
        };
        match precheck(&state, request, false) {
            Ok(c) => {
                keep(&state, registration, &c, request).await;
                checked.push(c);
            }
            Err(response) => return response,
        }
    }
    execute(
        &state, &headers, client_ip, requests, checked, batched, media,
    )
    .await
}

fn asks_for_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("text/html"))
        .unwrap_or(false)
}

/// `GET /graphql`: a query in the query string, GraphiQL for a browser, or a WebSocket for
/// subscriptions (see [`ws`](super::ws)).
pub async fn graphql_get(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    extensions: Extensions,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match upgrade {
        Ok(upgrade) => return super::ws::upgrade(state, upgrade, headers).await,
        Err(rejection) if asks_for_websocket(&headers) => return rejection.into_response(),
        Err(_) => {}
    }
    let query = query.unwrap_or_default();
    let asks_for_operation = query.contains("query=") || query.contains("extensions=");
    if query.is_empty() || (wants_html(&headers) && !asks_for_operation) {
        if !state.config.graphql.graphiql {
            return error_response(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "GraphiQL is disabled; POST queries to /graphql.",
            );
        }
        return super::graphiql::page(&state.keys);
    }
    let Some(media) = ResponseMedia::negotiate(&headers) else {
        return not_acceptable();
    };
    // async-graphql's own query-string reader expects `operation_name`; the specification
    // spells it `operationName`.
    let mut request = match over_http::parse_query_string(&query) {
        Ok(r) => r,
        Err(problem) => {
            return media.label(error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("The query string is not a GraphQL request: {problem}."),
            ))
        }
    };
    let registration = match state.persisted.resolve(&mut request).await {
        Ok(registration) => registration,
        Err(refusal) => return media.label(persisted_refusal(&refusal, media)),
    };
    let checked = match precheck(&state, &request, true) {
        Ok(checked) => checked,
        Err(response) => return media.label(response),
    };
    keep(&state, registration, &checked, &request).await;
    let client_ip = client_address(&extensions, &headers, &state.config.trusted_proxies);
    let response = execute(
        &state,
        &headers,
        client_ip,
        vec![request],
        vec![checked],
        false,
        media,
    );
    media.label(response.await)
}
