//! GraphQL over HTTP, as its specification words it: the request parameters read strictly
//! from a JSON body or a query string, the response media type chosen from `Accept`, and
//! response bodies written in it.

use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::accept::Accept;

/// How a GraphQL response is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/json`: the legacy type, for clients that do not ask for the other.
    Json,
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponseJson,
}

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl ResponseMedia {
    /// The media type `Accept` prefers: the higher quality, then the more specific range, then
    /// the one listed first; a wildcard alone means `application/json`. No `Accept` (or an
    /// empty one) means `application/json`. `None` when `Accept` allows neither, including a
    /// charset other than UTF-8, which is all this server writes.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let accept = Accept::of(headers);
        if accept.is_blank() {
            return Some(Self::Json);
        }
        let accept = accept.in_charset("utf-8");
        [Self::Json, Self::GraphqlResponseJson]
            .into_iter()
            .filter_map(|media| Some((media, accept.preference(media.essence())?)))
            .filter(|(_, p)| p.quality > 0.0)
            // `max_by` keeps the last of equals, so `Json` goes last to win a full tie.
            .rev()
            .max_by(|(_, a), (_, b)| {
                a.quality
                    .total_cmp(&b.quality)
                    .then(a.specificity.cmp(&b.specificity))
                    .then(b.position.cmp(&a.position))
            })
            .map(|(media, _)| media)
    }

    fn essence(self) -> &'static str {
        match self {
            Self::Json => JSON,
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
        }
    }

    pub fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            Self::GraphqlResponseJson => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
        }
    }

    /// Marks a JSON response of `/graphql` as this media type.
    pub fn label(self, mut response: Response) -> Response {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, self.content_type());
        response
    }
}

/// Whether a response ended before execution (a parse or validation error, an operation
/// that cannot be determined, a variable that cannot be coerced): the GraphQL specification
/// calls these request errors, and their response has no `data`. Execution errors always carry
/// the path of their field.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The HTTP response of one or a batch of GraphQL responses. `data` is left out of request
/// errors, and out of every response under `application/graphql-response+json` when the
/// status is not 2xx (that media type promises a 2xx whenever `data` is there).
pub fn reply(status: StatusCode, media: ResponseMedia, response: &BatchResponse) -> Response {
    let keep_data = |r: &async_graphql::Response| {
        !is_request_error(r) && (media == ResponseMedia::Json || status.is_success())
    };
    let body = match response {
        BatchResponse::Single(r) => serde_json::to_vec(&Wire(r, keep_data(r))),
        BatchResponse::Batch(list) => serde_json::to_vec(&Batch(list, &keep_data)),
    };
    match body {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, media.content_type())],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "a GraphQL response could not be written");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// One response, with or without its `data`, in async-graphql's member order.
struct Wire<'a>(&'a async_graphql::Response, bool);

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Wire(response, with_data) = self;
        let mut map = serializer.serialize_map(None)?;
        if *with_data {
            map.serialize_entry("data", &response.data)?;
        }
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &response.extensions)?;
        }
        if !response.errors.is_empty() {
            map.serialize_entry("errors", &response.errors)?;
        }
        map.end()
    }
}

struct Batch<'a, F>(&'a [async_graphql::Response], &'a F);

impl<F: Fn(&async_graphql::Response) -> bool> Serialize for Batch<'_, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&Wire(r, (self.1)(r)))?;
        }
        seq.end()
    }
}

/// The request(s) of a JSON body: one object, or an array of them (a batch). The error says
/// what is wrong, naming the parameter.
pub fn parse_body(body: &[u8]) -> Result<BatchRequest, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| request(item).map_err(|e| format!("operation {i} of the batch: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(BatchRequest::Batch),
        Ok(item) => request(item).map(BatchRequest::Single),
        Err(_) => Err(
            "the body is not JSON: expected an object with a `query`, or an array of them".into(),
        ),
    }
}

/// One request object. `null` stands for an absent parameter, and an empty `operationName`
/// for none.
fn request(item: Value) -> Result<Request, String> {
    let Value::Object(mut params) = item else {
        return Err("expected a JSON object with a `query`".into());
    };
    params.retain(|_, v| !v.is_null());
    if params
        .get("operationName")
        .is_some_and(|v| v.as_str() == Some(""))
    {
        params.remove("operationName");
    }
    check_params(&params)?;
    serde_json::from_value(Value::Object(params)).map_err(|e| format!("not a GraphQL request: {e}"))
}

