//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol (what the
//! `graphql-ws` library, Apollo Client and GraphiQL speak) and the legacy `graphql-ws` one.
//!
//! async-graphql runs the protocol; around it this module adds what it does not do:
//! - the token, from the `connection_init` payload (`{"Authorization": "Bearer ..."}`) or the
//!   upgrade request's headers, verified before the connection is acknowledged: none or an
//!   invalid one closes with 4401, one without `support:read` with 4403, and the socket
//!   closes with 4401 the moment the token expires;
//! - the same shape and cost limits and the same points budget as over HTTP, per operation;
//! - at most [`MAX_SUBSCRIPTIONS`] operations at once per connection and
//!   `SUBSCRIPTIONS_MAX_CONNECTIONS` connections per server;
//! - a bounded queue of outgoing messages: a client that does not read its messages, or a
//!   subscription that falls behind the changes, is closed with [`CLOSE_SLOW`] rather than
//!   buffered forever;
//! - persisted documents and the trusted-documents manifest, as over HTTP;
//! - 4400 for a message that is not JSON of the protocol;
//! - keep-alive pings, and a close with 1001 when the server stops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::http::{WebSocket as Protocol, WebSocketProtocols as Protocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message as Frame, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::http::{check, keep, with_codes};
use super::order::in_query_order;
use super::subscription::Overrun;
use super::Loaders;
use crate::auth::{authenticate, OAuthScope, Principal, ACTING_USER_HEADER};
use crate::error::AppError;
use crate::limit::client_of;
use crate::state::AppState;

/// Operations one connection may run at once.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// Messages waiting to be written to one client; more, and the client is too slow.
pub const OUTGOING_QUEUE: usize = 1024;

/// How often the server pings an idle client.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// How long a client has to send `connection_init` (then 4408, as the protocol says).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code for a client that reads too slowly: "try again later", which `graphql-ws`
/// clients answer by reconnecting (and should refetch what they show).
pub const CLOSE_SLOW: u16 = 1013;

/// The open connections of one server, and the signal that closes them when it stops.
pub struct Sockets {
    open: AtomicUsize,
    closing: watch::Sender<bool>,
}

impl Default for Sockets {
    fn default() -> Self {
        Self {
            open: AtomicUsize::new(0),
            closing: watch::Sender::new(false),
        }
    }
}

impl Sockets {
    /// Closes every connection with 1001 (the server is going away).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Waits until every connection has closed.
    pub async fn all_closed(&self) {
        while self.open() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    fn take(self: &Arc<Self>, max: usize) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| Slot(self.clone()))
    }
}

