//! Long lists in filters: every list takes up to its documented maximum on both doors and
//! both databases, and one value more is a 400 / BAD_USER_INPUT naming the parameter.

use sea_orm::Set;
use serde_json::{json, Value};
use ticket_gateway::filter::{MAX_COMBINED_FILTERS, MAX_LIST_VALUES};
use ticket_gateway::ids::UserId;

use crate::helpers::{each_backend, TestApp, TestResponse};

fn tags(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("tag-{i:04}")).collect()
}

async fn get(app: &TestApp, uri: &str) -> TestResponse {
    app.rest("GET", uri, Some(&app.all_areas()), &[], None)
        .await
}

async fn list(app: &TestApp, query: &str) -> TestResponse {
    get(app, &format!("/v2/support_tickets?{query}")).await
}

/// The `id`s of a JSON array of objects.
fn ids_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(r: &TestResponse) -> Vec<String> {
    ids_in(&r.body)
}

/// The `field_errors` of a problem body, as `field: message` lines.
fn field_errors(r: &TestResponse) -> Vec<String> {
    r.body["field_errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| format!("{}: {}", e["field"].as_str().unwrap_or("?"), e["message"]))
                .collect()
        })
        .unwrap_or_default()
}

const TICKETS: &str = "query($filter: TicketFilter) { tickets(filter: $filter) { nodes { id } } }";

fn node_ids(r: &TestResponse) -> Vec<String> {
    ids_in(&r.body["data"]["tickets"]["nodes"])
}

/// The fields named by the first error's `extensions.fieldErrors`.
fn graphql_fields(r: &TestResponse) -> Vec<String> {
    r.body["errors"][0]["extensions"]["fieldErrors"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn rest_filter_lists_take_up_to_the_maximum_and_name_the_parameter_one_past_it() {
    each_backend(|app| async move {
        let all_tags = tags(MAX_LIST_VALUES);
        let tagged = app
            .ticket_with(None, |t| t.tags = Set(json!(all_tags)))
            .await
            .to_string();
        let open = app
            .ticket_with(None, |t| t.tags = Set(json!(["tag-0000"])))
            .await
            .to_string();

        let every_tag: String = tags(MAX_LIST_VALUES)
            .iter()
            .map(|t| format!("tags={t}&"))
            .collect();
        let r = list(&app, &every_tag).await;
        assert_eq!(r.status, 200, "{}: {}", app.backend, r.text);
        assert_eq!(ids(&r), [tagged.clone()], "{}", app.backend);

        let statuses: Vec<String> = (0..MAX_LIST_VALUES - 1)
            .map(|i| format!("S{i}"))
            .chain(["Open".to_owned()])
            .collect();
        let r = list(&app, &format!("status__in={}", statuses.join(","))).await;
        assert_eq!(r.status, 200, "{}: {}", app.backend, r.text);
        assert_eq!(ids(&r), [tagged.clone(), open.clone()], "{}", app.backend);

        let r = list(&app, &format!("{every_tag}tags=one-more")).await;
        assert_eq!(r.status, 400, "{}: {}", app.backend, r.text);
        assert_eq!(
            field_errors(&r),
            [format!(
                "tags: \"takes at most {MAX_LIST_VALUES} values; {} were given\"",
                MAX_LIST_VALUES + 1
            )],
            "{}",
            app.backend
        );
        let r = list(&app, &format!("status__in={},Closed", statuses.join(","))).await;
        assert_eq!(r.status, 400, "{}: {}", app.backend, r.text);
        assert!(
            field_errors(&r)[0].starts_with("status__in: "),
            "{}",
            r.text
        );
        let stats = get(
            &app,
            &format!("/v2/support-ticket-stats/status?{every_tag}tags=one-more"),
        )
        .await;
        assert_eq!(stats.status, 400, "{}", stats.text);
        assert!(
            field_errors(&stats)[0].starts_with("tags: "),
            "{}",
            stats.text
        );

        let types = vec!["CUSTOMER_RESPONSE"; MAX_LIST_VALUES + 1].join(",");
        let r = get(
            &app,
            &format!("/v2/support_tickets/{tagged}/messages?message_type__in={types}"),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            field_errors(&r)[0].starts_with("message_type__in: "),
            "{}",
            r.text
        );
    })
    .await;
}

#[tokio::test]
async fn graphql_filter_lists_take_up_to_the_maximum_and_name_the_argument_one_past_it() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let all_tags = tags(MAX_LIST_VALUES);
        let tagged = app
            .ticket_with(Some(&user), |t| t.tags = Set(json!(all_tags)))
            .await
            .to_string();
        let other = app
            .ticket_with(None, |t| t.tags = Set(json!(["elsewhere", "tag-0999"])))
            .await
            .to_string();
        let token = app.all_areas();
        let run = |filter: Value| {
            let token = token.clone();
            let app = &app;
            async move {
                app.graphql(Some(&token), TICKETS, json!({ "filter": filter }))
                    .await
            }
        };

        let at_max = tags(MAX_LIST_VALUES);
        let r = run(json!({ "tags": { "containsAll": at_max } })).await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);
        assert_eq!(node_ids(&r), [tagged.clone()], "{}", app.backend);

        let mut none_but_one: Vec<String> = (0..MAX_LIST_VALUES - 1)
            .map(|i| format!("absent-{i}"))
            .collect();
        none_but_one.push("elsewhere".into());
        let r = run(json!({ "tags": { "containsAny": none_but_one } })).await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);
        assert_eq!(node_ids(&r), [other.clone()], "{}", app.backend);

        let mut users: Vec<String> = (0..MAX_LIST_VALUES - 1)
            .map(|_| UserId::generate().to_string())
            .collect();
        users.push(user.to_string());
        let r = run(json!({ "user": { "in": users } })).await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);
        assert_eq!(node_ids(&r), [tagged.clone()], "{}", app.backend);

        let categories = vec!["CHARGER"; MAX_LIST_VALUES];
        let r = run(json!({ "humanVerifiedCategory": { "in": categories } })).await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);

        for (filter, field) in [
            (
                json!({ "tags": { "containsAll": tags(MAX_LIST_VALUES + 1) } }),
                "filter.tags.containsAll",
            ),
            (
                json!({ "or": [{ "tags": { "containsAny": tags(MAX_LIST_VALUES + 1) } }] }),
                "filter.or[0].tags.containsAny",
            ),
            (
                json!({ "status": { "in": tags(MAX_LIST_VALUES + 1) } }),
                "filter.status.in",
            ),
            (
                json!({ "aiGeneratedCategory": { "in": vec!["CHARGER"; MAX_LIST_VALUES + 1] } }),
                "filter.aiGeneratedCategory.in",
            ),
        ] {
            let r = run(filter).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                crate::helpers::error_code(&r.body),
                Some("BAD_USER_INPUT"),
                "{}",
                r.text
            );
            assert_eq!(graphql_fields(&r), [field], "{}", r.text);
        }
    })
    .await;
}

