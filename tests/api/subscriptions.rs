//! Subscriptions over a WebSocket on `/graphql`, on a real listener: who hears of which
//! change, filters, the handshake's token and its expiry, and the limits.

use std::collections::BTreeSet;
use std::time::Duration;

use entity::{support_ticket, MessageType};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{json, Value};
use ticket_gateway::auth::Access;
use ticket_gateway::config::EdgeSettings;
use ticket_gateway::ids::TicketId;

use crate::helpers::*;
use crate::ws_client::Socket;

const TICKET_CHANGED: &str = "subscription($filter: TicketFilter) { ticketChanged(filter: $filter) { kind version ticket { id status humanVerifiedCategory messages { position } } } }";
const MESSAGE_ADDED: &str = "subscription($ticketId: ID, $filter: MessageFilter) { messageAdded(ticketId: $ticketId, filter: $filter) { id ticketId messageType } }";
const CATEGORIZE: &str = "mutation($id: ID!, $input: CategorizeTicketInput!) { categorizeTicket(id: $id, input: $input) { ticket { version } } }";

/// Lets a subscription that was just sent start before the test changes anything (the
/// protocol has no acknowledgement of a subscription).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// Changes a column of a ticket the way a script would: straight in the database.
pub async fn set_status(app: &TestApp, ticket: &TicketId, status: &str) {
    let mut row = support_ticket::Entity::find_by_id(ticket.to_string())
        .one(&app.db)
        .await
        .expect("read")
        .expect("ticket")
        .into_active_model();
    row.status = Set(Some(status.into()));
    row.update(&app.db).await.expect("update");
}

async fn categorize(app: &TestApp, ticket: &TicketId, category: &str) {
    let r = app
        .graphql(
            Some(&app.all_areas()),
            CATEGORIZE,
            json!({ "id": ticket.to_string(), "input": { "humanVerifiedCategory": category } }),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
}

fn by_external_id(ticket: &TicketId) -> Value {
    json!({ "filter": { "externalTicketId": { "eq": format!("ext-{ticket}") } } })
}

/// What each of several subscribers hears of: one socket per `(token, acting user)` on one
/// server, each subscribed to `ticketChanged` and `messageAdded`; then `change` runs, and
/// each socket's events are read until it has been quiet for half a second. Per socket: the
/// ids of the tickets it heard changed, and of the tickets it heard got a message.
pub async fn heard<F, Fut>(
    app: &TestApp,
    who: &[(String, Option<String>)],
    change: F,
) -> Vec<(BTreeSet<String>, BTreeSet<String>)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let mut sockets = Vec::new();
    for (token, acting) in who {
        let mut socket = Socket::open(addr, &[]).await;
        let mut payload = json!({ "Authorization": format!("Bearer {token}") });
        if let Some(user) = acting {
            payload["EvEnergy-User"] = json!(user);
        }
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = socket.next().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
            .subscribe(
                "t",
                "subscription { ticketChanged { ticket { id } } }",
                json!({}),
            )
            .await;
        socket
            .subscribe("m", "subscription { messageAdded { ticketId } }", json!({}))
            .await;
        sockets.push(socket);
    }
    settle().await;
    change().await;
    let mut out = Vec::new();
    for socket in &mut sockets {
        let (mut tickets, mut messages) = (BTreeSet::new(), BTreeSet::new());
        while let Some(message) = socket.next_within(Duration::from_millis(500)).await {
            assert_eq!(message["type"], "next", "{message}");
            let data = &message["payload"]["data"];
            match message["id"].as_str() {
                Some("t") => tickets.insert(data["ticketChanged"]["ticket"]["id"].to_string()),
                Some("m") => messages.insert(data["messageAdded"]["ticketId"].to_string()),
                other => panic!("unexpected operation {other:?}: {message}"),
            };
        }
        out.push((tickets, messages));
    }
    out
}

