//! The statistics operations under `/v2/support-ticket-stats/`: exact figures on a small
//! hand-built data set, agreement with GraphQL's `stats` for the same filter and token, bad
//! parameters, credentials and scope. Every response is validated against the OpenAPI
//! document.

use chrono::{DateTime, Duration, Utc};
use entity::{Category, Subcategory};
use sea_orm::Set;
use serde_json::{json, Value};
use ticket_gateway::auth::Access;
use ticket_gateway::ids::{OrgId, UserId};
use ticket_gateway::rest::NO_VALUE;

use crate::helpers::{assert_close, each_backend, OpenApiDoc, TestApp, TestResponse, READ};

const OPERATIONS: [&str; 7] = [
    "sankey",
    "volume",
    "resolution",
    "status",
    "priority",
    "source",
    "top-categories",
];

/// The application with its OpenAPI document: every call is checked against it.
struct Api {
    app: TestApp,
    doc: OpenApiDoc,
}

impl Api {
    async fn new(app: TestApp) -> Self {
        let doc = OpenApiDoc::fetch(&app).await;
        Self { app, doc }
    }

    async fn call(&self, uri: &str, token: Option<&str>, headers: &[(&str, &str)]) -> TestResponse {
        let r = self.app.rest("GET", uri, token, headers, None).await;
        self.doc.check("GET", uri, &r);
        r
    }

    /// One statistic, `operation?query`, that must succeed.
    async fn stat(&self, operation: &str, query: &str, token: &str) -> Value {
        let uri = format!("/v2/support-ticket-stats/{operation}?{query}");
        let r = self.call(&uri, Some(token), &[]).await;
        assert_eq!(r.status, 200, "{}: {uri}: {}", self.app.backend, r.text);
        r.body
    }

    /// One statistic without parameters, optionally acting as a user (`EvEnergy-User`).
    async fn stat_as(&self, operation: &str, token: &str, acting: Option<&str>) -> Value {
        let uri = format!("/v2/support-ticket-stats/{operation}");
        let headers: Vec<(&str, &str)> = acting
            .map(|a| vec![("EvEnergy-User", a)])
            .unwrap_or_default();
        let r = self.call(&uri, Some(token), &headers).await;
        assert_eq!(r.status, 200, "{}: {uri}: {}", self.app.backend, r.text);
        r.body
    }
}

