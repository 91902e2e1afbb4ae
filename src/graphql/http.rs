//! `/graphql` over HTTP: JSON POSTs (single or batched), GET queries, and GraphiQL for
//! browsers. Enforces the limits the executor does not: body size (router), batch size,
//! expanded size, depth, aliases, and no mutations over GET.

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, ServerError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::order::in_query_order;
use super::over_http::{self, ResponseMedia};
use super::shape::{measure, MAX_EXPANDED_FIELDS};
use super::Loaders;
use crate::auth::authenticate;
use crate::edge;
use crate::error::{AppError, RETRY_AFTER_SECS};
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

/// What the executor does not check itself, measured before it validates anything (see
/// [`shape`](super::shape)): expanded size, depth, aliases per operation, and (for GET)
/// that the operation is not a mutation. Unparsable queries are left to the executor to report.
/// Returns the parsed document (from the per-process cache when the text was seen before),
/// handed to the executor so it does not parse again, and kept to put the response in order.
fn precheck(
    state: &AppState,
    request: &Request,
    via_get: bool,
) -> Result<Option<Arc<ExecutableDocument>>, Response> {
    let Some(doc) = state.documents.parse(&request.query) else {
        return Ok(None);
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
    for op in operations {
        if via_get && op.node.ty == OperationType::Mutation {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "Mutations must be sent with POST.",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return Err(response);
        }
        let shape = measure(&op.node.selection_set.node, &doc);
        if shape.fields > MAX_EXPANDED_FIELDS {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                "GRAPHQL_VALIDATION_FAILED",
                &format!(
                    "The operation expands to more than {MAX_EXPANDED_FIELDS} field selections (fragments count wherever they are spread)."
                ),
            ));
        }
        let max_depth = state.config.graphql.graphql_max_depth;
        let nesting = shape.depth;
        if nesting > max_depth {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                "GRAPHQL_VALIDATION_FAILED",
                &format!(
                    "The operation nests {nesting} levels deep; at most {max_depth} are allowed."
                ),
            ));
        }
        let aliases = shape.aliases;
        if aliases > max_aliases {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!(
                    "The operation uses {aliases} aliases; at most {max_aliases} are allowed."
                ),
            ));
        }
    }
    Ok(Some(doc))
}

/// Runs checked requests; `docs` holds each request's parsed document, in batch order.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: BatchRequest,
    docs: Vec<Option<Arc<ExecutableDocument>>>,
    media: ResponseMedia,
) -> Response {
    let principal = match authenticate(&state.keys, headers) {
        Ok(p) => p,
        Err(e) => {
            let status = e.status();
            return error_response(status, e.code(), &e.message());
        }
    };
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(list) => list,
    };
    let names: Vec<Option<String>> = requests.iter().map(|r| r.operation_name.clone()).collect();
    let mut prepared = Vec::with_capacity(requests.len());
    for (i, mut request) in requests.into_iter().enumerate() {
        if let Some(Some(doc)) = docs.get(i) {
            request.set_parsed_query(ExecutableDocument::clone(doc));
        }
        request = request.data(state.db.clone());
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
    let single = prepared.len() == 1;
    let response = if single {
        let Some(request) = prepared.pop() else {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "The batch is empty.",
            );
        };
        BatchResponse::Single(state.schema.execute(request).await)
    } else {
        BatchResponse::Batch(
            futures::future::join_all(prepared.into_iter().map(|r| state.schema.execute(r))).await,
        )
    };
    let finish = |r: async_graphql::Response, i: usize| {
        let doc = docs.get(i).and_then(Option::as_deref);
        let name = names.get(i).and_then(Option::as_deref);
        name_operation(doc, name);
        with_codes(in_query_order(r, doc, name))
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
    // that load balancers and clients retry.
    let unavailable = response_has_code(&response, "SERVICE_UNAVAILABLE");
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
fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = ResponseMedia::negotiate(&headers) else {
        return not_acceptable();
    };
    media.label(post(state, headers, body, media).await)
}

async fn post(
    state: AppState,
    headers: HeaderMap,
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
    let requests: Vec<&Request> = match &batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(list) => list.iter().collect(),
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
    let mut docs = Vec::with_capacity(requests.len());
    for request in requests {
        match precheck(&state, request, false) {
            Ok(doc) => docs.push(doc),
            Err(response) => return response,
        }
    }
    execute(&state, &headers, batch, docs, media).await
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("text/html"))
        .unwrap_or(false)
}

/// `GET /graphql`: a query in the query string, or GraphiQL for a browser.
pub async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() || (wants_html(&headers) && !query.contains("query=")) {
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
    let request = match over_http::parse_query_string(&query) {
        Ok(r) => r,
        Err(problem) => {
            return media.label(error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("The query string is not a GraphQL request: {problem}."),
            ))
        }
    };
    let doc = match precheck(&state, &request, true) {
        Ok(doc) => doc,
        Err(response) => return media.label(response),
    };
    let single = BatchRequest::Single(request);
    media.label(execute(&state, &headers, single, vec![doc], media).await)
}