#[tokio::test]
async fn a_filter_combines_up_to_the_maximum_of_filters_through_and_or_and_not() {
    each_backend(|app| async move {
        let open = app.ticket(None).await.to_string();
        let token = app.all_areas();
        let statuses = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| {
                    let status = if i == n - 1 {
                        "Open".to_owned()
                    } else {
                        format!("S{i}")
                    };
                    json!({ "status": { "eq": status }, "priority": { "isNull": false } })
                })
                .collect()
        };
        let r = app
            .graphql(
                Some(&token),
                TICKETS,
                json!({ "filter": { "or": statuses(MAX_COMBINED_FILTERS) } }),
            )
            .await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);
        assert_eq!(node_ids(&r), [open.clone()], "{}", app.backend);

        // Nested as deep as allowed, the budget spread over the levels.
        // Each level adds the two filters of its `and` and the one under `not`.
        let mut nested = json!({ "or": statuses(MAX_COMBINED_FILTERS - 7 * 3) });
        for _ in 0..7 {
            nested = json!({ "and": [nested, { "not": { "status": { "eq": "Closed" } } }] });
        }
        let r = app
            .graphql(Some(&token), TICKETS, json!({ "filter": nested }))
            .await;
        assert!(r.body["errors"].is_null(), "{}: {}", app.backend, r.text);
        assert_eq!(node_ids(&r), [open.clone()], "{}", app.backend);

        let r = app
            .graphql(
                Some(&token),
                TICKETS,
                json!({ "filter": { "and": [{ "or": statuses(MAX_COMBINED_FILTERS) }] } }),
            )
            .await;
        assert_eq!(
            crate::helpers::error_code(&r.body),
            Some("BAD_USER_INPUT"),
            "{}",
            r.text
        );
        assert_eq!(graphql_fields(&r), ["filter.and[0].or"], "{}", r.text);
    })
    .await;
}
