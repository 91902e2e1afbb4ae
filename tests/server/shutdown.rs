//! Stopping: on SIGTERM the server tells load balancers to go away (`/readyz` 503) while it
//! keeps serving for `SHUTDOWN_DRAIN_SECS`, closes its listener, lets the request in flight
//! finish, closes its WebSockets with 1001 (going away), and exits 0.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::harness::{all_areas_token, each_backend, exchange, Lock, Server, SECRET};

const DRAIN: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_finishes_the_request_in_flight_and_exits_0() {
    each_backend(|db| async move {
        let drain_secs = DRAIN.as_secs().to_string();
        let mut server = Server::start(&[
            ("DATABASE_URL", &db.url),
            ("JWT_SECRET", SECRET),
            ("LOG_FORMAT", "json"),
            ("SHUTDOWN_DRAIN_SECS", &drain_secs),
        ])
        .await;
        let token = all_areas_token();
        let ticket = server.one_ticket(&token).await;

        let lock = Lock::take(&db, &ticket).await;
        let addr = server.addr;
        let patch_token = token.clone();
        let path = format!("/v2/support_tickets/{ticket}");
        let patch_started = Instant::now();
        let patch = tokio::spawn(async move {
            exchange(
                addr,
                "PATCH",
                &path,
                Some(&patch_token),
                &[("content-type", "application/json")],
                Some(r#"{"human_verified_category":"SOLAR"}"#),
                Duration::from_secs(30),
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        if patch.is_finished() {
            let reply = patch.await.expect("the PATCH task");
            let (latency, status, text) = match reply {
                Ok(r) => (r.latency, Some(r.status), r.text),
                Err(e) => (patch_started.elapsed(), None, e),
            };
            panic!(
                "the PATCH did not wait for the {:?} lock the test holds: it was answered {status:?} \
                 after {latency:?}: {text}\nserver log:\n{}",
                db.kind,
                server.log_text()
            );
        }

        server.sigterm().await;
        let signalled = Instant::now();
        // The signal is handled asynchronously: /readyz turns within moments.
        let readyz = loop {
            let reply = server.get("/readyz", None).await;
            if reply.status == 503 || signalled.elapsed() > Duration::from_secs(1) {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            readyz.status, 503,
            "/readyz while draining: {}",
            readyz.text
        );
        assert!(
            readyz.is_problem_json(),
            "/readyz 503 is problem+json: {:?}",
            readyz.headers
        );
        assert_eq!(readyz.body["status"], 503, "{}", readyz.text);
        let livez = server.get("/livez", None).await;
        assert_eq!(livez.status, 200, "/livez while draining: {}", livez.text);
        let still = server
            .get("/v2/support_tickets?page_size=1", Some(&token))
            .await;
        assert_eq!(
            still.status, 200,
            "still serving while draining: {}",
            still.text
        );
        let served_until = signalled.elapsed();
        assert!(
            served_until < DRAIN,
            "the drain checks took {served_until:?}, longer than the drain"
        );
        assert!(!patch.is_finished(), "the PATCH still waits for the lock");

        // The listener closes once the drain is over: new connections are refused.
        let closed_after = loop {
            if TcpStream::connect(addr).await.is_err() {
                break signalled.elapsed();
            }
            assert!(
                signalled.elapsed() < DRAIN + Duration::from_secs(3),
                "the listener still accepts {:?} after SIGTERM",
                signalled.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            closed_after >= DRAIN - Duration::from_millis(100),
            "the listener closed {closed_after:?} after SIGTERM, before the {DRAIN:?} drain ended"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            server.exited(),
            None,
            "the process waits for the request in flight"
        );
        assert!(!patch.is_finished(), "the PATCH still waits for the lock");

        lock.release().await;
        let released = Instant::now();
        let reply = tokio::time::timeout(Duration::from_secs(10), patch)
            .await
            .expect("the PATCH ends once the lock is released")
            .expect("the PATCH task")
            .unwrap_or_else(|e| panic!("the PATCH in flight: {e}\n{}", server.log_text()));
        let patch_done = released.elapsed();
        assert_eq!(
            reply.status,
            200,
            "the PATCH in flight: {}\nserver log:\n{}",
            reply.text,
            server.log_text()
        );
        assert_eq!(
            reply.body["human_verified_category"], "SOLAR",
            "{}",
            reply.text
        );

        let status = server
            .wait_exit(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no exit within 5 s of the PATCH\n{}", server.log_text()));
        assert_eq!(
            status.code(),
            Some(0),
            "exit status: {status}\n{}",
            server.log_text()
        );
        eprintln!(
            "{:?}: /readyz 503 and still serving within {served_until:?} of SIGTERM; listener \
             closed after {closed_after:?}; PATCH 200 {:?} after the lock was released; \
             exit 0 {:?} after SIGTERM",
            db.kind,
            patch_done,
            signalled.elapsed()
        );
        let access = server.json_lines_of("ticket_gateway::access");
        assert!(
            access
                .iter()
                .any(|l| l["method"] == "PATCH" && l["status"] == 200),
            "the PATCH is in the access log: {access:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn on_sigterm_open_websockets_are_told_to_go_away_and_the_process_still_exits_0() {
    each_backend(|db| async move {
        let mut server = Server::start(&[
            ("DATABASE_URL", db.url.as_str()),
            ("JWT_SECRET", SECRET),
            ("DEMO_DATA", "false"),
        ])
        .await;
        let mut socket = crate::ws_client::Socket::connected(server.addr, &all_areas_token()).await;
        socket
            .subscribe(
                "1",
                "subscription { ticketChanged { kind } }",
                serde_json::json!({}),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.sigterm().await;
        let closed = socket.closed().await;
        assert_eq!(closed.code, 1001, "{closed:?}\n{}", server.log_text());
        let status = server
            .wait_exit(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no exit within 5 s\n{}", server.log_text()));
        assert_eq!(status.code(), Some(0), "{}", server.log_text());
    })
    .await;
}