#[tokio::test]
async fn a_categorization_through_graphql_or_rest_reaches_a_subscriber_of_that_ticket() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let other = app.ticket(Some(&user)).await;
        app.message(&ticket, 0, MessageType::CustomerResponse, app.tick())
            .await;
        let (addr, _stop) = app.listening(EdgeSettings::default()).await;
        let mut socket = Socket::connected(addr, &app.user_token(&user, READ)).await;
        socket
            .subscribe("1", TICKET_CHANGED, by_external_id(&ticket))
            .await;
        settle().await;

        // Another ticket of the same user does not match the filter.
        categorize(&app, &other, "VEHICLE").await;
        categorize(&app, &ticket, "CHARGER").await;
        let event = socket.event("1").await;
        assert_eq!(
            event["data"]["ticketChanged"],
            json!({
                "kind": "CATEGORIZED",
                "version": 2,
                "ticket": {
                    "id": ticket.to_string(),
                    "status": "Open",
                    "humanVerifiedCategory": "CHARGER",
                    "messages": [{ "position": 0 }],
                },
            }),
            "{event}"
        );

        let r = app
            .rest(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&app.all_areas()),
                &[("content-type", "application/json")],
                Some(
                    json!({ "human_verified_category": "SOLAR" })
                        .to_string()
                        .into(),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let event = socket.event("1").await;
        assert_eq!(event["data"]["ticketChanged"]["kind"], "CATEGORIZED");
        assert_eq!(event["data"]["ticketChanged"]["version"], 3);
        assert_eq!(
            event["data"]["ticketChanged"]["ticket"]["humanVerifiedCategory"],
            "SOLAR"
        );

        // A change of another column is UPDATED, whoever writes it.
        set_status(&app, &ticket, "Closed").await;
        let event = socket.event("1").await;
        assert_eq!(event["data"]["ticketChanged"]["kind"], "UPDATED", "{event}");
        assert_eq!(event["data"]["ticketChanged"]["ticket"]["status"], "Closed");
        assert_eq!(socket.next_within(Duration::from_millis(600)).await, None);
    })
    .await;
}

#[tokio::test]
async fn a_user_token_never_hears_of_another_users_tickets_or_messages() {
    each_backend(|app| async move {
        let org = app.org().await;
        let me = app.user(Some(&org)).await;
        let colleague = app.user(Some(&org)).await;
        let stranger = app.user(None).await;
        let mine = app.ticket(Some(&me)).await;
        let theirs = app.ticket(Some(&colleague)).await;
        let strangers = app.ticket(Some(&stranger)).await;
        let nobodys = app.ticket(None).await;
        let (addr, _stop) = app.listening(EdgeSettings::default()).await;

        let mut user = Socket::connected(addr, &app.user_token(&me, READ)).await;
        let mut organization = Socket::connected(addr, &app.org_token(&org, READ)).await;
        let mut everything = Socket::connected(addr, &app.all_areas()).await;
        for socket in [&mut user, &mut organization, &mut everything] {
            socket.subscribe("t", TICKET_CHANGED, json!({})).await;
            socket.subscribe("m", MESSAGE_ADDED, json!({})).await;
        }
        settle().await;

        for ticket in [&nobodys, &strangers, &theirs, &mine] {
            categorize(&app, ticket, "CHARGER").await;
            app.message(ticket, 0, MessageType::CustomerResponse, app.tick())
                .await;
        }
        // Changes arrive in order, so once the last one visible to a token has arrived,
        // anything it should not have seen would have arrived before it.
        for (socket, expected) in [
            (&mut user, vec![&mine]),
            (&mut organization, vec![&theirs, &mine]),
            (&mut everything, vec![&nobodys, &strangers, &theirs, &mine]),
        ] {
            let mut tickets = Vec::new();
            let mut messages = Vec::new();
            while tickets.len() < expected.len() || messages.len() < expected.len() {
                let message = socket.next().await.expect("an event");
                assert_eq!(message["type"], "next", "{message}");
                match message["id"].as_str() {
                    Some("t") => tickets
                        .push(message["payload"]["data"]["ticketChanged"]["ticket"]["id"].clone()),
                    Some("m") => messages
                        .push(message["payload"]["data"]["messageAdded"]["ticketId"].clone()),
                    other => panic!("unexpected operation {other:?}"),
                }
            }
            let expected: Vec<Value> = expected.iter().map(|t| json!(t.to_string())).collect();
            assert_eq!(tickets, expected);
            assert_eq!(messages, expected);
            assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);
        }
    })
    .await;
}

#[tokio::test]
async fn a_ticket_that_leaves_the_scope_stops_producing_events() {
    each_backend(|app| async move {
        let me = app.user(None).await;
        let someone = app.user(None).await;
        let leaving = app.ticket(Some(&me)).await;
        let staying = app.ticket(Some(&me)).await;
        let (addr, _stop) = app.listening(EdgeSettings::default()).await;
        let mut socket = Socket::connected(addr, &app.user_token(&me, READ)).await;
        socket.subscribe("1", TICKET_CHANGED, json!({})).await;
        settle().await;

        let mut row = support_ticket::Entity::find_by_id(leaving.to_string())
            .one(&app.db)
            .await
            .expect("read")
            .expect("ticket")
            .into_active_model();
        row.user_id = Set(Some(someone.to_string()));
        row.update(&app.db).await.expect("move the ticket");
        set_status(&app, &leaving, "Closed").await;
        set_status(&app, &staying, "Pending").await;
        let event = socket.event("1").await;
        assert_eq!(
            event["data"]["ticketChanged"]["ticket"]["id"],
            json!(staying.to_string()),
            "the moved ticket was not reported: {event}"
        );
        assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);
    })
    .await;
}

