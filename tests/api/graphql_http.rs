//! `/graphql` as the GraphQL-over-HTTP specification words it: request parameters, the
//! response media type chosen from `Accept`, and the status codes of each media type.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::helpers::{each_backend, error_code, TestApp, TestResponse};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A POST of `body` with an optional `Accept` and the all-areas token.
async fn post(app: &TestApp, accept: Option<&str>, body: &str) -> TestResponse {
    let mut request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app.all_areas()));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    app.send(request.body(Body::from(body.to_owned())).expect("request"))
        .await
}

async fn get(app: &TestApp, accept: Option<&str>, query: &str) -> TestResponse {
    let mut request = Request::get(format!("/graphql?{query}"))
        .header("authorization", format!("Bearer {}", app.all_areas()));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

fn query(q: &str) -> String {
    json!({ "query": q }).to_string()
}

/// `n` aliased copies of one selection.
fn repeated(n: usize, selection: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {selection}")).collect();
    query(&format!("{{ {} }}", fields.join(" ")))
}

fn media(r: &TestResponse) -> &str {
    r.header("content-type").unwrap_or_default()
}

fn has_data(r: &TestResponse) -> bool {
    r.body.as_object().is_some_and(|o| o.contains_key("data"))
}

#[tokio::test]
async fn get_runs_the_operation_named_by_operation_name() {
    each_backend(|app| async move {
        app.ticket(None).await;
        let document =
            "query A { categories { categories { value } } } query B { tickets { totalCount } }";
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", document)
            .append_pair("operationName", "B")
            .finish();
        let r = get(&app, None, &encoded).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body_sans_cost(),
            json!({ "data": { "tickets": { "totalCount": 1 } } }),
            "{}",
            app.backend
        );

        let with_variables: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "query",
                "query Count($f: TicketFilter) { tickets(filter: $f) { totalCount } }",
            )
            .append_pair("variables", r#"{"f": {"status": {"eq": "Closed"}}}"#)
            .append_pair("operationName", "Count")
            .finish();
        let r = get(&app, None, &with_variables).await;
        assert_eq!(
            r.body_sans_cost(),
            json!({ "data": { "tickets": { "totalCount": 0 } } }),
            "{}",
            r.text
        );

        let unnamed = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", document)
            .finish();
        let r = get(&app, None, &unnamed).await;
        assert_eq!(r.status, 200, "application/json keeps 200: {}", r.text);
        assert!(r.body["errors"][0]["message"].is_string(), "{}", r.text);
        assert!(!has_data(&r), "no operation ran: {}", r.text);
    })
    .await;
}

#[tokio::test]
async fn graphql_response_json_answers_400_without_data_when_the_request_never_runs() {
    each_backend(|app| async move {
        let ticket = app.ticket(None).await;
        let ok = post(&app, Some(GRAPHQL_RESPONSE), &query("{ tickets { totalCount } }")).await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(media(&ok), "application/graphql-response+json; charset=utf-8");
        assert_eq!(ok.body_sans_cost(), json!({ "data": { "tickets": { "totalCount": 1 } } }));

        let refused = [
            ("parse failure", query("{ tickets {")),
            ("unknown field", query("{ nope }")),
            ("operation not chosen", query("query A { viewer { access } } query B { viewer { access } }")),
            ("unknown operation", json!({ "query": "query A { viewer { access } }", "operationName": "B" }).to_string()),
            (
                "variable coercion",
                json!({ "query": "query($id: ID!) { node(id: $id) { id } }", "variables": { "id": null } }).to_string(),
            ),
            ("complexity", repeated(26, "stats { resolution { medianHours } firstResponse { medianHours } }")),
            ("aliases", repeated(31, "viewer { access }")),
        ];
        for (what, body) in refused {
            let r = post(&app, Some(GRAPHQL_RESPONSE), &body).await;
            assert_eq!(r.status, 400, "{what}: {}", r.text);
            assert_eq!(media(&r), "application/graphql-response+json; charset=utf-8", "{what}");
            assert!(!has_data(&r), "{what}: {}", r.text);
            assert!(r.body["errors"][0]["message"].is_string(), "{what}: {}", r.text);
            assert!(error_code(&r.body).is_some(), "{what}: {}", r.text);
        }

        // An error during execution keeps the partial data, and 200.
        let partial = post(
            &app,
            Some(GRAPHQL_RESPONSE),
            &query(&format!(
                r#"{{ viewer {{ access }} ticket(id: "{ticket}") {{ messages(filter: {{ position: {{ gte: 3, lte: 1 }} }}) {{ id }} }} }}"#
            )),
        )
        .await;
        assert_eq!(partial.status, 200, "{}", partial.text);
        assert_eq!(
            partial.body["data"],
            json!({ "viewer": { "access": "ALL_AREAS" }, "ticket": null }),
            "{}",
            partial.text
        );
        assert_eq!(error_code(&partial.body), Some("BAD_USER_INPUT"), "{}", partial.text);
    })
    .await;
}

