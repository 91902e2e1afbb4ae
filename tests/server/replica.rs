//! Statistics on a streaming replica the test starts itself (`initdb`, then
//! `pg_basebackup -R`): they are read there while pages and writes stay on the primary, and a
//! replica that goes away sends them back to the primary with a warning, failing nothing.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::cluster::Cluster;
use crate::harness::{all_areas_token, in_ci, notice, ticket_ids, Server, SECRET};

/// One number from `sql`.
async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Connections of the gateway's replica pool whose last statement read tickets.
const STATISTICS_SEEN: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE application_name = 'ticket-gateway-replica' AND query ILIKE '%support_ticket%'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_read_from_the_replica_and_from_the_primary_once_it_is_gone() {
    let clusters = async {
        Cluster::can_run().await?;
        let primary = Cluster::start().await?;
        let admin = Database::connect(primary.url("postgres").as_str())
            .await
            .map_err(|e| e.to_string())?;
        admin
            .execute_unprepared("CREATE DATABASE gateway")
            .await
            .map_err(|e| e.to_string())?;
        let _ = admin.close().await;
        let replica = primary.replica().await?;
        Ok::<_, String>((primary, replica))
    };
    let (primary, mut replica) = match clusters.await {
        Ok(both) => both,
        Err(why) => {
            assert!(
                !in_ci(),
                "the replica test needs its own PostgreSQL under CI: {why}"
            );
            notice(&format!("replica test skipped: {why}"));
            return;
        }
    };
    let server = Server::start(&[
        ("DATABASE_URL", &primary.url("gateway")),
        ("DATABASE_REPLICA_URL", &replica.url("gateway")),
        ("JWT_SECRET", SECRET),
        ("LOG_FORMAT", "json"),
    ])
    .await;
    let token = all_areas_token();
    let on_primary = Database::connect(primary.url("gateway").as_str())
        .await
        .expect("connect to the primary");
    let on_replica = Database::connect(replica.url("gateway").as_str())
        .await
        .expect("connect to the replica");
    // The demo data, written on the primary, reaches the replica.
    let tickets = number(&on_primary, "SELECT count(*) FROM support_ticket").await;
    assert!(tickets > 0);
    let started = Instant::now();
    while number(&on_replica, "SELECT count(*) FROM support_ticket").await != tickets {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica never caught up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Statistics, through both doors, are read on the replica.
    let r = server
        .get("/v2/support-ticket-stats/status", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let query = json!({ "query": "{ stats { total resolution { totalResolved } statusBreakdown { value tickets(first: 1) { totalCount } } } }" });
    let r = server
        .send(
            "POST",
            "/graphql",
            Some(&token),
            &[("content-type", "application/json")],
            Some(&query.to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["errors"].is_null(), "{}", r.text);
    assert_eq!(
        r.body["data"]["stats"]["total"],
        json!(tickets),
        "{}",
        r.text
    );
    assert!(number(&on_replica, STATISTICS_SEEN).await > 0);
    let replica_pool_on_primary = "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = 'ticket-gateway-replica'";
    assert_eq!(number(&on_primary, replica_pool_on_primary).await, 0);

    let drilled = &r.body["data"]["stats"]["statusBreakdown"][0]["tickets"]["totalCount"];
    assert!(drilled.as_u64().is_some_and(|n| n > 0), "{}", r.text);

    // A write goes to the primary, and is read back from it at once.
    let list = server
        .get("/v2/support_tickets?page_size=1", Some(&token))
        .await;
    let ticket = ticket_ids(&list).into_iter().next().unwrap_or_default();
    assert!(!ticket.is_empty(), "{}", list.text);
    let patch =
        json!({ "human_verified_category": "CHARGER", "human_verified_subcategory": "OFFLINE" });
    let r = server
        .send(
            "PATCH",
            &format!("/v2/support_tickets/{ticket}"),
            Some(&token),
            &[("content-type", "application/json")],
            Some(&patch.to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server
        .get(&format!("/v2/support_tickets/{ticket}"), Some(&token))
        .await;
    assert_eq!(r.body["human_verified_category"], "CHARGER", "{}", r.text);

    // The replica goes away: statistics still answer, from the primary, and a warning says so.
    let _ = on_replica.close().await;
    replica.stop_fast().await.expect("stop the replica");
    for door in [
        "/v2/support-ticket-stats/status",
        "/v2/support-ticket-stats/resolution",
    ] {
        let r = server.get(door, Some(&token)).await;
        assert_eq!(r.status, 200, "{door}: {}", r.text);
    }
    server
        .wait_for_line(|l| l.contains("ticket_gateway::data::replica"))
        .await;
    let warned = server
        .json_lines_of("ticket_gateway::data::replica")
        .iter()
        .filter(|l| l["level"] == "WARN")
        .count();
    assert_eq!(warned, 1, "{}", server.log_text());
}