#[tokio::test]
async fn filters_apply_to_tickets_and_messages() {
    each_backend(|app| async move {
        let ticket = app.ticket(None).await;
        let elsewhere = app.ticket(None).await;
        let (addr, _stop) = app.listening(EdgeSettings::default()).await;
        let mut socket = Socket::connected(addr, &app.all_areas()).await;
        socket
            .subscribe(
                "closed",
                TICKET_CHANGED,
                json!({ "filter": { "status": { "eq": "Closed" } } }),
            )
            .await;
        socket
            .subscribe(
                "agents",
                MESSAGE_ADDED,
                json!({
                    "ticketId": ticket.to_string(),
                    "filter": { "messageType": { "eq": "HUMAN_AGENT_RESPONSE" } },
                }),
            )
            .await;
        settle().await;

        set_status(&app, &ticket, "Pending").await;
        app.message(&ticket, 0, MessageType::CustomerResponse, app.tick()).await;
        app.message(&elsewhere, 0, MessageType::HumanAgentResponse, app.tick()).await;
        let agent = app
            .message(&ticket, 1, MessageType::HumanAgentResponse, app.tick())
            .await;
        set_status(&app, &ticket, "Closed").await;

        let first = socket.next().await.expect("an event");
        let second = socket.next().await.expect("an event");
        let mut by_id: std::collections::HashMap<String, Value> = [first, second]
            .into_iter()
            .map(|m| (m["id"].as_str().unwrap_or_default().to_owned(), m))
            .collect();
        let message = by_id.remove("agents").expect("the agent's message");
        assert_eq!(
            message["payload"]["data"]["messageAdded"],
            json!({ "id": agent.to_string(), "ticketId": ticket.to_string(), "messageType": "HUMAN_AGENT_RESPONSE" })
        );
        let change = by_id.remove("closed").expect("the ticket closed");
        assert_eq!(change["payload"]["data"]["ticketChanged"]["ticket"]["status"], "Closed");
        assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);

        // A ticket the token may not see cannot be subscribed to.
        let user = app.user(None).await;
        let mut narrow = Socket::connected(addr, &app.user_token(&user, READ)).await;
        narrow
            .subscribe("x", MESSAGE_ADDED, json!({ "ticketId": ticket.to_string() }))
            .await;
        let refused = narrow.event("x").await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused}");
    })
    .await;
}

#[tokio::test]
async fn the_handshake_needs_a_valid_token_with_read_access() {
    each_backend(|app| async move { handshake(app).await }).await;
}

async fn handshake(app: TestApp) {
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;

    let mut none = Socket::open(addr, &[]).await;
    none.init(None).await;
    assert_eq!(none.closed().await.code, 4401);

    let mut bad = Socket::open(addr, &[]).await;
    bad.init(Some("not-a-token")).await;
    let closed = bad.closed().await;
    assert_eq!(closed.code, 4401);
    assert!(closed.reason.starts_with("Unauthorized"), "{closed:?}");

    let mut write_only = Socket::open(addr, &[]).await;
    write_only
        .init(Some(&app.token(Access::AllAreas, "support:write")))
        .await;
    assert_eq!(write_only.closed().await.code, 4403);

    // Subscribing before the handshake is unauthorized too.
    let mut early = Socket::open(addr, &[]).await;
    early.subscribe("1", TICKET_CHANGED, json!({})).await;
    assert_eq!(early.closed().await.code, 4401);

    // The upgrade request's Authorization header serves when the payload has none.
    let header = format!("Bearer {}", app.all_areas());
    let mut by_header = Socket::open(addr, &[("authorization", header.as_str())]).await;
    by_header.init(None).await;
    assert_eq!(
        by_header.next().await.expect("ack")["type"],
        "connection_ack"
    );
}

#[tokio::test]
async fn the_socket_closes_with_4401_when_the_token_expires() {
    each_backend(|app| async move { expiry(app).await }).await;
}