#[tokio::test]
async fn application_json_stays_the_default_and_answers_200_for_request_errors() {
    each_backend(|app| async move {
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/*"),
            Some("text/html, */*;q=0.8"),
        ] {
            let r = post(&app, accept, &query("{ tickets { totalCount } }")).await;
            assert_eq!(r.status, 200, "{accept:?}: {}", r.text);
            assert_eq!(media(&r), "application/json; charset=utf-8", "{accept:?}");
        }
        let preferred = post(
            &app,
            Some("application/json;q=0.5, application/graphql-response+json"),
            &query("{ nope }"),
        )
        .await;
        assert_eq!(
            (preferred.status.as_u16(), media(&preferred)),
            (400, "application/graphql-response+json; charset=utf-8")
        );
        let listed_first = post(
            &app,
            Some("application/json, application/graphql-response+json"),
            &query("{ nope }"),
        )
        .await;
        assert_eq!(
            (listed_first.status.as_u16(), media(&listed_first)),
            (200, "application/json; charset=utf-8")
        );

        for body in [query("{"), query("{ nope }")] {
            let r = post(&app, Some("application/json"), &body).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                error_code(&r.body),
                Some("GRAPHQL_VALIDATION_FAILED"),
                "{}",
                r.text
            );
            assert!(!has_data(&r), "a request error has no data: {}", r.text);
        }
    })
    .await;
}