fn field_names(body: &Value) -> Vec<String> {
    body["field_errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// One ticket of a hand-built data set.
struct Row {
    created: &'static str,
    status: Option<&'static str>,
    priority: Option<&'static str>,
    source: Option<&'static str>,
    human: (Option<Category>, Option<Subcategory>),
    resolved_after_hours: Option<f64>,
}

async fn insert(app: &TestApp, owner: Option<&UserId>, row: Row) {
    app.ticket_with(owner, move |m| {
        let created = at(row.created);
        m.created_at = Set(created);
        m.status = Set(row.status.map(Into::into));
        m.priority = Set(row.priority.map(Into::into));
        m.source = Set(row.source.map(Into::into));
        m.human_verified_category = Set(row.human.0);
        m.human_verified_subcategory = Set(row.human.1);
        // An AI categorization never counts in these statistics.
        m.ai_generated_category = Set(Some(Category::Vehicle));
        m.resolved_at = Set(row
            .resolved_after_hours
            .map(|h| created + Duration::microseconds((h * 3_600_000_000.0) as i64)));
    })
    .await;
}

/// Five tickets: two of `mine`, two of `other` (same organization), one with no user,
/// no status, no source and no human-verified category.
async fn small_world(app: &TestApp) -> (OrgId, UserId, UserId) {
    use Category::*;
    use Subcategory::*;
    let org = app.org().await;
    let (mine, other) = (app.user(Some(&org)).await, app.user(Some(&org)).await);
    let row = |created, status, priority, source, human, resolved| Row {
        created,
        status,
        priority,
        source,
        human,
        resolved_after_hours: resolved,
    };
    #[rustfmt::skip]
    let rows = [
        (Some(&mine), row("2024-01-01T10:00:00Z", Some("Open"), Some("High"), Some("Email"), (Some(Charger), Some(HardwareIssue)), Some(2.0))),
        (Some(&mine), row("2024-01-02T09:00:00Z", Some("Closed"), Some("High"), Some("Chat"), (Some(Charger), Some(HardwareIssue)), Some(4.0))),
        (Some(&other), row("2024-01-02T15:00:00Z", Some("Open"), Some("Low"), Some("Email"), (Some(Charger), None), Some(9.0))),
        (Some(&other), row("2024-01-09T12:00:00Z", Some("Open"), None, Some("Email"), (Some(MobileApp), Some(AppCrashFreeze)), None)),
        (None, row("2024-01-04T08:00:00Z", None, Some("Low"), None, (None, None), None)),
    ];
    for (owner, r) in rows {
        insert(app, owner, r).await;
    }
    (org, mine, other)
}

#[tokio::test]
async fn each_statistics_operation_answers_its_documented_body_with_exact_figures() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        small_world(&api.app).await;
        let token = api.app.all_areas();
        let stat = |op: &'static str, query: &'static str| api.stat(op, query, &token);

        assert_eq!(
            stat("sankey", "").await,
            json!({
                "nodes": [
                    { "id": "category:Charger", "label": "Charger" },
                    { "id": "category:Mobile App", "label": "Mobile App" },
                    { "id": "subcategory:App crash / freeze", "label": "App crash / freeze" },
                    { "id": "subcategory:Hardware Issue", "label": "Hardware Issue" },
                    { "id": "subcategory:No subcategory", "label": "No subcategory" },
                ],
                "links": [
                    { "source": "category:Charger", "target": "subcategory:Hardware Issue", "value": 2 },
                    { "source": "category:Charger", "target": "subcategory:No subcategory", "value": 1 },
                    { "source": "category:Mobile App", "target": "subcategory:App crash / freeze", "value": 1 },
                ],
            })
        );

        let days = [
            ("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-03", 0), ("2024-01-04", 1),
            ("2024-01-05", 0), ("2024-01-06", 0), ("2024-01-07", 0), ("2024-01-08", 0),
            ("2024-01-09", 1),
        ];
        let series = |points: &[(&str, u64)]| {
            json!({ "time_series": points.iter().map(|(d, n)| json!({ "date": d, "count": n })).collect::<Vec<_>>() })
        };
        assert_eq!(stat("volume", "").await, series(&days));
        assert_eq!(stat("volume", "group_by=day").await, series(&days));
        assert_eq!(
            stat("volume", "group_by=week").await,
            series(&[("2024-01-01", 4), ("2024-01-08", 1)])
        );
        assert_eq!(stat("volume", "group_by=month").await, series(&[("2024-01-01", 5)]));

        assert_eq!(
            stat("resolution", "").await,
            json!({
                "resolution_rate": 0.6,
                "avg_resolution_time_hours": 5.0,
                "median_resolution_time_hours": 4.0,
                "total_resolved": 3,
                "total_unresolved": 2,
            })
        );
        // Nothing resolved: no times.
        assert_eq!(
            stat("resolution", "resolved_at__isnull=true").await,
            json!({
                "resolution_rate": 0.0,
                "avg_resolution_time_hours": null,
                "median_resolution_time_hours": null,
                "total_resolved": 0,
                "total_unresolved": 2,
            })
        );

        let breakdown = |key: &str, rows: &[(&str, u64, f64)]| {
            json!({ "breakdown": rows.iter().map(|(v, n, p)| json!({ key: v, "count": n, "percentage": p })).collect::<Vec<_>>() })
        };
        assert_eq!(
            stat("status", "").await,
            breakdown("status", &[("Open", 3, 0.6), ("Closed", 1, 0.2), (NO_VALUE, 1, 0.2)])
        );
        assert_eq!(
            stat("priority", "").await,
            breakdown("priority", &[("High", 2, 0.4), ("Low", 2, 0.4), (NO_VALUE, 1, 0.2)])
        );
        assert_eq!(
            stat("source", "").await,
            breakdown("source", &[("Email", 3, 0.6), ("Chat", 1, 0.2), (NO_VALUE, 1, 0.2)])
        );

        assert_eq!(
            stat("top-categories", "").await,
            json!({
                "categories": [
                    { "category": "CHARGER", "count": 3, "percentage": 0.6 },
                    { "category": "MOBILE_APP", "count": 1, "percentage": 0.2 },
                ],
                "subcategories": [
                    { "subcategory": "HARDWARE_ISSUE", "category": "CHARGER", "count": 2, "percentage": 0.4 },
                    { "subcategory": "APP_CRASH_FREEZE", "category": "MOBILE_APP", "count": 1, "percentage": 0.2 },
                ],
            })
        );
        assert_eq!(
            stat("top-categories", "limit=1").await,
            json!({
                "categories": [{ "category": "CHARGER", "count": 3, "percentage": 0.6 }],
                "subcategories": [{ "subcategory": "HARDWARE_ISSUE", "category": "CHARGER", "count": 2, "percentage": 0.4 }],
            })
        );

        // Filters of every kind apply; unknown parameters are ignored.
        assert_eq!(
            stat("status", "priority__in=High,Low&user__isnull=false&foo=bar").await,
            breakdown("status", &[("Open", 2, 2.0 / 3.0), ("Closed", 1, 1.0 / 3.0)])
        );

        // The document tells how the no-value bucket is keyed.
        for (name, key) in [
            ("SupportTicketStatsStatus", "status"),
            ("SupportTicketStatsPriority", "priority"),
            ("SupportTicketStatsSource", "source"),
        ] {
            let description = &api.doc.doc["components"]["schemas"][name]["properties"]["breakdown"]
                ["items"]["properties"][key]["description"];
            assert!(
                description.as_str().unwrap_or_default().contains(NO_VALUE),
                "{name}: {description}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_user_token_counts_only_its_own_tickets_in_every_statistic() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let (_, mine, _) = small_world(&api.app).await;
        let user = api.app.user_token(&mine, READ);
        let all = api.app.all_areas();
        let mine_str = mine.to_string();
        // The same answers for the user's own token and for an all-areas token acting as the user.
        for (token, acting) in [(&user, None), (&all, Some(mine_str.as_str()))] {
            let get = |op: &'static str| api.stat_as(op, token, acting);
            assert_eq!(
                get("sankey").await,
                json!({
                    "nodes": [
                        { "id": "category:Charger", "label": "Charger" },
                        { "id": "subcategory:Hardware Issue", "label": "Hardware Issue" },
                    ],
                    "links": [{ "source": "category:Charger", "target": "subcategory:Hardware Issue", "value": 2 }],
                })
            );
            assert_eq!(
                get("volume").await,
                json!({ "time_series": [{ "date": "2024-01-01", "count": 1 }, { "date": "2024-01-02", "count": 1 }] })
            );
            assert_eq!(
                get("resolution").await,
                json!({
                    "resolution_rate": 1.0,
                    "avg_resolution_time_hours": 3.0,
                    "median_resolution_time_hours": 3.0,
                    "total_resolved": 2,
                    "total_unresolved": 0,
                })
            );
            assert_eq!(
                get("status").await,
                json!({ "breakdown": [
                    { "status": "Closed", "count": 1, "percentage": 0.5 },
                    { "status": "Open", "count": 1, "percentage": 0.5 },
                ] })
            );
            assert_eq!(
                get("priority").await,
                json!({ "breakdown": [{ "priority": "High", "count": 2, "percentage": 1.0 }] })
            );
            assert_eq!(
                get("source").await,
                json!({ "breakdown": [
                    { "source": "Chat", "count": 1, "percentage": 0.5 },
                    { "source": "Email", "count": 1, "percentage": 0.5 },
                ] })
            );
            assert_eq!(
                get("top-categories").await,
                json!({
                    "categories": [{ "category": "CHARGER", "count": 2, "percentage": 1.0 }],
                    "subcategories": [{ "subcategory": "HARDWARE_ISSUE", "category": "CHARGER", "count": 2, "percentage": 1.0 }],
                })
            );
        }
    })
    .await;
}

#[tokio::test]
async fn bad_statistics_parameters_are_400_problems_naming_each_parameter() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        small_world(&api.app).await;
        let token = api.app.all_areas();
        let mut cases: Vec<(String, Vec<&str>)> = vec![
            ("volume?group_by=year".into(), vec!["group_by"]),
            ("volume?group_by=DAY".into(), vec!["group_by"]),
            ("top-categories?limit=0".into(), vec!["limit"]),
            ("top-categories?limit=101".into(), vec!["limit"]),
            ("top-categories?limit=x".into(), vec!["limit"]),
            // Every bad parameter at once.
            (
                "top-categories?limit=0&status__in=Open&priority__isnull=maybe".into(),
                vec!["priority__isnull", "limit"],
            ),
            (
                "volume?group_by=hour&created_at__gte=soon".into(),
                vec!["created_at__gte", "group_by"],
            ),
        ];
        for op in OPERATIONS {
            cases.push((
                format!("{op}?human_verified_category=NOPE"),
                vec!["human_verified_category"],
            ));
            cases.push((
                format!("{op}?created_at__gte=2024-02-01T00:00:00Z&created_at__lte=2024-01-01T00:00:00Z"),
                vec!["created_at__gte", "created_at__lte"],
            ));
        }
        for (path, names) in cases {
            let uri = format!("/v2/support-ticket-stats/{path}");
            let r = api.call(&uri, Some(&token), &[]).await;
            assert_eq!(r.status, 400, "{uri}: {}", r.text);
            assert_eq!(field_names(&r.body), names, "{uri}: {}", r.text);
        }
        // Parameters of other operations are not this one's: ignored.
        for path in ["sankey?limit=0", "resolution?group_by=year", "volume?limit=x&page_size=0"] {
            let uri = format!("/v2/support-ticket-stats/{path}");
            assert_eq!(api.call(&uri, Some(&token), &[]).await.status, 200, "{uri}");
        }
    })
    .await;
}