async fn expiry(app: TestApp) {
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let token = app
        .keys
        .mint(&Access::AllAreas, READ, Duration::from_secs(2))
        .expect("mint");
    let mut socket = Socket::connected(addr, &token).await;
    socket.subscribe("1", TICKET_CHANGED, json!({})).await;
    let started = std::time::Instant::now();
    let closed = socket.closed().await;
    assert_eq!(closed.code, 4401, "{closed:?}");
    assert!(closed.reason.contains("expired"), "{closed:?}");
    assert!(
        started.elapsed() <= Duration::from_secs(4),
        "closed at expiry, not at a later check"
    );
}

/// Inserts `count` tickets with a subject of `size` bytes in one statement, as a bulk
/// import by another program would.
async fn bulk_insert(app: &TestApp, count: usize, size: usize) {
    use sea_orm::ConnectionTrait;
    let sql = match app.backend {
        "postgres" => format!(
            "INSERT INTO support_ticket (id, external_ticket_id, subject, status, tags, custom_fields, attributes, created_at, version) \
             SELECT 'tick' || lpad(i::text, 26, '0'), 'bulk-' || i, repeat('x', {size}), 'Open', '[]'::jsonb, '{{}}'::jsonb, '{{}}'::jsonb, now(), 1 \
             FROM generate_series(1, {count}) AS i"
        ),
        _ => format!(
            "INSERT INTO support_ticket (id, external_ticket_id, subject, status, tags, custom_fields, attributes, created_at, version) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             SELECT printf('tick%026d', i), 'bulk-' || i, printf('%.{size}c', 'x'), 'Open', '[]', '{{}}', '{{}}', '2026-01-01 00:00:00+00:00', 1 FROM n"
        ),
    };
    app.db.execute_unprepared(&sql).await.expect("bulk insert");
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_with_1013_rather_than_buffered() {
    each_backend(|app| async move {
        let (addr, _stop) = app.listening(EdgeSettings::default()).await;
        let mut socket = Socket::connected(addr, &app.all_areas()).await;
        socket
            .subscribe(
                "1",
                "subscription { ticketChanged { ticket { id subject } } }",
                json!({}),
            )
            .await;
        settle().await;
        // 3000 events of 10 KB each: more than the socket's buffers and the server's queue.
        bulk_insert(&app, 3000, 10_000).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (received, closed) = socket.read_until_closed().await;
        assert_eq!(closed.code, 1013, "{closed:?} after {received} messages");
        assert!(closed.reason.starts_with("Slow consumer"), "{closed:?}");
        assert!(
            received < 3000,
            "the server stopped sending: {received} of 3000"
        );

        let mut again = Socket::connected(addr, &app.all_areas()).await;
        again.send(json!({ "type": "ping" })).await;
        assert_eq!(
            again.next().await.expect("pong")["type"],
            "pong",
            "the server still serves"
        );
    })
    .await;
}

#[tokio::test]
async fn subscriptions_are_limited_per_connection_and_by_shape() {
    let app = sqlite_app().await;
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let mut socket = Socket::connected(addr, &app.all_areas()).await;
    for i in 0..ticket_gateway::graphql::MAX_SUBSCRIPTIONS {
        socket
            .subscribe(&i.to_string(), TICKET_CHANGED, json!({}))
            .await;
    }
    settle().await;
    socket
        .subscribe("one too many", TICKET_CHANGED, json!({}))
        .await;
    let refused = socket.next().await.expect("a refusal");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "one too many");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "BAD_REQUEST");

    // Completing one makes room for another.
    socket.send(json!({ "id": "0", "type": "complete" })).await;
    let done = socket.next().await.expect("completed");
    assert_eq!(done, json!({ "id": "0", "type": "complete" }));
    socket.subscribe("room", TICKET_CHANGED, json!({})).await;
    assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);

    // The shape limits are checked when subscribing, as for queries.
    let mut other = Socket::connected(addr, &app.all_areas()).await;
    let aliases: Vec<String> = (0..31).map(|i| format!("v{i}: version")).collect();
    let wide = format!(
        "subscription {{ ticketChanged {{ {} }} }}",
        aliases.join(" ")
    );
    other.subscribe("wide", &wide, json!({})).await;
    let refused = other.event("wide").await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = sqlite_app().await;
    let ticket = app.ticket(None).await;
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let mut socket = Socket::try_open_speaking(addr, "graphql-ws", &[])
        .await
        .expect("upgrade");
    socket.init(Some(&app.all_areas())).await;
    assert_eq!(socket.next().await.expect("ack")["type"], "connection_ack");
    socket
        .send(json!({ "id": "1", "type": "start", "payload": { "query": "subscription { ticketChanged { kind } }" } }))
        .await;
    settle().await;
    categorize(&app, &ticket, "CHARGER").await;
    let data = socket.next().await.expect("data");
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(
        data["payload"]["data"]["ticketChanged"]["kind"],
        "CATEGORIZED"
    );
}

