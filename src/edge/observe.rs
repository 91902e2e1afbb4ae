//! The outermost layer: gives each request its id and context (which every log line written
//! while serving it names, see [`logs`](super::logs)), and when the response body is done
//! (or dropped) writes the access-log line and records the metrics.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

use super::context::{RequestContext, REQUEST_ID};
use super::metrics::{Exchange, Metrics, MAX_OPERATION_NAME_LEN};
use super::Health;
use crate::state::AppState;

/// What the layer needs of the server's state.
pub struct Observer {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

impl Observer {
    pub fn of(state: &AppState) -> Arc<Self> {
        Arc::new(Self {
            metrics: state.metrics.clone(),
            health: state.health.clone(),
        })
    }
}

/// The middleware (see the module's documentation).
pub async fn observe(
    State(state): State<Arc<Observer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let context = Arc::new(RequestContext::from_headers(request.headers()));
    // Handlers read the id as the edge decided it, not as the client sent it.
    request.headers_mut().insert(REQUEST_ID, context.id.clone());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    state.metrics.request_started();
    // Reports the exchange when dropped: after the body is sent, or, when the client goes
    // away first, wherever the request was.
    let mut report = Report {
        metrics: state.metrics.clone(),
        context: context.clone(),
        method,
        route,
        status: CLIENT_CLOSED_REQUEST,
        bytes: 0,
        started,
    };
    let mut response = context.clone().scope(next.run(request)).await;
    response
        .headers_mut()
        .insert(REQUEST_ID, context.id.clone());
    if state.health.is_draining() {
        // Clients move to another instance now rather than on a connection closed under them.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    report.status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let observed = Observed {
        inner: body,
        report: Some(report),
    };
    Response::from_parts(parts, Body::new(observed))
}

/// The status logged for a request whose client left before the answer was sent (as
/// nginx logs it).
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// A response body that counts its bytes and reports the exchange when it ends.
struct Observed {
    inner: Body,
    report: Option<Report>,
}

struct Report {
    metrics: Arc<Metrics>,
    context: Arc<RequestContext>,
    method: Method,
    route: String,
    status: u16,
    bytes: u64,
    started: Instant,
}

impl Drop for Report {
    fn drop(&mut self) {
        let f = self;
        let elapsed = f.started.elapsed();
        let facts = f.context.take_facts();
        let method = method_label(&f.method);
        f.metrics.request_finished(&Exchange {
            method,
            route: &f.route,
            status: f.status,
            elapsed,
            facts: &facts,
        });
        let join = |parts: Vec<&str>| (!parts.is_empty()).then(|| parts.join(","));
        let operation_type = join(facts.operations.iter().map(|o| o.kind).collect());
        let operation_name = join(
            facts
                .operations
                .iter()
                .map(|o| match o.name.as_deref() {
                    None => "-",
                    Some(n) if n.len() > MAX_OPERATION_NAME_LEN => "(long)",
                    Some(n) => n,
                })
                .collect(),
        );
        let (token_kind, subject) = match &facts.caller {
            Some((kind, subject)) => (Some(*kind), Some(subject.as_str())),
            None => (None, None),
        };
        let latency_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        tracing::info!(
            target: "ticket_gateway::access",
            method,
            route = f.route,
            status = f.status,
            latency_ms,
            bytes = f.bytes,
            request_id = f.context.id_str(),
            token_kind,
            subject,
            operation_type,
            operation_name,
            timed_out = facts.timed_out.then_some(true),
            "request"
        );
    }
}

impl http_body::Body for Observed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(report)) = (frame.data_ref(), this.report.as_mut()) {
                    report.bytes += data.len() as u64;
                }
            }
            // The end of the body: report now rather than whenever the body is dropped.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => drop(this.report.take()),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Methods as metric labels: the standard ones, anything else as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
