//! What one request carries from the edge through the doors and back: its id, and what the
//! doors name on the way (the caller, the GraphQL operations), for the access log and the
//! metrics. Held in a task-local, so the doors say it without passing it around.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::auth::{Access, Principal};

/// The request id header, read on requests and set on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming request id kept as it is.
const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: Arc<RequestContext>;
}

/// One request as the edge sees it.
#[derive(Debug)]
pub struct RequestContext {
    /// The request id, as echoed in `X-Request-Id`.
    pub id: HeaderValue,
    facts: Mutex<Facts>,
}

/// What the doors said about the request.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// The token's kind (`user`, `organization`, `access_all_areas`) and its subject.
    pub caller: Option<(&'static str, String)>,
    /// The GraphQL operations the request ran, in batch order.
    pub operations: Vec<Operation>,
    /// The `extensions.code` of each GraphQL error the request was answered with.
    pub graphql_error_codes: Vec<String>,
    /// The request ran out of time and was cancelled.
    pub timed_out: bool,
}

/// One GraphQL operation of a request.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `query`, `mutation` or `subscription`.
    pub kind: &'static str,
    /// The operation's name; `None` for an anonymous one.
    pub name: Option<String>,
}

impl RequestContext {
    /// Keeps an incoming id that is printable ASCII of at most 128 characters; mints one
    /// otherwise.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let id = headers
            .get(&REQUEST_ID)
            .filter(|v| acceptable_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(mint_id);
        Self {
            id,
            facts: Mutex::default(),
        }
    }

    /// The request id as text (always ASCII).
    pub fn id_str(&self) -> &str {
        self.id.to_str().unwrap_or_default()
    }

    /// What the doors said, taken once the request is over.
    pub fn take_facts(&self) -> Facts {
        self.facts
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }

    /// Records something the doors said.
    pub fn update(&self, change: impl FnOnce(&mut Facts)) {
        if let Ok(mut facts) = self.facts.lock() {
            change(&mut facts);
        }
    }

    /// Runs `f` with this context as the current one.
    #[cfg(test)]
    pub fn sync_scope<R>(self: Arc<Self>, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }

    /// Runs `future` with this context as the current one.
    pub async fn scope<F: std::future::Future>(self: Arc<Self>, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

fn acceptable_id(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

fn mint_id() -> HeaderValue {
    // A ULID is 26 characters of Crockford base32: always a valid header value.
    HeaderValue::from_str(&ulid::Ulid::new().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

fn with_current(change: impl FnOnce(&RequestContext)) {
    let _ = CURRENT.try_with(|c| change(c));
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    with_request_id(str::to_owned)
}

/// What `f` makes of the id of the request being served, if any.
pub fn with_request_id<R>(f: impl FnOnce(&str) -> R) -> Option<R> {
    CURRENT.try_with(|c| f(c.id_str())).ok()
}

/// Names the caller of the request being served.
pub fn record_caller(principal: &Principal) {
    let kind = match &principal.access {
        Access::User(_) => "user",
        Access::Org(_) => "organization",
        Access::AllAreas => "access_all_areas",
    };
    with_current(|c| c.update(|f| f.caller = Some((kind, principal.subject.clone()))));
}

/// Marks the request being served as cancelled for running too long.
pub fn record_timeout() {
    with_current(|c| c.update(|f| f.timed_out = true));
}

/// Names a GraphQL operation of the request being served.
pub fn record_operation(operation: Operation) {
    with_current(|c| c.update(|f| f.operations.push(operation)));
}

/// Counts the GraphQL errors the request being served is answered with.
pub fn record_graphql_errors<'a>(codes: impl IntoIterator<Item = &'a str>) {
    with_current(|c| {
        c.update(|f| {
            f.graphql_error_codes
                .extend(codes.into_iter().map(str::to_owned))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(value: &[u8]) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
        RequestContext::from_headers(&headers).id_str().to_owned()
    }

    #[test]
    fn printable_ids_up_to_128_characters_are_kept_and_others_replaced() {
        assert_eq!(id_for(b"abc-123_X.y:z"), "abc-123_X.y:z");
        let longest = "a".repeat(128);
        assert_eq!(id_for(longest.as_bytes()), longest);
        for bad in [&b"a b"[..], b"tab\there", &[b'a'; 129], b"caf\xc3\xa9"] {
            let replaced = id_for(bad);
            assert_eq!(replaced.len(), 26, "{bad:?} replaced by a ULID");
            assert!(ulid::Ulid::from_string(&replaced).is_ok());
        }
        assert_eq!(
            RequestContext::from_headers(&HeaderMap::new())
                .id_str()
                .len(),
            26
        );
    }
}