#[tokio::test]
async fn statistics_need_a_token_with_the_read_scope() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let (_, mine, _) = small_world(&api.app).await;
        for op in OPERATIONS {
            let uri = format!("/v2/support-ticket-stats/{op}");
            let none = api.call(&uri, None, &[]).await;
            assert_eq!(none.status, 401, "{uri}");
            assert_eq!(none.header("www-authenticate"), Some("Bearer"), "{uri}");
            let bad = api.call(&uri, Some("not.a.token"), &[]).await;
            assert_eq!(bad.status, 401, "{uri}");
            let unscoped = api
                .call(&uri, Some(&api.app.user_token(&mine, "support:write")), &[])
                .await;
            assert_eq!(unscoped.status, 403, "{uri}: {}", unscoped.text);
            // Credentials are checked before parameters.
            let both = api
                .call(&format!("{uri}?limit=0&group_by=x"), None, &[])
                .await;
            assert_eq!(both.status, 401, "{uri}");
        }
    })
    .await;
}

// ---- agreement with GraphQL ----

const GRAPHQL_STATS: &str = r#"query($f: TicketFilter) { stats(filter: $f) {
  sankey { nodes { id label } links { source target value } }
  day: volume(groupBy: DAY) { date count }
  week: volume(groupBy: WEEK) { date count }
  month: volume(groupBy: MONTH) { date count }
  resolution { resolutionRate totalResolved totalUnresolved averageHours medianHours }
  statusBreakdown { value count percentage }
  priorityBreakdown { value count percentage }
  sourceBreakdown { value count percentage }
  top: topCategories { ...top }
  top2: topCategories(limit: 2) { ...top }
} }
fragment top on TopCategories {
  categories { category count percentage }
  subcategories { subcategory category count percentage }
}"#;