#[tokio::test]
async fn a_message_that_is_not_the_protocols_closes_with_4400() {
    let app = sqlite_app().await;
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let mut socket = Socket::connected(addr, &app.all_areas()).await;
    socket.send(json!("not an object")).await;
    assert_eq!(socket.closed().await.code, 4400);
}

#[tokio::test]
async fn with_a_manifest_only_its_documents_run_over_the_socket_too() {
    let app = sqlite_app().await;
    let known = "subscription { ticketChanged { kind } }";
    let path = std::env::temp_dir().join(format!("manifest-{}.json", ulid::Ulid::new()));
    let hash = ticket_gateway::graphql::sha256_hex(known);
    std::fs::write(&path, json!({ &hash: known }).to_string()).expect("write");
    let settings = ticket_gateway::config::GraphqlSettings {
        persisted_queries_manifest: Some(path.clone()),
        ..Default::default()
    };
    let config = ticket_gateway::config::AppConfig::new(BASE_URL, settings).expect("config");
    let (addr, _stop) = app.listening_with(config).await;
    let mut socket = Socket::connected(addr, &app.all_areas()).await;
    socket.subscribe("free", TICKET_CHANGED, json!({})).await;
    let refused = socket.event("free").await;
    assert_eq!(
        error_code(&refused),
        Some("PERSISTED_QUERY_REQUIRED"),
        "{refused}"
    );
    assert_eq!(socket.next().await.expect("complete")["type"], "complete");

    socket
        .send(json!({ "id": "known", "type": "subscribe", "payload": {
            "query": "", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } } }))
        .await;
    settle().await;
    let ticket = app.ticket(None).await;
    categorize(&app, &ticket, "CHARGER").await;
    let event = socket.event("known").await;
    assert_eq!(event["data"]["ticketChanged"]["kind"], "CREATED", "{event}");
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_subscription_over_plain_http_is_refused_with_a_code() {
    let app = sqlite_app().await;
    let r = app
        .graphql(Some(&app.all_areas()), TICKET_CHANGED, json!({}))
        .await;
    assert!(error_code(&r.body).is_some(), "{}", r.text);
}

#[tokio::test]
async fn a_browser_page_of_another_origin_cannot_open_a_socket() {
    let app = sqlite_app().await;
    let (addr, _stop) = app.listening(EdgeSettings::default()).await;
    let refused = Socket::try_open(addr, &[("origin", "http://evil.example")]).await;
    assert_eq!(refused.err(), Some(403));
    let own = format!("http://{addr}");
    assert!(Socket::try_open(addr, &[("origin", own.as_str())])
        .await
        .is_ok());

    let allowed = EdgeSettings {
        cors_allowed_origins: vec!["http://localhost:3000".into()],
        ..EdgeSettings::default()
    };
    let (addr, _stop) = app.listening(allowed).await;
    assert!(
        Socket::try_open(addr, &[("origin", "http://localhost:3000")])
            .await
            .is_ok()
    );
    assert_eq!(
        Socket::try_open(addr, &[("origin", "http://localhost:4000")])
            .await
            .err(),
        Some(403)
    );
}

#[tokio::test]
async fn open_sockets_and_subscriptions_are_measured() {
    let app = sqlite_app().await;
    let edge = EdgeSettings::default();
    let (addr, _stop) = app.listening(edge).await;
    let mut socket = Socket::connected(addr, &app.all_areas()).await;
    socket.subscribe("1", TICKET_CHANGED, json!({})).await;
    settle().await;
    let ticket = app.ticket(None).await;
    categorize(&app, &ticket, "CHARGER").await;
    socket.event("1").await;
    let metrics = scrape(addr).await;
    assert_eq!(
        metric(&metrics, "ticket_gateway_websocket_connections", &[]),
        1.0
    );
    assert_eq!(
        metric(&metrics, "ticket_gateway_subscriptions_active", &[]),
        1.0
    );
    assert!(
        metric(
            &metrics,
            "ticket_gateway_subscription_events_delivered_total",
            &[("field", "ticketChanged")]
        ) >= 1.0,
        "{metrics}"
    );
}

/// `GET /metrics` of a listening server (HTTP/1.0: the body as it is, never chunked).
async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nhost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}
