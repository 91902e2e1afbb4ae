//! A graphql-transport-ws client for the tests: what a browser's `graphql-ws` does, by hand.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message it expects.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the server said it.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl Socket {
    /// Opens `/graphql` on `addr` with the graphql-transport-ws subprotocol and `headers`.
    pub async fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self::try_open(addr, headers)
            .await
            .expect("WebSocket upgrade")
    }

    /// [`Socket::open`], or the HTTP status the upgrade was refused with.
    pub async fn try_open(addr: SocketAddr, headers: &[(&str, &str)]) -> Result<Self, u16> {
        Self::try_open_speaking(addr, "graphql-transport-ws", headers).await
    }

    /// [`Socket::try_open`] asking for `protocol`, which the server must choose.
    pub async fn try_open_speaking(
        addr: SocketAddr,
        protocol: &'static str,
        headers: &[(&str, &str)],
    ) -> Result<Self, u16> {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, response)) => {
                assert_eq!(
                    response
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok()),
                    Some(protocol)
                );
                Ok(Self { ws })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("WebSocket upgrade failed: {e}"),
        }
    }

    /// Opens a socket and completes the handshake with `token` in the init payload.
    pub async fn connected(addr: SocketAddr, token: &str) -> Self {
        let mut socket = Self::open(addr, &[]).await;
        socket.init(Some(token)).await;
        let ack = socket.next().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn init(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next protocol message within [`WAIT`]; `None` when none came or the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(WAIT).await
    }

    /// The next protocol message within `wait` (pings and pongs skipped).
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match frame.ok()? {
                Message::Text(text) => return serde_json::from_str(&text).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The payload of the next `next` message of operation `id` (panics on anything else).
    pub async fn event(&mut self, id: &str) -> Value {
        let message = self.next().await.expect("an event");
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        message["payload"].clone()
    }

    /// Reads every message until the server closes the connection: how many came, and how
    /// it closed.
    pub async fn read_until_closed(&mut self) -> (usize, Closed) {
        let mut received = 0;
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("messages or a close in time");
            match frame {
                Some(Ok(Message::Text(_))) => received += 1,
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (
                        received,
                        Closed {
                            code: frame.code.into(),
                            reason: frame.reason.to_string(),
                        },
                    )
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return (
                        received,
                        Closed {
                            code: 1005,
                            reason: String::new(),
                        },
                    )
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Waits for the server to close the connection, and says how.
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the server closes the socket in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed {
                        code: frame.code.into(),
                        reason: frame.reason.to_string(),
                    }
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return Closed {
                        code: 1005,
                        reason: String::new(),
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}