/// One connection's place among [`Sockets`], given back when dropped.
struct Slot(Arc<Sockets>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a browser page of `origin` may open a socket: as `CORS_ALLOWED_ORIGINS` lets it
/// call the API, or, without that setting, only pages of this server. Clients that send no
/// `Origin` are not browsers and are let through.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let allowed = &state.config.edge.cors_allowed_origins;
    if !allowed.is_empty() {
        return allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(origin));
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

/// The headers a token may come in, kept from the upgrade request.
fn credentials(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [
        header::AUTHORIZATION,
        HeaderName::from_static(ACTING_USER_HEADER),
    ] {
        if let Some(value) = headers.get(&name) {
            kept.insert(name, value.clone());
        }
    }
    kept
}

/// Answers a WebSocket upgrade of `/graphql`.
pub async fn upgrade(
    state: AppState,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
) -> HttpResponse {
    if !origin_allowed(&state, &headers) {
        return AppError::Forbidden(
            "This origin may not open a WebSocket here (CORS_ALLOWED_ORIGINS).".into(),
        )
        .into_response();
    }
    let max = state.config.graphql.subscriptions_max_connections;
    let Some(slot) = state.sockets.take(max) else {
        let mut response = AppError::NotReady(format!(
            "The server holds its most WebSocket connections ({max}); try again later."
        ))
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let credentials = credentials(&headers);
    let upgrade = upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(state.config.graphql.max_body_bytes);
    let protocol = match upgrade.selected_protocol().map(|p| p.as_bytes()) {
        Some(b"graphql-ws") => Protocols::SubscriptionsTransportWS,
        _ => Protocols::GraphQLWS,
    };
    upgrade.on_upgrade(move |socket| async move {
        state.metrics.websocket_connections(1.0);
        serve(&state, socket, protocol, credentials).await;
        state.metrics.websocket_connections(-1.0);
        drop(slot);
    })
}

/// Why the server closes a connection.
struct Close(u16, String);

impl Close {
    fn unauthorized(why: String) -> Self {
        Self(4401, format!("Unauthorized: {why}"))
    }
}

/// What the reading side tells the connection's loop.
enum Control {
    Close(Close),
    /// The token was accepted; it expires at this time (seconds since the epoch).
    Authenticated(Option<i64>),
    /// Send this text to the client (an error the protocol says to send).
    Send(String),
}

/// The fields of a client message this module looks at.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<serde_json::Value>,
}

/// The credentials of a `connection_init` payload, over those of the upgrade request.
fn init_credentials(upgrade: &HeaderMap, payload: Option<&serde_json::Value>) -> HeaderMap {
    let mut headers = upgrade.clone();
    let Some(serde_json::Value::Object(fields)) = payload else {
        return headers;
    };
    for (name, value) in fields {
        let lower = name.to_ascii_lowercase();
        if lower != "authorization" && lower != ACTING_USER_HEADER {
            continue;
        }
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(lower.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The reading side: looks at each client message before async-graphql does.
struct Gate {
    state: AppState,
    credentials: HeaderMap,
    principal: Arc<OnceLock<Principal>>,
    active: Arc<AtomicUsize>,
    control: mpsc::UnboundedSender<Control>,
    protocol: Protocols,
}

impl Gate {
    /// The message to pass on to the protocol, if any.
    fn inspect(&self, frame: Frame) -> Option<Vec<u8>> {
        let bytes = match frame {
            Frame::Text(text) => text.as_bytes().to_vec(),
            Frame::Binary(bytes) => bytes.to_vec(),
            _ => return None,
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&bytes) else {
            let _ = self.control.send(Control::Close(Close(
                4400,
                "Invalid message: expected a JSON object with a `type`".into(),
            )));
            return None;
        };
        match envelope.kind.as_str() {
            "connection_init" => {
                if self.principal.get().is_some() {
                    // A second init: the protocol closes with 4429.
                    return Some(bytes);
                }
                let headers = init_credentials(&self.credentials, envelope.payload.as_ref());
                match authenticate(&self.state.keys, &headers) {
                    Ok(Some(principal)) if principal.has(OAuthScope::Read) => {
                        let expires = principal.expires_at;
                        let _ = self.principal.set(principal);
                        let _ = self.control.send(Control::Authenticated(expires));
                        Some(bytes)
                    }
                    Ok(Some(_)) => {
                        let _ = self.control.send(Control::Close(Close(
                            4403,
                            "Forbidden: the token lacks the `support:read` scope".into(),
                        )));
                        None
                    }
                    Ok(None) => {
                        let _ = self.control.send(Control::Close(Close::unauthorized(
                            "send a token in the connection_init payload (Authorization: Bearer <token>)".into(),
                        )));
                        None
                    }
                    Err(e) => {
                        let _ = self
                            .control
                            .send(Control::Close(Close::unauthorized(e.message())));
                        None
                    }
                }
            }
            "subscribe" | "start" => {
                if self.principal.get().is_none() {
                    let _ = self.control.send(Control::Close(Close::unauthorized(
                        "subscribe after connection_ack".into(),
                    )));
                    return None;
                }
                if self.active.load(Ordering::SeqCst) >= MAX_SUBSCRIPTIONS {
                    let id = envelope.id.unwrap_or_default();
                    let _ = self.control.send(Control::Send(self.refusal(
                        &id,
                        "BAD_REQUEST",
                        &format!(
                            "A connection runs at most {MAX_SUBSCRIPTIONS} operations at once; complete one first."
                        ),
                    )));
                    return None;
                }
                Some(bytes)
            }
            _ => Some(bytes),
        }
    }

    /// The protocol's error message for operation `id`.
    fn refusal(&self, id: &str, code: &str, message: &str) -> String {
        let error = serde_json::json!({ "message": message, "extensions": { "code": code } });
        let payload = match self.protocol {
            Protocols::GraphQLWS => serde_json::json!([error]),
            Protocols::SubscriptionsTransportWS => error,
        };
        serde_json::json!({ "id": id, "type": "error", "payload": payload }).to_string()
    }
}

/// Runs each operation of one connection as the HTTP door would: checked, paid for, with
/// the caller's principal and fresh loaders, its response in requested order.
#[derive(Clone)]
struct Operations {
    state: AppState,
    principal: Arc<OnceLock<Principal>>,
    active: Arc<AtomicUsize>,
    overrun: Overrun,
}

/// Counts an operation of a connection while it runs.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refused(error: ServerError) -> BoxStream<'static, Response> {
    futures::stream::once(async move { with_codes(Response::from_errors(vec![error])) }).boxed()
}

impl Executor for Operations {
    async fn execute(&self, request: Request) -> Response {
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let Some(principal) = self.principal.get().cloned() else {
            return refused(
                AppError::Unauthenticated("Authentication credentials were not provided.".into())
                    .into_graphql()
                    .into_server_error(Default::default()),
            );
        };
        let state = self.state.clone();
        let overrun = self.overrun.clone();
        self.active.fetch_add(1, Ordering::SeqCst);
        let running = Running(self.active.clone());
        let session = session_data.unwrap_or_default();
        futures::stream::once(async move {
            // As over HTTP: a hash stands for its document, and a manifest allows only its own.
            let registration = match state.persisted.resolve(&mut request).await {
                Ok(registration) => registration,
                Err(refusal) => {
                    let mut error = ServerError::new(refusal.message(), None);
                    let mut extensions = async_graphql::ErrorExtensionValues::default();
                    extensions.set("code", refusal.code());
                    error.extensions = Some(extensions);
                    return refused(error);
                }
            };
            let checked = match check(&state, &request, false) {
                Ok(checked) => checked,
                Err(refusal) => return refused(refusal.into_server_error()),
            };
            keep(&state, registration, &checked, &request).await;
            let doc = checked.doc.clone();
            if let Some(doc) = &doc {
                request
                    .set_parsed_query(async_graphql::parser::types::ExecutableDocument::clone(doc));
            }
            let loaders = Loaders::new(
                state.db.clone(),
                principal.scope(),
                Duration::from_millis(state.config.graphql.graphql_loader_delay_ms),
            );
            request = request
                .data(state.db.clone())
                .data(loaders)
                .data(state.changes.clone())
                .data(state.metrics.clone())
                .data(overrun)
                .data(principal.clone());
            if let Some(replica) = &state.replica {
                request = request.data(replica.clone());
            }
            let name = request.operation_name.clone();
            let points = u32::try_from(checked.cost).unwrap_or(u32::MAX);
            let client = client_of(Some(&principal), None);
            if let Some(decision) = state.limiter.spend(&client, points).await {
                if points > 0 {
                    state
                        .metrics
                        .rate_limit_decision("graphql", decision.is_allowed());
                }
                if !decision.is_allowed() {
                    let wait = decision.retry_after_secs.max(1);
                    return refused(
                        AppError::RateLimited {
                            retry_after_secs: wait,
                        }
                        .into_graphql()
                        .into_server_error(Default::default()),
                    );
                }
            }
            state
                .schema
                .execute_stream_with_session_data(request, session)
                .map(move |response| {
                    let _running = &running;
                    with_codes(in_query_order(response, doc.as_deref(), name.as_deref()))
                })
                .boxed()
        })
        .flatten()
        .boxed()
    }
}

/// Serves one upgraded connection until either side closes it.
async fn serve(state: &AppState, socket: WebSocket, protocol: Protocols, credentials: HeaderMap) {
    let (sink, source) = socket.split();
    let (outgoing, queued) = mpsc::channel::<Frame>(OUTGOING_QUEUE);
    let (close_now, closing_frame) = tokio::sync::oneshot::channel::<CloseFrame>();
    let writer = tokio::spawn(write(sink, queued, closing_frame));
    let (control, mut controls) = mpsc::unbounded_channel::<Control>();
    let (overrun, mut overruns) = mpsc::unbounded_channel::<u64>();
    let principal = Arc::new(OnceLock::new());
    let active = Arc::new(AtomicUsize::new(0));
    let gate = Gate {
        state: state.clone(),
        credentials,
        principal: principal.clone(),
        active: active.clone(),
        control,
        protocol,
    };
    let incoming = source
        .take_while(|frame| futures::future::ready(frame.is_ok()))
        .filter_map(move |frame| futures::future::ready(frame.ok().and_then(|f| gate.inspect(f))));
    let operations = Operations {
        state: state.clone(),
        principal,
        active,
        overrun: Overrun(overrun),
    };
    let mut graphql = Box::pin(
        Protocol::new(operations, incoming, protocol)
            .on_connection_init(|_| async { Ok(Data::default()) }),
    );
    let mut closing = state.sockets.closing.subscribe();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let mut initialised = false;
    let expiry = tokio::time::sleep_until(far);
    tokio::pin!(expiry);
    let close: Option<Close> = loop {
        tokio::select! {
            message = graphql.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if outgoing.try_send(Frame::Text(text.into())).is_err() {
                        state.metrics.subscription_events_dropped("slow_consumer", 1);
                        break Some(Close(CLOSE_SLOW, format!(
                            "Slow consumer: more than {OUTGOING_QUEUE} messages waited unread"
                        )));
                    }
                }
                Some(WsMessage::Close(code, reason)) => break Some(Close(code, reason)),
                None => break None,
            },
            Some(c) = controls.recv() => match c {
                Control::Close(close) => break Some(close),
                Control::Authenticated(expires) => {
                    initialised = true;
                    if let Some(at) = expires {
                        let left = at.saturating_sub(chrono::Utc::now().timestamp()).max(0);
                        let left = Duration::from_secs(u64::try_from(left).unwrap_or(0));
                        let now = tokio::time::Instant::now();
                        expiry.as_mut().reset(now.checked_add(left).unwrap_or(far));
                    }
                }
                Control::Send(text) => {
                    if outgoing.try_send(Frame::Text(text.into())).is_err() {
                        break Some(Close(CLOSE_SLOW, "Slow consumer".into()));
                    }
                }
            },
            Some(missed) = overruns.recv() => {
                break Some(Close(CLOSE_SLOW, format!(
                    "Slow consumer: a subscription fell {missed} changes behind"
                )));
            }
            () = &mut expiry => break Some(Close::unauthorized("the token has expired".into())),
            () = &mut init_deadline, if !initialised => {
                break Some(Close(4408, "Connection initialisation timeout".into()));
            }
            _ = ping.tick() => {
                let _ = outgoing.try_send(Frame::Ping(Default::default()));
            }
            () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                break Some(Close(1001, "The server is shutting down".into()));
            }
        }
    };
    // Ends the operations (and their subscriptions) before the socket.
    drop(graphql);
    if let Some(Close(code, reason)) = close {
        let _ = close_now.send(CloseFrame {
            code,
            reason: reason.chars().take(120).collect::<String>().into(),
        });
    }
    drop(outgoing);
    let abort = writer.abort_handle();
    if tokio::time::timeout(WRITE_PATIENCE + Duration::from_secs(1), writer)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// How long the server waits for a client to take a close frame.
const WRITE_PATIENCE: Duration = Duration::from_secs(10);

/// The writing side: sends what is queued until the connection's loop asks it to close. A
/// close goes out at once, ahead of what is still queued (a client too slow to read its
/// messages still learns why it is cut off when it reads again).
async fn write(
    mut sink: futures::stream::SplitSink<WebSocket, Frame>,
    mut queued: mpsc::Receiver<Frame>,
    mut close: tokio::sync::oneshot::Receiver<CloseFrame>,
) {
    let close = loop {
        let frame = tokio::select! {
            biased;
            frame = &mut close => break frame.ok(),
            frame = queued.recv() => match frame {
                Some(frame) => frame,
                None => break None,
            },
        };
        tokio::select! {
            biased;
            frame = &mut close => break frame.ok(),
            sent = sink.send(frame) => if sent.is_err() { return },
        }
    };
    let _ = tokio::time::timeout(WRITE_PATIENCE, async {
        if let Some(frame) = close {
            let _ = sink.send(Frame::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    })
    .await;
}
