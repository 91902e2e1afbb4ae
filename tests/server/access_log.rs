//! The access log as operators read it: with `LOG_FORMAT=json`, one JSON object per line on
//! standard error, one line per request carrying the request id the client sent, the route
//! template rather than the path, the caller and the GraphQL operation, and never a
//! credential or a value a client sent in GraphQL variables.

use serde_json::{json, Value};

use crate::harness::{all_areas_token, each_backend, ticket_ids, Lock, Server, SECRET};

const TICKET_ROUTE: &str = "/v2/support_tickets/{support_ticket_id}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_access_log_lines_carry_the_request_id_and_never_a_token() {
    each_backend(|db| async move {
        let mut server = Server::start(&[
            ("DATABASE_URL", &db.url),
            ("JWT_SECRET", SECRET),
            ("LOG_FORMAT", "json"),
        ])
        .await;
        let token = all_areas_token();
        let list = server
            .get("/v2/support_tickets?page_size=2", Some(&token))
            .await;
        assert_eq!(list.status, 200, "{}", list.text);
        let ids = ticket_ids(&list);
        assert!(ids.len() >= 2, "two tickets: {}", list.text);
        let (fetched, queried) = (ids[0].clone(), ids[1].clone());
        let missing = format!("tick{}", ulid::Ulid::new());
        let trace = || format!("trace-me-{}", ulid::Ulid::new());

        // A REST read of one ticket.
        let rest_id = trace();
        let rest = server
            .send(
                "GET",
                &format!("/v2/support_tickets/{fetched}"),
                Some(&token),
                &[("x-request-id", &rest_id)],
                None,
            )
            .await;
        assert_eq!(rest.status, 200, "{}", rest.text);
        assert_eq!(rest.header("x-request-id"), Some(rest_id.as_str()));

        // A named GraphQL query whose variable is a value the log must not repeat.
        let graphql_id = trace();
        let body = json!({
            "query": "query FindMe($id: ID!) { ticket(id: $id) { id subject } }",
            "variables": { "id": queried },
            "operationName": "FindMe",
        })
        .to_string();
        let graphql = server
            .send(
                "POST",
                "/graphql",
                Some(&token),
                &[
                    ("content-type", "application/json"),
                    ("x-request-id", &graphql_id),
                ],
                Some(&body),
            )
            .await;
        assert_eq!(graphql.status, 200, "{}", graphql.text);
        assert_eq!(
            graphql.body["data"]["ticket"]["id"], queried,
            "{}",
            graphql.text
        );
        assert_eq!(graphql.header("x-request-id"), Some(graphql_id.as_str()));

        // A request that fails.
        let failing_id = trace();
        let failing = server
            .send(
                "GET",
                &format!("/v2/support_tickets/{missing}"),
                Some(&token),
                &[("x-request-id", &failing_id)],
                None,
            )
            .await;
        assert_eq!(failing.status, 404, "{}", failing.text);
        assert!(failing.is_problem_json(), "{:?}", failing.headers);
        assert_eq!(failing.body["request_id"], failing_id, "{}", failing.text);
        assert_eq!(failing.header("x-request-id"), Some(failing_id.as_str()));

        // A compressed answer goes out whole, with its length, and is logged as sent.
        let document_id = trace();
        let document = server
            .send(
                "GET",
                "/v2/openapi.json",
                None,
                &[("accept-encoding", "zstd"), ("x-request-id", &document_id)],
                None,
            )
            .await;
        assert_eq!(document.status, 200, "{}", document.text);
        assert_eq!(document.header("content-encoding"), Some("zstd"));
        assert_eq!(document.header("transfer-encoding"), None);
        let sent = document.body_len.to_string();
        assert_eq!(document.header("content-length"), Some(sent.as_str()));

        // Every line is written once the process has stopped.
        let records = server.stop_with_json_lines().await;
        let lines = server.lines();
        let access_line = |request_id: &str| -> Value {
            let found: Vec<&Value> = records
                .iter()
                .filter(|r| r["target"] == "ticket_gateway::access")
                .filter(|r| r["request_id"] == request_id)
                .collect();
            assert_eq!(
                found.len(),
                1,
                "one access line for {request_id}:\n{}",
                lines.join("\n")
            );
            found[0].clone()
        };
        let check = |line: &Value, method: &str, route: &str, status: u16, bytes: usize| {
            assert_eq!(line["method"], method, "{line}");
            assert_eq!(line["route"], route, "{line}");
            assert_eq!(line["status"], status, "{line}");
            let latency = line["latency_ms"].as_f64();
            assert!(latency.is_some_and(|ms| ms >= 0.0), "latency_ms: {line}");
            assert_eq!(line["bytes"], bytes, "bytes as sent: {line}");
            assert_eq!(line["token_kind"], "access_all_areas", "{line}");
            assert!(
                line["subject"].as_str().is_some_and(|s| !s.is_empty()),
                "subject: {line}"
            );
        };

        let rest_line = access_line(&rest_id);
        check(&rest_line, "GET", TICKET_ROUTE, 200, rest.body_len);
        assert!(rest_line.get("operation_type").is_none(), "{rest_line}");

        let graphql_line = access_line(&graphql_id);
        check(&graphql_line, "POST", "/graphql", 200, graphql.body_len);
        assert_eq!(graphql_line["operation_type"], "query", "{graphql_line}");
        assert_eq!(graphql_line["operation_name"], "FindMe", "{graphql_line}");

        let failing_line = access_line(&failing_id);
        check(&failing_line, "GET", TICKET_ROUTE, 404, failing.body_len);

        let document_line = access_line(&document_id);
        assert_eq!(
            document_line["route"], "/v2/openapi.json",
            "{document_line}"
        );
        assert_eq!(document_line["status"], 200, "{document_line}");
        assert_eq!(document_line["bytes"], document.body_len, "{document_line}");
        assert!(document_line.get("span").is_none(), "{document_line}");

        let text = lines.join("\n");
        for (what, secret) in [
            ("the token", token.as_str()),
            ("the word Bearer", "Bearer"),
            ("the GraphQL variable's value", queried.as_str()),
            ("the id in a REST path", fetched.as_str()),
            ("the id in a failing REST path", missing.as_str()),
        ] {
            assert!(
                !text.contains(secret),
                "{what} appears in the log ({:?}):\n{text}",
                db.kind
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_logged_while_serving_a_request_names_its_id() {
    each_backend(|db| async move {
        let mut server = Server::start(&[
            ("DATABASE_URL", &db.url),
            ("JWT_SECRET", SECRET),
            ("LOG_FORMAT", "json"),
            ("REQUEST_TIMEOUT_SECS", "1"),
        ])
        .await;
        let token = all_areas_token();
        let ticket = server.one_ticket(&token).await;

        // A PATCH that waits on a row the test holds runs out of time, which is logged as a
        // warning while the request is served.
        let lock = Lock::take(&db, &ticket).await;
        let request_id = format!("trace-me-{}", ulid::Ulid::new());
        let patch = server
            .send(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[
                    ("content-type", "application/json"),
                    ("x-request-id", &request_id),
                ],
                Some(r#"{"human_verified_category":"SOLAR"}"#),
            )
            .await;
        lock.release().await;
        assert_eq!(patch.status, 503, "{}", patch.text);
        assert_eq!(patch.body["request_id"], request_id, "{}", patch.text);

        let records = server.stop_with_json_lines().await;
        let lines = server.lines();
        let of_request: Vec<&Value> = records
            .iter()
            .filter(|r| r["request_id"] == request_id.as_str())
            .collect();
        let warning = of_request
            .iter()
            .find(|r| r["level"] == "WARN" && r["target"] != "ticket_gateway::access");
        assert!(
            warning.is_some_and(|w| w["message"]
                .as_str()
                .is_some_and(|m| m.contains("ran too long"))),
            "the timeout's warning names the request:\n{}",
            lines.join("\n")
        );
        assert!(
            of_request
                .iter()
                .any(|r| r["target"] == "ticket_gateway::access" && r["status"] == 503),
            "{}",
            lines.join("\n")
        );
    })
    .await;
}