/// A GraphQL breakdown as the REST body: `value` under the field's name, null as `(none)`.
fn rest_breakdown(key: &str, buckets: &Value) -> Value {
    let rows: Vec<Value> = buckets
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    let value = b["value"].as_str().unwrap_or(NO_VALUE);
                    json!({ key: value, "count": b["count"], "percentage": b["percentage"] })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "breakdown": rows })
}

/// GraphQL's `stats` as the REST bodies: operation, its own parameters, body.
fn expected_rest(stats: &Value) -> Vec<(&'static str, &'static str, Value)> {
    let r = &stats["resolution"];
    vec![
        ("sankey", "", stats["sankey"].clone()),
        ("volume", "", json!({ "time_series": stats["day"] })),
        (
            "volume",
            "group_by=day&",
            json!({ "time_series": stats["day"] }),
        ),
        (
            "volume",
            "group_by=week&",
            json!({ "time_series": stats["week"] }),
        ),
        (
            "volume",
            "group_by=month&",
            json!({ "time_series": stats["month"] }),
        ),
        (
            "resolution",
            "",
            json!({
                "resolution_rate": r["resolutionRate"],
                "avg_resolution_time_hours": r["averageHours"],
                "median_resolution_time_hours": r["medianHours"],
                "total_resolved": r["totalResolved"],
                "total_unresolved": r["totalUnresolved"],
            }),
        ),
        (
            "status",
            "",
            rest_breakdown("status", &stats["statusBreakdown"]),
        ),
        (
            "priority",
            "",
            rest_breakdown("priority", &stats["priorityBreakdown"]),
        ),
        (
            "source",
            "",
            rest_breakdown("source", &stats["sourceBreakdown"]),
        ),
        ("top-categories", "", stats["top"].clone()),
        ("top-categories", "limit=2&", stats["top2"].clone()),
    ]
}

