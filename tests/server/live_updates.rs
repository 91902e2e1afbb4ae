//! Live updates across instances, seen from outside: two processes of the binary on one
//! database; a subscriber on the second hears of a categorization made through the first and
//! of rows changed by plain SQL from another connection, within a second. On PostgreSQL,
//! after its LISTEN connection is killed from the server side, the changes made meanwhile
//! still arrive.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use ticket_gateway::ids::MessageId;

use crate::harness::{all_areas_token, each_backend, ticket_ids, Db, Kind, Server, SECRET};
use crate::ws_client::Socket;

const SUBSCRIBE_TICKETS: &str =
    "subscription { ticketChanged { kind version ticket { id status humanVerifiedCategory } } }";
const SUBSCRIBE_MESSAGES: &str = "subscription { messageAdded { id ticketId } }";

async fn start(db: &Db, demo_data: bool) -> Server {
    Server::start(&[
        ("DATABASE_URL", db.url.as_str()),
        ("JWT_SECRET", SECRET),
        ("DEMO_DATA", if demo_data { "true" } else { "false" }),
    ])
    .await
}

/// The next event within `limit`, as (operation id, payload data).
async fn event_within(socket: &mut Socket, limit: Duration) -> (String, Value) {
    let message = socket
        .next_within(limit)
        .await
        .unwrap_or_else(|| panic!("an event within {limit:?}"));
    assert_eq!(message["type"], "next", "{message}");
    (
        message["id"].as_str().unwrap_or_default().to_owned(),
        message["payload"]["data"].clone(),
    )
}

async fn insert_message(sql: &DatabaseConnection, kind: Kind, ticket: &str) -> String {
    let id = MessageId::generate().to_string();
    let statement = match kind {
        Kind::Postgres => format!(
            "INSERT INTO support_ticket_message (id, ticket_id, position, message_type, message, created_at) \
             VALUES ('{id}', '{ticket}', 1000, 'CUSTOMER_RESPONSE', 'typed in psql', now())"
        ),
        Kind::Sqlite => format!(
            "INSERT INTO support_ticket_message (id, ticket_id, position, message_type, message, created_at) \
             VALUES ('{id}', '{ticket}', 1000, 'CUSTOMER_RESPONSE', 'typed in sqlite3', '2026-01-01 00:00:00+00:00')"
        ),
    };
    sql.execute_unprepared(&statement)
        .await
        .expect("insert a message");
    id
}

#[tokio::test]
async fn changes_through_one_instance_or_plain_sql_reach_a_subscriber_on_another() {
    each_backend(|db| async move {
        let first = start(&db, true).await;
        let second = start(&db, false).await;
        let token = all_areas_token();
        let list = first
            .get("/v2/support_tickets?page_size=2", Some(&token))
            .await;
        let ids = ticket_ids(&list);
        let (ticket, other) = (ids[0].clone(), ids[1].clone());

        let mut socket = Socket::connected(second.addr, &token).await;
        socket.subscribe("t", SUBSCRIBE_TICKETS, json!({})).await;
        socket.subscribe("m", SUBSCRIBE_MESSAGES, json!({})).await;
        tokio::time::sleep(Duration::from_millis(500)).await;

        // Through the first instance's REST shim.
        let patched = first
            .send(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[("content-type", "application/json")],
                Some(&json!({ "human_verified_category": "SOLAR" }).to_string()),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        let sent = Instant::now();
        let (id, data) = event_within(&mut socket, Duration::from_secs(1)).await;
        assert_eq!(id, "t");
        assert_eq!(data["ticketChanged"]["kind"], "CATEGORIZED");
        assert_eq!(data["ticketChanged"]["ticket"]["id"], json!(ticket));
        assert_eq!(
            data["ticketChanged"]["ticket"]["humanVerifiedCategory"],
            "SOLAR"
        );
        let through_instance = sent.elapsed();

        // Plain SQL from a connection of another program.
        let sql = Database::connect(db.url.as_str()).await.expect("connect");
        sql.execute_unprepared(&format!(
            "UPDATE support_ticket SET status = 'Closed' WHERE id = '{other}'"
        ))
        .await
        .expect("update");
        let (id, data) = event_within(&mut socket, Duration::from_secs(1)).await;
        assert_eq!(id, "t");
        assert_eq!(data["ticketChanged"]["kind"], "UPDATED");
        assert_eq!(data["ticketChanged"]["ticket"]["status"], "Closed");
        let message = insert_message(&sql, db.kind, &other).await;
        // Its first-response bookkeeping must not look like a change of the ticket.
        let (id, data) = event_within(&mut socket, Duration::from_secs(1)).await;
        assert_eq!(id, "m");
        assert_eq!(
            data["messageAdded"],
            json!({ "id": message, "ticketId": other })
        );
        assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);
        eprintln!(
            "{:?}: a change through the other instance arrived after {through_instance:?}",
            db.kind
        );

        if db.kind != Kind::Postgres {
            return;
        }
        // Kill the instances' LISTEN connections from the server side, and change things
        // before they can be back.
        let killed = sql
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            ))
            .await
            .expect("terminate the LISTEN connection");
        assert_eq!(killed.len(), 2, "each instance listens");
        sql.execute_unprepared(&format!(
            "UPDATE support_ticket SET status = 'Pending' WHERE id = '{ticket}'"
        ))
        .await
        .expect("update");
        let message = insert_message(&sql, db.kind, &ticket).await;
        let mut heard = Vec::new();
        while heard.len() < 2 {
            heard.push(event_within(&mut socket, Duration::from_secs(5)).await);
        }
        heard.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(heard[0].0, "m");
        assert_eq!(heard[0].1["messageAdded"]["id"], json!(message));
        assert_eq!(heard[1].0, "t");
        assert_eq!(heard[1].1["ticketChanged"]["ticket"]["status"], "Pending");
        let metrics = second.get("/metrics", None).await;
        assert!(
            metrics
                .text
                .contains("ticket_gateway_change_listener_reconnects_total 1"),
            "{}",
            metrics.text
        );
        let _ = sql.close().await;
    })
    .await;
}