/// The parameters' types, as the specification gives them.
fn check_params(params: &Map<String, Value>) -> Result<(), String> {
    // A persisted query may leave the document out: its hash stands for it.
    let persisted = params
        .get("extensions")
        .and_then(|e| e.get("persistedQuery"))
        .is_some();
    match params.get("query") {
        Some(Value::String(_)) => {}
        Some(_) => return Err("`query` must be a string: the GraphQL document".into()),
        None if persisted => {}
        None => return Err("`query` is missing: the GraphQL document, as a string".into()),
    }
    if params.get("operationName").is_some_and(|v| !v.is_string()) {
        return Err("`operationName` must be a string".into());
    }
    for name in ["variables", "extensions"] {
        if params.get(name).is_some_and(|v| !v.is_object()) {
            return Err(format!("`{name}` must be an object (a map)"));
        }
    }
    Ok(())
}

/// The request of a GET query string: `query`, and optionally `operationName` and the JSON
/// texts `variables` and `extensions`. Other parameters are ignored; the request's own ones
/// may appear once each.
pub fn parse_query_string(raw: &str) -> Result<Request, String> {
    let mut params = Map::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = match name.as_ref() {
            "query" | "operationName" => Value::String(value.into_owned()),
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|_| format!("`{name}` must be JSON text (an object)"))?,
            _ => continue,
        };
        if params.insert(name.clone().into_owned(), value).is_some() {
            return Err(format!("`{name}` is given more than once"));
        }
    }
    request(Value::Object(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<ResponseMedia> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        ResponseMedia::negotiate(&headers)
    }

    #[test]
    fn accept_picks_the_preferred_supported_type() {
        use ResponseMedia::*;
        assert_eq!(ResponseMedia::negotiate(&HeaderMap::new()), Some(Json));
        assert_eq!(accept(""), Some(Json));
        assert_eq!(accept("*/*"), Some(Json));
        assert_eq!(accept("application/*"), Some(Json));
        assert_eq!(accept("application/json"), Some(Json));
        assert_eq!(accept(GRAPHQL_RESPONSE_JSON), Some(GraphqlResponseJson));
        assert_eq!(
            accept(
                "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8"
            ),
            Some(GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json"),
            Some(Json)
        );
        assert_eq!(
            accept("application/json;q=0.9, application/graphql-response+json"),
            Some(GraphqlResponseJson)
        );
        assert_eq!(
            accept("*/*, application/graphql-response+json;q=0.5"),
            Some(Json)
        );
        assert_eq!(
            accept("application/*, application/json;q=0"),
            Some(GraphqlResponseJson)
        );
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json; charset=utf-16"), None);
        assert_eq!(accept("application/json;q=0"), None);
        assert_eq!(accept("text/html, */*;q=0.8"), Some(Json));
    }

    #[test]
    fn request_parameters_are_checked_for_their_types() {
        let ok = parse_body(
            br#"{"query":"{ a }","operationName":null,"variables":null,"extensions":null}"#,
        );
        assert!(matches!(ok, Ok(BatchRequest::Single(_))));
        let named = parse_body(br#"{"query":"query A { a }","operationName":"A","variables":{"x":1},"extensions":{"e":true}}"#);
        let Ok(BatchRequest::Single(r)) = named else {
            panic!("{named:?}")
        };
        assert_eq!(r.operation_name.as_deref(), Some("A"));
        for bad in [
            r#"{"qeury":"{ a }"}"#,
            r#"{"query":{}}"#,
            r#"{"query":0}"#,
            r#"{"query":"{ a }","operationName":false}"#,
            r#"{"query":"{ a }","variables":"{}"}"#,
            r#"{"query":"{ a }","variables":[7]}"#,
            r#"{"query":"{ a }","extensions":0}"#,
            r#"[{"query":"{ a }"}, 1]"#,
            r#"{ "not JSON"#,
            "7",
        ] {
            assert!(parse_body(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_string_reads_operation_name_and_json_variables() {
        let r = parse_query_string(
            "query=query%20A%20%7B%20a%20%7D%20query%20B%20%7B%20b%20%7D&operationName=B&variables=%7B%22x%22%3A1%7D",
        )
        .unwrap();
        assert_eq!(r.operation_name.as_deref(), Some("B"));
        assert_eq!(
            r.variables.get("x").map(|v| v.to_string()),
            Some("1".into())
        );
        let unnamed = parse_query_string("query=%7B%20a%20%7D&operationName=").unwrap();
        assert_eq!(unnamed.operation_name, None);
        assert!(parse_query_string("operationName=B").is_err());
        assert!(parse_query_string("query=a&query=b").is_err());
        assert!(parse_query_string("query=a&variables=%5B7%5D").is_err());
        assert!(parse_query_string("query=a&variables=nope").is_err());
    }
}