#[tokio::test]
async fn rest_and_graphql_statistics_agree_for_the_same_filter_and_token() {
    each_backend(|app| async move {
        use Category::*;
        use Subcategory::*;
        let api = Api::new(app).await;
        let app = &api.app;
        let (org, elsewhere) = (app.org().await, app.org().await);
        let users = [
            app.user(Some(&org)).await,
            app.user(Some(&org)).await,
            app.user(Some(&elsewhere)).await,
        ];
        let statuses = [Some("Open"), Some("Closed"), Some("Pending"), None];
        let priorities = [Some("High"), Some("Low"), None];
        let sources = [Some("Email"), Some("Chat"), Some("Phone"), None, Some("Email")];
        let categorizations = [
            (Some(Charger), Some(HardwareIssue)),
            (Some(Charger), None),
            (Some(MobileApp), Some(AppCrashFreeze)),
            (None, None),
            (Some(Account), Some(Deletion)),
            (Some(Charger), Some(Firmware)),
        ];
        for i in 0..24usize {
            let owner = if i % 5 == 4 { None } else { Some(&users[i % 3]) };
            let created = at("2024-01-01T00:00:00Z")
                + Duration::hours((i * 37 % 500) as i64)
                + Duration::microseconds((i * 123_457) as i64);
            let resolved = (i % 4 != 1).then(|| created + Duration::minutes((i * i * 17 + 11) as i64));
            app.ticket_with(owner, |m| {
                m.created_at = Set(created);
                m.status = Set(statuses[i % 4].map(Into::into));
                m.priority = Set(priorities[i % 3].map(Into::into));
                m.source = Set(sources[i % 5].map(Into::into));
                m.human_verified_category = Set(categorizations[i % 6].0);
                m.human_verified_subcategory = Set(categorizations[i % 6].1);
                m.ai_generated_category = Set(Some(Solar));
                m.resolved_at = Set(resolved);
            })
            .await;
        }
        let filters = [
            ("", Value::Null),
            ("status__in=Open,Closed", json!({ "status": { "in": ["Open", "Closed"] } })),
            (
                "created_at__range=2024-01-03T00:00:00Z,2024-01-15T12:00:00Z",
                json!({ "createdAt": { "gte": "2024-01-03T00:00:00Z", "lte": "2024-01-15T12:00:00Z" } }),
            ),
            (
                "human_verified_category__isnull=false",
                json!({ "humanVerifiedCategory": { "isNull": false } }),
            ),
        ];
        let tokens = [
            ("user", app.token(Access::User(users[0].clone()), READ)),
            ("org", app.token(Access::Org(org.clone()), READ)),
            ("all areas", app.token(Access::AllAreas, READ)),
        ];
        for (kind, token) in &tokens {
            for (query, filter) in &filters {
                let gql = app
                    .graphql(Some(token), GRAPHQL_STATS, json!({ "f": filter }))
                    .await;
                assert!(gql.body["errors"].is_null(), "{kind} {query}: {}", gql.text);
                let stats = &gql.body["data"]["stats"];
                assert!(
                    stats["statusBreakdown"].as_array().is_some_and(|b| !b.is_empty()),
                    "{kind} {query}: the case counts something"
                );
                for (operation, own, expected) in expected_rest(stats) {
                    let query = format!("{own}{query}");
                    let rest = api.stat(operation, &query, token).await;
                    assert_close(
                        &rest,
                        &expected,
                        &format!("{}: {kind}: {operation}?{query}", app.backend),
                    );
                }
            }
        }
    })
    .await;
}