#[tokio::test]
async fn an_accept_without_a_graphql_media_type_is_406_and_nothing_runs() {
    each_backend(|app| async move {
        let ticket = app.ticket(None).await;
        let mutation = json!({
            "query": "mutation($id: ID!) { categorizeTicket(id: $id, input: { humanVerifiedCategory: CHARGER, expectedVersion: 1 }) { ticket { version } } }",
            "variables": { "id": ticket.to_string() },
        })
        .to_string();
        for accept in ["text/html", "application/xml", "application/json; charset=utf-16", "application/json;q=0"] {
            let r = post(&app, Some(accept), &mutation).await;
            assert_eq!(r.status, 406, "{accept}: {}", r.text);
            assert_eq!(error_code(&r.body), Some("BAD_REQUEST"), "{}", r.text);
        }
        let r = get(&app, Some("text/csv"), "query=%7B%20viewer%20%7B%20access%20%7D%20%7D").await;
        assert_eq!(r.status, 406, "{}", r.text);
        let after = app
            .graphql(Some(&app.all_areas()), "query($id: ID!) { node(id: $id) { ... on Ticket { version } } }", json!({ "id": ticket.to_string() }))
            .await;
        assert_eq!(after.body["data"]["node"]["version"], json!(1), "{}", after.text);
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_are_400_and_say_which_parameter_is_wrong() {
    each_backend(|app| async move {
        let cases: [(&str, &str); 9] = [
            ("", "not JSON"),
            (r#"{ "not a JSON"#, "not JSON"),
            (r#"{"qeury": "{ viewer { access } }"}"#, "`query` is missing"),
            (r#"{"query": {"obj": "ect"}}"#, "`query` must be a string"),
            (r#"{"query": ["array"]}"#, "`query` must be a string"),
            (r#"{"query": "{ viewer { access } }", "operationName": 0}"#, "`operationName` must be a string"),
            (r#"{"query": "{ viewer { access } }", "variables": [7]}"#, "`variables` must be an object"),
            (r#"{"query": "{ viewer { access } }", "extensions": "string"}"#, "`extensions` must be an object"),
            (r#"[{"query": "{ viewer { access } }"}, false]"#, "operation 1 of the batch"),
        ];
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            for (body, says) in cases {
                let r = post(&app, accept, body).await;
                assert_eq!(r.status, 400, "{body}: {}", r.text);
                assert_eq!(error_code(&r.body), Some("BAD_USER_INPUT"), "{}", r.text);
                let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(message.contains(says), "{body}: {message}");
                assert!(!has_data(&r), "{}", r.text);
            }
        }
        let nulls = r#"{"query": "{ viewer { access } }", "operationName": null, "variables": null, "extensions": null}"#;
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            let r = post(&app, accept, nulls).await;
            assert_eq!(r.status, 200, "null stands for an absent parameter: {}", r.text);
            assert!(r.body["errors"].is_null(), "{}", r.text);
        }
        let r = get(&app, Some(GRAPHQL_RESPONSE), "qeury=%7B%20viewer%20%7B%20access%20%7D%20%7D&operationName=x").await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(media(&r), "application/graphql-response+json; charset=utf-8");
        let r = get(&app, None, "query=%7B%20viewer%20%7B%20access%20%7D%20%7D&variables=%5B7%5D").await;
        assert_eq!(r.status, 400, "{}", r.text);
    })
    .await;
}

#[tokio::test]
async fn request_bodies_are_utf8_json_and_other_charsets_are_415() {
    each_backend(|app| async move {
        let send = |content_type: &'static str| {
            let request = Request::post("/graphql")
                .header("content-type", content_type)
                .header("authorization", format!("Bearer {}", app.all_areas()))
                .body(Body::from(query(
                    r#"{ __type(name: "Run🏃Swim🏊") { name } }"#,
                )))
                .expect("request");
            app.send(request)
        };
        assert_eq!(send("application/json; charset=utf-8").await.status, 200);
        assert_eq!(send("application/json;charset=UTF-8").await.status, 200);
        assert_eq!(
            send("application/json; charset=iso-8859-1").await.status,
            415
        );
    })
    .await;
}

#[tokio::test]
async fn a_get_mutation_is_405_in_either_media_type() {
    each_backend(|app| async move {
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            let r = get(&app, accept, "query=mutation%20%7B%20__typename%20%7D").await;
            assert_eq!(r.status, 405, "{}", r.text);
            assert_eq!(r.header("allow"), Some("GET, POST"));
            assert!(!has_data(&r), "{}", r.text);
        }
    })
    .await;
}

#[tokio::test]
async fn without_a_token_graphql_response_json_answers_401_and_no_data() {
    each_backend(|app| async move {
        let anonymous = |accept: &'static str| {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(Body::from(query(
                    "{ categories { categories { value } } tickets { totalCount } }",
                )))
                .expect("request");
            app.send(request)
        };
        let r = anonymous(GRAPHQL_RESPONSE).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(
            !has_data(&r),
            "a 4xx under graphql-response+json carries no data: {}",
            r.text
        );
        assert_eq!(error_code(&r.body), Some("UNAUTHENTICATED"), "{}", r.text);
        // application/json keeps the fields that needed no token.
        let r = anonymous("application/json").await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.body["data"]["categories"].is_object(), "{}", r.text);
    })
    .await;
}

#[tokio::test]
async fn a_batch_answers_200_and_leaves_data_out_of_the_operations_that_never_ran() {
    each_backend(|app| async move {
        let batch = json!([
            { "query": "{ viewer { access } }" },
            { "query": "{ nope }" },
        ])
        .to_string();
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            let r = post(&app, accept, &batch).await;
            assert_eq!(r.status, 200, "{accept:?}: {}", r.text);
            assert_eq!(
                r.body_sans_cost()[0],
                json!({ "data": { "viewer": { "access": "ALL_AREAS" } } })
            );
            let refused = r.body[1].as_object().cloned().unwrap_or_default();
            assert!(!refused.contains_key("data"), "{}", r.text);
            assert_eq!(
                error_code(&r.body[1]),
                Some("GRAPHQL_VALIDATION_FAILED"),
                "{}",
                r.text
            );
        }
    })
    .await;
}
