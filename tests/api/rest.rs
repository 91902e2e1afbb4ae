//! REST shims under `/v2`: every operation's success and error answers, filters, pages,
//! expansion, categorization in every encoding, the header conventions, and the OpenAPI
//! document, which every response here is validated against.

use chrono::TimeZone;
use entity::{support_ticket, Category, MessageType, Subcategory};
use sea_orm::{EntityTrait, Set};
use serde_json::{json, Value};
use ticket_gateway::ids::{MessageId, TicketId};

use crate::helpers::{
    each_backend, node_ids, OpenApiDoc, TestApp, TestResponse, BASE_URL, READ, READ_WRITE,
};

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

    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let r = self.app.rest(method, uri, token, headers, body).await;
        self.doc.check(method, uri, &r);
        r
    }

    async fn get(&self, uri: &str, token: &str) -> TestResponse {
        self.call("GET", uri, Some(token), &[], None).await
    }

    async fn patch(
        &self,
        id: &str,
        token: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut all = vec![("content-type", content_type)];
        all.extend_from_slice(headers);
        self.call(
            "PATCH",
            &format!("/v2/support_tickets/{id}"),
            Some(token),
            &all,
            Some(body.into()),
        )
        .await
    }

    /// The ids of a listed page, in order.
    async fn list(&self, query: &str, token: &str) -> Vec<String> {
        let r = self
            .get(&format!("/v2/support_tickets?{query}"), token)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        ids(&r.body)
    }

    /// The ticket's categorization and version as stored.
    async fn stored(&self, id: &str) -> (entity::support_ticket::Categorization, i64) {
        let t = support_ticket::Entity::find_by_id(id)
            .one(&self.app.db)
            .await
            .expect("query")
            .expect("ticket exists");
        (t.categorization(), t.version)
    }
}

fn ids(body: &Value) -> Vec<String> {
    body.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
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

/// The target of the `Link` relation `rel`, as a path below the base URL.
fn link(r: &TestResponse, rel: &str) -> Option<String> {
    let header = r.header("link")?;
    header.split(", <").find_map(|part| {
        let (url, params) = part.trim_start_matches('<').split_once('>')?;
        params.contains(&format!("rel=\"{rel}\"")).then(|| {
            assert!(url.starts_with(BASE_URL), "absolute link: {url}");
            url[BASE_URL.len()..].to_owned()
        })
    })
}

fn at(day: u32, hour: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2025, 3, day, hour, 0, 0)
        .unwrap()
}

const PAGINATION_TYPE: &str = "https://api.ev.energy/v2/problems/pagination-parameters/";

#[tokio::test]
async fn a_listed_ticket_has_the_contract_shape_with_absolute_urls() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app
            .ticket_with(Some(&user), |t| {
                t.external_ticket_id = Set("FD-7".into());
                t.subject = Set(Some("Charger offline".into()));
                t.human_verified_category = Set(Some(Category::Charger));
                t.human_verified_subcategory = Set(Some(Subcategory::Offline));
                t.type_deprecated = Set(Some("Vehicle API error".into()));
                t.tags = Set(json!(["vip", "escalated"]));
                t.conversation_summary = Set(Some("Offline since Monday.".into()));
                t.custom_fields = Set(json!({ "mobile_app": "iOS" }));
                t.attributes = Set(json!({ "evse_model": "Zappi" }));
                t.created_at = Set(at(1, 9));
                t.ticket_updated_at = Set(Some(at(2, 10)));
                t.resolved_at = Set(Some(at(3, 11)));
            })
            .await;
        let m0 = app
            .message(&ticket, 0, MessageType::InitialRequest, at(1, 9))
            .await;
        let m1 = app
            .message(&ticket, 1, MessageType::HumanAgentResponse, at(1, 10))
            .await;
        let anonymous = app
            .ticket_with(None, |t| t.created_at = Set(at(5, 0)))
            .await;
        let r = api.get("/v2/support_tickets", &app.all_areas()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"));
        let t = format!("{BASE_URL}/v2/support_tickets/{ticket}");
        assert_eq!(
            r.body[0],
            json!({
                "id": ticket.to_string(),
                "url": t,
                "user": format!("{BASE_URL}/v2/users/{user}"),
                "external_ticket_id": "FD-7",
                "subject": "Charger offline",
                "status": "Open",
                "priority": "Medium",
                "source": "Email",
                "human_verified_category": "CHARGER",
                "human_verified_subcategory": "OFFLINE",
                "ai_generated_category": null,
                "ai_generated_subcategory": null,
                "type_deprecated": "Vehicle API error",
                "tags": ["vip", "escalated"],
                "messages": [format!("{t}/messages/{m0}"), format!("{t}/messages/{m1}")],
                "conversation_summary": "Offline since Monday.",
                "custom_fields": { "mobile_app": "iOS" },
                "attributes": { "evse_model": "Zappi" },
                "created_at": "2025-03-01T09:00:00Z",
                "ticket_updated_at": "2025-03-02T10:00:00Z",
                "resolved_at": "2025-03-03T11:00:00Z",
            })
        );
        assert_eq!(r.body[1]["id"], json!(anonymous.to_string()));
        assert_eq!(r.body[1]["user"], json!(null));
        assert_eq!(r.body[1]["messages"], json!([]));
        assert_eq!(r.header("link"), None, "one page: no links");
    })
    .await;
}

#[tokio::test]
async fn a_ticket_is_retrieved_with_its_etag_and_expands_user_and_messages_on_request() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let m0 = app
            .message(&ticket, 0, MessageType::InitialRequest, app.tick())
            .await;
        let token = app.user_token(&user, READ);
        let uri = format!("/v2/support_tickets/{ticket}");
        let plain = api.get(&uri, &token).await;
        assert_eq!(plain.status, 200, "{}", plain.text);
        assert_eq!(plain.header("etag"), Some("\"1\""));
        assert_eq!(
            plain.body["user"],
            json!(format!("{BASE_URL}/v2/users/{user}"))
        );
        let expanded_user = json!({
            "id": user.to_string(),
            "url": format!("{BASE_URL}/v2/users/{user}"),
            "email": format!("{}@example.com", user.as_str().to_lowercase()),
            "full_name": format!("User {user}"),
        });
        let message = json!({
            "id": m0.to_string(),
            "position": 0,
            "message_type": "INITIAL_REQUEST",
            "message": "message 0",
            "message_clean": null,
        });
        for query in [
            "expand=user",
            "expand=user,messages",
            "expand=messages&expand=user",
        ] {
            let r = api.get(&format!("{uri}?{query}"), &token).await;
            for (k, v) in expanded_user.as_object().unwrap() {
                assert_eq!(&r.body["user"][k], v, "{query}: {}", r.text);
            }
            assert!(r.body["user"]["joined_at"].is_string(), "{query}");
        }
        for query in ["expand=messages", "expand=user,messages"] {
            let r = api.get(&format!("{uri}?{query}"), &token).await;
            for (k, v) in message.as_object().unwrap() {
                assert_eq!(&r.body["messages"][0][k], v, "{query}: {}", r.text);
            }
        }
        let r = api.get(&format!("{uri}?expand=messages"), &token).await;
        assert!(r.body["user"].is_string(), "user stays a URL");
        let list = api
            .get("/v2/support_tickets?expand=user,messages", &token)
            .await;
        assert_eq!(list.body[0]["user"]["id"], json!(user.to_string()));
        assert_eq!(list.body[0]["messages"][0]["id"], json!(m0.to_string()));
        let bad = api.get(&format!("{uri}?expand=organization"), &token).await;
        assert_eq!(bad.status, 400);
        assert_eq!(field_names(&bad.body), ["expand"]);
    })
    .await;
}

#[tokio::test]
async fn a_ticket_outside_the_scope_answers_like_a_missing_one() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let org = app.org().await;
        let (mine, theirs) = (app.user(Some(&org)).await, app.user(None).await);
        let visible = app.ticket(Some(&mine)).await;
        let hidden = app.ticket(Some(&theirs)).await;
        let hidden_message = app
            .message(&hidden, 0, MessageType::InitialRequest, app.tick())
            .await;
        let unowned = app.ticket(None).await;
        let missing = TicketId::generate();
        for token in [
            app.user_token(&mine, READ_WRITE),
            app.org_token(&org, READ_WRITE),
        ] {
            for suffix in ["", "/messages", &format!("/messages/{hidden_message}")] {
                let absent = api
                    .get(&format!("/v2/support_tickets/{missing}{suffix}"), &token)
                    .await;
                assert_eq!(absent.status, 404);
                for other in [&hidden, &unowned] {
                    let r = api
                        .get(&format!("/v2/support_tickets/{other}{suffix}"), &token)
                        .await;
                    assert_eq!(
                        (r.status, r.body_sans_request_id()),
                        (absent.status, absent.body_sans_request_id()),
                        "{other}{suffix}"
                    );
                }
            }
            let listed = api.list("", &token).await;
            assert_eq!(listed, vec![visible.to_string()]);
            for wrong_pattern in [
                "tick123",
                "%FF%FE",
                "tick%2F01HN2NJ9NMRZBXT1H6FT9N773",
                "user01HN2NJ9NMRZBXT1H6FT9N7735",
            ] {
                let r = api
                    .get(&format!("/v2/support_tickets/{wrong_pattern}"), &token)
                    .await;
                assert_eq!(r.status, 404, "{wrong_pattern}");
                let r = api
                    .get(
                        &format!("/v2/support_tickets/{visible}/messages/{wrong_pattern}"),
                        &token,
                    )
                    .await;
                assert_eq!(r.status, 404, "{wrong_pattern}");
            }
            let lower = api
                .get(
                    &format!("/v2/support_tickets/{}", visible.as_str().to_lowercase()),
                    &token,
                )
                .await;
            assert_eq!(lower.status, 404);
        }
        let acting = api
            .call(
                "GET",
                &format!("/v2/support_tickets/{visible}"),
                Some(&app.all_areas()),
                &[("EvEnergy-User", theirs.as_str())],
                None,
            )
            .await;
        assert_eq!(
            acting.status, 404,
            "EvEnergy-User narrows to that user's tickets"
        );
    })
    .await;
}

#[tokio::test]
async fn every_ticket_filter_and_suffix_selects_what_it_says() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let (u1, u2) = (app.user(None).await, app.user(None).await);
        let a = app
            .ticket_with(Some(&u1), |t| {
                t.external_ticket_id = Set("FD-1".into());
                t.status = Set(Some("Open".into()));
                t.priority = Set(Some("High".into()));
                t.source = Set(Some("Phone".into()));
                t.human_verified_category = Set(Some(Category::Charger));
                t.human_verified_subcategory = Set(Some(Subcategory::HardwareIssue));
                t.ai_generated_category = Set(Some(Category::Vehicle));
                t.ai_generated_subcategory = Set(Some(Subcategory::TelematicsIssue));
                t.tags = Set(json!(["vip", "bug"]));
                t.created_at = Set(at(1, 12));
                t.resolved_at = Set(Some(at(2, 12)));
                t.ticket_updated_at = Set(Some(at(2, 12)));
            })
            .await
            .to_string();
        let b = app
            .ticket_with(Some(&u2), |t| {
                t.status = Set(Some("Closed".into()));
                t.priority = Set(None);
                t.source = Set(Some("Email".into()));
                t.ai_generated_category = Set(Some(Category::Charger));
                t.tags = Set(json!(["bug"]));
                t.created_at = Set(at(10, 12));
            })
            .await
            .to_string();
        let c = app
            .ticket_with(None, |t| {
                t.status = Set(Some("Pending".into()));
                t.priority = Set(Some("Low".into()));
                t.source = Set(None);
                t.created_at = Set(at(20, 12));
                t.ticket_updated_at = Set(Some(at(21, 12)));
            })
            .await
            .to_string();
        let token = app.all_areas();
        let (ab, ac, bc, abc) = (vec![&a, &b], vec![&a, &c], vec![&b, &c], vec![&a, &b, &c]);
        let cases: Vec<(String, Vec<&String>)> = vec![
            ("external_ticket_id=FD-1".into(), vec![&a]),
            ("human_verified_category=CHARGER".into(), vec![&a]),
            ("human_verified_subcategory=HARDWARE_ISSUE".into(), vec![&a]),
            ("ai_generated_category=CHARGER".into(), vec![&b]),
            ("ai_generated_subcategory=TELEMATICS_ISSUE".into(), vec![&a]),
            ("human_verified_category__isnull=true".into(), bc.clone()),
            ("human_verified_subcategory__isnull=false".into(), vec![&a]),
            ("ai_generated_category__isnull=false".into(), ab.clone()),
            ("ai_generated_subcategory__isnull=True".into(), bc.clone()),
            ("status=Closed".into(), vec![&b]),
            ("status__in=Open,Pending".into(), ac.clone()),
            ("priority=High".into(), vec![&a]),
            ("priority__in=High,%20Low".into(), ac.clone()),
            ("priority__isnull=true".into(), vec![&b]),
            ("created_at__gte=2025-03-05T00:00:00Z".into(), bc.clone()),
            ("created_at__lte=2025-03-10T12:00:00Z".into(), ab.clone()),
            (
                "created_at__range=2025-03-02T00:00:00Z,2025-03-15T00:00:00Z".into(),
                vec![&b],
            ),
            ("created_at__range=2025-03-01,2025-03-10".into(), vec![&a]),
            (
                "created_at__gte=2025-03-01T13:00:00%2B01:00".into(),
                abc.clone(),
            ),
            (
                "created_at__gte=2025-03-01T13:00:00+01:00".into(),
                abc.clone(),
            ),
            (format!("user={u1}"), vec![&a]),
            (format!("user={BASE_URL}/v2/users/{u2}"), vec![&b]),
            ("user__isnull=true".into(), vec![&c]),
            ("user__isnull=false".into(), ab.clone()),
            ("tags=bug".into(), ab.clone()),
            ("tags=bug&tags=vip".into(), vec![&a]),
            ("source=Email".into(), vec![&b]),
            ("source__in=Phone,Email".into(), ab.clone()),
            ("resolved_at__gte=2025-03-01".into(), vec![&a]),
            ("resolved_at__lte=2025-03-03T00:00:00Z".into(), vec![&a]),
            (
                "resolved_at__range=2025-03-01T00:00:00Z,2025-03-03T00:00:00Z".into(),
                vec![&a],
            ),
            ("resolved_at__isnull=true".into(), bc.clone()),
            (
                "ticket_updated_at__gte=2025-03-15T00:00:00Z".into(),
                vec![&c],
            ),
            (
                "ticket_updated_at__lte=2025-03-03T00:00:00Z".into(),
                vec![&a],
            ),
            (
                "ticket_updated_at__range=2025-03-20,2025-03-22".into(),
                vec![&c],
            ),
            ("ticket_updated_at__isnull=true".into(), vec![&b]),
            (
                "status__in=Open,Closed&tags=bug&priority__isnull=false".into(),
                vec![&a],
            ),
            (
                "created_at__gte=2025-03-05T00:00:00Z&created_at__range=2025-03-01,2025-03-15"
                    .into(),
                vec![&b],
            ),
            ("status=&priority=".into(), abc.clone()),
            ("unknown=1&status__startswith=Op".into(), abc.clone()),
        ];
        for (query, expected) in cases {
            let expected: Vec<String> = expected.into_iter().cloned().collect();
            assert_eq!(
                api.list(&query, &token).await,
                expected,
                "{}: {query}",
                app.backend
            );
        }
    })
    .await;
}

#[tokio::test]
async fn malformed_filter_values_are_400_naming_every_bad_parameter() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let token = app.all_areas();
        let r = api
            .get(
                "/v2/support_tickets?human_verified_category=NOPE&ai_generated_subcategory=nope&priority__isnull=maybe&created_at__gte=yesterday&created_at__range=2025-01-01&resolved_at__range=2025-02-01,2025-01-01&user=nobody&ticket_updated_at__lte=soon&status=Open&expand=users",
                &token,
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        let mut names = field_names(&r.body);
        names.sort();
        assert_eq!(
            names,
            [
                "ai_generated_subcategory",
                "created_at__gte",
                "created_at__range",
                "expand",
                "human_verified_category",
                "priority__isnull",
                "resolved_at__range",
                "ticket_updated_at__lte",
                "user",
            ]
        );
        assert_eq!(r.body["title"], json!("Invalid parameters"));
        let inverted = api.get("/v2/support_tickets?created_at__gte=2025-02-01&created_at__lte=2025-01-01", &token).await;
        assert_eq!(inverted.status, 400);
        assert_eq!(field_names(&inverted.body), ["created_at__gte", "created_at__lte"]);
        let messages = api
            .get(&format!("/v2/support_tickets/{ticket}/messages?message_type=WHO&message_type__in=AI_AGENT_RESPONSE,X&position=first&position__gte=3&position__lte=1"), &token)
            .await;
        assert_eq!(messages.status, 400, "{}", messages.text);
        assert_eq!(
            field_names(&messages.body),
            ["message_type", "message_type__in", "position", "position__gte", "position__lte"]
        );
        let mixed = api.get("/v2/support_tickets?page_size=0&status__in=&human_verified_category=x", &token).await;
        assert_eq!(mixed.status, 400);
        assert_eq!(field_names(&mixed.body), ["page_size", "human_verified_category"]);
    })
    .await;
}

#[tokio::test]
async fn pages_walk_forward_and_back_over_more_than_three_pages_without_gaps_or_repeats() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let mut all = Vec::new();
        let mut open = Vec::new();
        for i in 0..26 {
            let status = if i % 5 == 4 { "Closed" } else { "Open" };
            let t = app
                .ticket_with(Some(&user), |t| t.status = Set(Some(status.into())))
                .await
                .to_string();
            if status == "Open" {
                open.push(t.clone());
            }
            all.push(t);
        }
        let token = app.user_token(&user, READ);
        let first = api.get("/v2/support_tickets", &token).await;
        assert_eq!(
            ids(&first.body),
            all[..25],
            "default page size is 25, oldest first"
        );
        assert_eq!(link(&first, "previous"), None);
        let next = link(&first, "next").expect("a next page");
        assert_eq!(ids(&api.get(&next, &token).await.body), all[25..]);

        let mut forward = Vec::new();
        let mut pages = Vec::new();
        let mut uri = Some("/v2/support_tickets?status=Open&page_size=4&expand=user".to_owned());
        while let Some(u) = uri {
            let r = api.get(&u, &token).await;
            assert_eq!(r.status, 200, "{u}: {}", r.text);
            assert!(
                r.body
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["user"].is_object()),
                "expand kept: {u}"
            );
            pages.push(ids(&r.body).len());
            forward.extend(ids(&r.body));
            uri = link(&r, "next");
            if let Some(n) = &uri {
                assert!(
                    n.contains("status=Open")
                        && n.contains("expand=user")
                        && n.contains("page_size=4"),
                    "{n}"
                );
            }
            if pages.len() > 1 {
                assert!(link(&r, "previous").is_some(), "{u}");
            }
        }
        assert_eq!(pages, [4, 4, 4, 4, 4, 1]);
        assert_eq!(forward, open);

        let mut backward: Vec<String> = Vec::new();
        let mut uri = Some(format!(
            "/v2/support_tickets?status=Open&page_size=4&page_after={}",
            open[19]
        ));
        let mut steps = 0;
        while let Some(u) = uri {
            let r = api.get(&u, &token).await;
            let mut page = ids(&r.body);
            page.extend(backward);
            backward = page;
            uri = link(&r, "previous");
            steps += 1;
            assert!(steps < 10, "runaway walk");
        }
        assert_eq!(backward, open);

        let before = api
            .get(
                &format!("/v2/support_tickets?page_size=3&page_before={}", all[10]),
                &token,
            )
            .await;
        assert_eq!(ids(&before.body), all[7..10]);
        let ignored = api
            .get(
                &format!(
                    "/v2/support_tickets?page_size=3&page_after={}&page_before=not-an-id",
                    all[10]
                ),
                &token,
            )
            .await;
        assert_eq!(
            ids(&ignored.body),
            all[11..14],
            "page_before is ignored beside page_after"
        );
    })
    .await;
}

#[tokio::test]
async fn bad_page_parameters_get_the_contracts_pagination_problem() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let other = app.user(None).await;
        app.ticket(Some(&user)).await;
        let hidden = app.ticket(Some(&other)).await;
        let token = app.user_token(&user, READ);
        for (query, param) in [
            ("page_size=0", "page_size"),
            ("page_size=101", "page_size"),
            ("page_size=ten", "page_size"),
            ("page_size=-1", "page_size"),
            ("page_size=2.5", "page_size"),
            ("page_after=garbage", "page_after"),
            ("page_after=vhcl01HRFF3SEVSCRAV9B3CHVDFN0H", "page_after"),
            ("page_before=tick01hn2nj9nmrzbxt1h6ft9n7735", "page_before"),
            (
                &format!("page_after={}", TicketId::generate()),
                "page_after",
            ),
            (&format!("page_before={hidden}"), "page_before"),
        ] {
            let r = api
                .get(&format!("/v2/support_tickets?{query}"), &token)
                .await;
            assert_eq!(r.status, 400, "{query}");
            assert_eq!(r.body["type"], json!(PAGINATION_TYPE), "{query}");
            assert_eq!(
                r.body["title"],
                json!("Invalid pagination parameter"),
                "{query}"
            );
            assert_eq!(
                r.body["detail"],
                json!(format!("Invalid value for pagination parameter: {param}")),
                "{query}"
            );
            assert_eq!(field_names(&r.body), [param], "{query}");
        }
        for query in ["page_size=1", "page_size=100", "page_size="] {
            assert_eq!(
                api.get(&format!("/v2/support_tickets?{query}"), &token)
                    .await
                    .status,
                200,
                "{query}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn messages_are_listed_by_position_filtered_and_retrieved_one_by_one() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        let other = app.ticket(Some(&user)).await;
        let mut ids_by_position = Vec::new();
        // Inserted out of order: the list still comes by position.
        for (p, kind) in [
            (2, MessageType::CustomerResponse),
            (0, MessageType::InitialRequest),
            (3, MessageType::HumanAgentResponse),
            (1, MessageType::AiAgentResponse),
        ] {
            ids_by_position.push((p, app.message(&ticket, p, kind, app.tick()).await));
        }
        ids_by_position.sort_by_key(|(p, _)| *p);
        let foreign = app
            .message(&other, 0, MessageType::InitialRequest, app.tick())
            .await;
        let token = app.user_token(&user, READ);
        let base = format!("/v2/support_tickets/{ticket}/messages");
        let positions = |r: &TestResponse| -> Vec<i64> {
            r.body
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["position"].as_i64())
                .collect()
        };
        for (query, expected) in [
            ("", vec![0, 1, 2, 3]),
            ("message_type=AI_AGENT_RESPONSE", vec![1]),
            (
                "message_type__in=AI_AGENT_RESPONSE,HUMAN_AGENT_RESPONSE",
                vec![1, 3],
            ),
            ("position=3", vec![3]),
            ("position__gte=1&position__lte=2", vec![1, 2]),
            ("position__gte=1&message_type=INITIAL_REQUEST", vec![]),
        ] {
            let r = api.get(&format!("{base}?{query}"), &token).await;
            assert_eq!(r.status, 200, "{query}: {}", r.text);
            assert_eq!(positions(&r), expected, "{}: {query}", app.backend);
        }
        let (_, second) = &ids_by_position[1];
        let one = api.get(&format!("{base}/{second}"), &token).await;
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(one.body["id"], json!(second.to_string()));
        assert_eq!(one.body["message_type"], json!("AI_AGENT_RESPONSE"));
        // The URL a ticket gives for its message is the message.
        let t = api
            .get(&format!("/v2/support_tickets/{ticket}"), &token)
            .await;
        let url = t.body["messages"][1].as_str().unwrap().to_owned();
        assert_eq!(api.get(&url[BASE_URL.len()..], &token).await.body, one.body);
        for missing in [
            format!("{base}/{foreign}"),
            format!("{base}/{}", MessageId::generate()),
            format!("{base}/tmsg-short"),
            format!("/v2/support_tickets/{}/messages", TicketId::generate()),
        ] {
            assert_eq!(api.get(&missing, &token).await.status, 404, "{missing}");
        }
    })
    .await;
}

#[tokio::test]
async fn categories_list_every_value_with_its_label_without_a_token() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let r = api
            .call("GET", "/v2/support_tickets/categories", None, &[], None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let categories = r.body["categories"].as_array().unwrap();
        assert_eq!(categories.len(), 8);
        assert_eq!(
            categories[6],
            json!({ "value": "USABILITY_UX", "label": "Usability/UX" })
        );
        let subcategories = r.body["subcategories"].as_array().unwrap();
        assert_eq!(subcategories.len(), 100);
        assert!(subcategories
            .contains(&json!({ "value": "APP_CRASH_FREEZE", "label": "App crash / freeze" })));
    })
    .await;
}

fn multipart(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--XyZ--\r\n");
    body.into_bytes()
}

const MULTIPART: &str = "multipart/form-data; boundary=XyZ";
const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[tokio::test]
async fn patch_in_json_form_and_multipart_changes_only_the_categorization() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let token = app.user_token(&user, READ_WRITE);
        let ticket = app
            .ticket_with(Some(&user), |t| {
                t.ai_generated_category = Set(Some(Category::Vehicle));
                t.ai_generated_subcategory = Set(Some(Subcategory::TelematicsIssue));
            })
            .await
            .to_string();
        let json_body = json!({
            "human_verified_category": "CHARGER",
            "human_verified_subcategory": "OFFLINE",
            "ai_generated_category": null,
            "subject": "read-only, ignored",
            "status": "Closed",
            "id": "tick00000000000000000000000000",
        })
        .to_string();
        let r = api.patch(&ticket, &token, JSON, json_body, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"2\""));
        assert_eq!(r.body["id"], json!(ticket));
        assert_eq!(r.body["human_verified_category"], json!("CHARGER"));
        assert_eq!(r.body["human_verified_subcategory"], json!("OFFLINE"));
        assert_eq!(r.body["ai_generated_category"], json!(null), "null clears");
        assert_eq!(
            r.body["ai_generated_subcategory"],
            json!("TELEMATICS_ISSUE"),
            "absent stays"
        );
        assert_eq!(r.body["subject"], json!("Charger offline"));
        assert_eq!(r.body["status"], json!("Open"));

        let r = api
            .patch(
                &ticket,
                &token,
                FORM,
                "ai_generated_category=SOLAR&human_verified_subcategory=&subject=x",
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["ai_generated_category"], json!("SOLAR"));
        assert_eq!(
            r.body["human_verified_subcategory"],
            json!(null),
            "an empty form value clears"
        );
        assert_eq!(r.body["human_verified_category"], json!("CHARGER"));
        assert_eq!(r.header("etag"), Some("\"3\""));

        let body = multipart(&[
            ("ai_generated_subcategory", "INVERTER"),
            ("human_verified_category", "SOLAR"),
            ("tags", "x"),
        ]);
        let r = api.patch(&ticket, &token, MULTIPART, body, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["ai_generated_subcategory"], json!("INVERTER"));
        assert_eq!(r.body["human_verified_category"], json!("SOLAR"));
        assert_eq!(r.body["ai_generated_category"], json!("SOLAR"));
        assert_eq!(r.header("etag"), Some("\"4\""));

        let (stored, version) = api.stored(&ticket).await;
        assert_eq!(version, 4);
        assert_eq!(stored.human_verified_category, Some(Category::Solar));
        assert_eq!(stored.human_verified_subcategory, None);
        let history = app
            .graphql(
                Some(&app.all_areas()),
                "query($id: ID!) { ticket(id: $id) { categorizationHistory { version } } }",
                json!({ "id": ticket }),
            )
            .await;
        assert_eq!(
            history.body["data"]["ticket"]["categorizationHistory"]
                .as_array()
                .map(Vec::len),
            Some(3),
            "{}",
            history.text
        );

        let only_read_only = api
            .patch(&ticket, &token, JSON, r#"{"subject":"x"}"#, &[])
            .await;
        assert_eq!(only_read_only.status, 200, "{}", only_read_only.text);
        assert_eq!(
            only_read_only.header("etag"),
            Some("\"4\""),
            "nothing written"
        );
        let get = api
            .get(&format!("/v2/support_tickets/{ticket}"), &token)
            .await;
        assert_eq!(get.body, r.body, "PATCH answers what GET then shows");
    })
    .await;
}

#[tokio::test]
async fn patch_honours_if_match_and_refuses_a_stale_one_with_412() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let token = app.user_token(&user, READ_WRITE);
        let ticket = app.ticket(Some(&user)).await.to_string();
        let etag = api
            .get(&format!("/v2/support_tickets/{ticket}"), &token)
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        let r = api
            .patch(
                &ticket,
                &token,
                JSON,
                r#"{"human_verified_category":"CHARGER"}"#,
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let fresh = r.header("etag").unwrap().to_owned();
        assert_ne!(fresh, etag);
        for stale in [etag.as_str(), "\"99\"", "W/\"2\"", "garbage"] {
            let r = api
                .patch(
                    &ticket,
                    &token,
                    JSON,
                    r#"{"human_verified_category":"SOLAR"}"#,
                    &[("if-match", stale)],
                )
                .await;
            assert_eq!(r.status, 412, "{stale}: {}", r.text);
            assert_eq!(r.body["title"], json!("Precondition failed"));
        }
        assert_eq!(
            api.stored(&ticket).await.0.human_verified_category,
            Some(Category::Charger),
            "stale writes wrote nothing"
        );
        let listed = format!("\"1\", {fresh}");
        let r = api
            .patch(
                &ticket,
                &token,
                FORM,
                "human_verified_category=VEHICLE",
                &[("if-match", &listed)],
            )
            .await;
        assert_eq!(r.status, 200, "one of the listed tags matches: {}", r.text);
        let r = api
            .patch(
                &ticket,
                &token,
                JSON,
                r#"{"human_verified_category":"ACCOUNT"}"#,
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["human_verified_category"], json!("ACCOUNT"));
        let missing = api
            .patch(
                &TicketId::generate().to_string(),
                &token,
                JSON,
                r#"{"human_verified_category":"ACCOUNT"}"#,
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(missing.status, 404);
    })
    .await;
}

#[tokio::test]
async fn patch_needs_the_write_scope_and_never_reaches_outside_the_scope() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let (user, other) = (app.user(None).await, app.user(None).await);
        let mine = app.ticket(Some(&user)).await.to_string();
        let theirs = app.ticket(Some(&other)).await.to_string();
        let body = r#"{"human_verified_category":"CHARGER"}"#;
        let before = (api.stored(&mine).await, api.stored(&theirs).await);

        let read_only = api
            .patch(&mine, &app.user_token(&user, READ), JSON, body, &[])
            .await;
        assert_eq!(read_only.status, 403, "{}", read_only.text);
        let no_token = api
            .call(
                "PATCH",
                &format!("/v2/support_tickets/{mine}"),
                None,
                &[("content-type", JSON)],
                Some(body.into()),
            )
            .await;
        assert_eq!(no_token.status, 401);
        assert_eq!(no_token.header("www-authenticate"), Some("Bearer"));

        let token = app.user_token(&user, READ_WRITE);
        let hidden = api.patch(&theirs, &token, JSON, body, &[]).await;
        let absent = api
            .patch(&TicketId::generate().to_string(), &token, JSON, body, &[])
            .await;
        assert_eq!(
            (hidden.status, hidden.body_sans_request_id()),
            (absent.status, absent.body_sans_request_id())
        );
        assert_eq!(hidden.status, 404);
        let hidden_form = api
            .patch(
                &theirs,
                &token,
                MULTIPART,
                multipart(&[("human_verified_category", "SOLAR")]),
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(hidden_form.status, 404);
        assert_eq!(
            (api.stored(&mine).await, api.stored(&theirs).await),
            before,
            "nothing changed"
        );
    })
    .await;
}

#[tokio::test]
async fn patch_rejects_invalid_values_naming_each_field_in_every_encoding() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let token = app.user_token(&user, READ_WRITE);
        let ticket = app.ticket(Some(&user)).await.to_string();
        let before = api.stored(&ticket).await;
        let fields = ["human_verified_category", "ai_generated_subcategory"];
        for (content_type, body) in [
            (JSON, json!({ "human_verified_category": "charger", "ai_generated_subcategory": 7, "ai_generated_category": "SOLAR" }).to_string().into_bytes()),
            (FORM, b"human_verified_category=NOPE&ai_generated_subcategory=CHARGER&ai_generated_category=SOLAR".to_vec()),
            (MULTIPART, multipart(&[("human_verified_category", "NOPE"), ("ai_generated_subcategory", "VEHICLE"), ("ai_generated_category", "SOLAR")])),
        ] {
            let r = api.patch(&ticket, &token, content_type, body, &[]).await;
            assert_eq!(r.status, 400, "{content_type}: {}", r.text);
            assert_eq!(field_names(&r.body), fields, "{content_type}");
        }
        for (content_type, body, status) in [
            (JSON, "{ not json", 400),
            (JSON, "[1, 2]", 400),
            (JSON, "", 400),
            ("text/plain", "human_verified_category=CHARGER", 415),
            ("application/xml", "<ticket/>", 415),
            ("multipart/form-data", "no boundary", 400),
        ] {
            let r = api.patch(&ticket, &token, content_type, body, &[]).await;
            assert_eq!(r.status, status, "{content_type} {body}: {}", r.text);
        }
        let none = api.call("PATCH", &format!("/v2/support_tickets/{ticket}"), Some(&token), &[], None).await;
        assert_eq!(none.status, 415);
        assert_eq!(api.stored(&ticket).await, before, "nothing changed");
    })
    .await;
}

#[tokio::test]
async fn the_version_header_is_echoed_on_every_answer_and_only_2_is_accepted() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let token = app.all_areas();
        for version in ["2", "2.0", " 2 "] {
            let r = api
                .call(
                    "GET",
                    "/v2/support_tickets",
                    Some(&token),
                    &[("EvEnergy-Version", version)],
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{version}: {}", r.text);
        }
        for version in ["3.0", "1", "two", ""] {
            for uri in [
                "/v2/support_tickets",
                "/v2/support_tickets/categories",
                "/v2/nowhere",
            ] {
                let r = api
                    .call(
                        "GET",
                        uri,
                        Some(&token),
                        &[("EvEnergy-Version", version)],
                        None,
                    )
                    .await;
                assert_eq!(r.status, 400, "{version} {uri}");
                assert_eq!(r.body["title"], json!("Unsupported version"));
                assert_eq!(
                    r.body["detail"],
                    json!(format!("Unsupported version requested: {}", version.trim()))
                );
            }
        }
        // Echoed on successes and errors alike (the check in `call` asserts it on each).
        api.call("GET", "/v2/support_tickets", None, &[], None)
            .await;
        api.call("GET", "/v2/openapi.json", None, &[], None).await;
    })
    .await;
}

#[tokio::test]
async fn an_accept_header_that_excludes_json_is_406() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let token = api.app.all_areas();
        for (accept, status) in [
            ("application/json", 200),
            ("application/problem+json", 200),
            ("*/*", 200),
            ("application/*", 200),
            ("text/html, application/json;q=0.5", 200),
            ("application/json; charset=utf-8", 200),
            ("", 200),
            ("text/html", 406),
            ("application/xml, text/*", 406),
            ("application/json;q=0", 406),
            ("application/json;q=0, text/html", 406),
        ] {
            let r = api
                .call(
                    "GET",
                    "/v2/support_tickets",
                    Some(&token),
                    &[("accept", accept)],
                    None,
                )
                .await;
            assert_eq!(r.status, status, "{accept}: {}", r.text);
            if status == 406 {
                assert_eq!(r.body["title"], json!("Not Acceptable"));
            }
        }
        let r = api
            .call(
                "GET",
                "/v2/support_tickets/categories",
                None,
                &[("accept", "text/csv")],
                None,
            )
            .await;
        assert_eq!(r.status, 406);
    })
    .await;
}

#[tokio::test]
async fn protocol_errors_are_problem_json_with_the_right_status() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await.to_string();
        let token = app.user_token(&user, READ_WRITE);
        for uri in [
            "/v2/nowhere",
            "/v2/support_tickets/",
            "/v2/support_tickets/x/y/z/w",
            "/v2",
        ] {
            let r = api.call("GET", uri, Some(&token), &[], None).await;
            assert_eq!(r.status, 404, "{uri}");
        }
        let r = api
            .call(
                "DELETE",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 405);
        let allow = r.header("allow").unwrap_or_default().to_owned();
        assert!(allow.contains("GET") && allow.contains("PATCH"), "{allow}");
        let r = api
            .call(
                "POST",
                "/v2/support_tickets",
                Some(&token),
                &[("content-type", JSON)],
                Some(b"{}".to_vec()),
            )
            .await;
        assert_eq!(r.status, 405);
        assert!(r.header("allow").unwrap_or_default().contains("GET"));
        let huge = format!(
            "{{\"human_verified_category\":\"CHARGER\",\"x\":\"{}\"}}",
            "a".repeat(70 * 1024)
        );
        let r = api.patch(&ticket, &token, JSON, huge.clone(), &[]).await;
        assert_eq!(r.status, 413, "{}", r.text);
        let r = api
            .patch(
                &ticket,
                &token,
                FORM,
                format!("x={}", "a".repeat(70 * 1024)),
                &[],
            )
            .await;
        assert_eq!(r.status, 413);
        let r = api
            .patch(
                &ticket,
                &token,
                MULTIPART,
                multipart(&[("x", &"a".repeat(70 * 1024))]),
                &[],
            )
            .await;
        assert_eq!(r.status, 413, "{}", r.text);
        let r = api.patch(&ticket, &token, "text/plain", "hi", &[]).await;
        assert_eq!(r.status, 415);
        let r = api.patch(&ticket, &token, JSON, "{", &[]).await;
        assert_eq!(r.status, 400);
        assert_eq!(api.stored(&ticket).await.1, 1, "nothing written");
    })
    .await;
}

#[tokio::test]
async fn missing_or_bad_credentials_are_401_with_a_bearer_challenge_and_read_scope_is_needed() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let user = app.user(None).await;
        let ticket = app.ticket(Some(&user)).await;
        for uri in [
            "/v2/support_tickets".to_owned(),
            format!("/v2/support_tickets/{ticket}"),
            format!("/v2/support_tickets/{ticket}/messages"),
        ] {
            let none = api.call("GET", &uri, None, &[], None).await;
            assert_eq!(none.status, 401, "{uri}");
            assert_eq!(none.header("www-authenticate"), Some("Bearer"));
            let bad = api.call("GET", &uri, Some("not.a.token"), &[], None).await;
            assert_eq!(bad.status, 401, "{uri}");
            let unscoped = api.get(&uri, &app.user_token(&user, "other:read")).await;
            assert_eq!(unscoped.status, 403, "{uri}");
        }
    })
    .await;
}

#[tokio::test]
async fn rest_and_graphql_give_the_same_tickets_for_the_same_filter_and_token() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let (org, elsewhere) = (app.org().await, app.org().await);
        let users = [app.user(Some(&org)).await, app.user(Some(&org)).await, app.user(Some(&elsewhere)).await];
        for i in 0..12 {
            let owner = if i % 4 == 3 { None } else { Some(&users[i % 3]) };
            app.ticket_with(owner, |t| {
                t.status = Set(Some(["Open", "Closed", "Pending"][i % 3].into()));
                t.priority = Set(if i % 2 == 0 { Some("High".into()) } else { None });
                t.tags = Set(if i % 3 == 0 { json!(["bug"]) } else { json!([]) });
                t.human_verified_category = Set((i % 5 == 0).then_some(Category::Charger));
                t.created_at = Set(at(1 + i as u32, 8));
            })
            .await;
        }
        let cases = [
            ("", json!({})),
            ("status__in=Open,Pending", json!({ "status": { "in": ["Open", "Pending"] } })),
            ("priority__isnull=true", json!({ "priority": { "isNull": true } })),
            ("tags=bug", json!({ "tags": { "containsAll": ["bug"] } })),
            ("human_verified_category=CHARGER", json!({ "humanVerifiedCategory": { "eq": "CHARGER" } })),
            ("created_at__gte=2025-03-04T00:00:00Z", json!({ "createdAt": { "gte": "2025-03-04T00:00:00Z" } })),
            (&format!("user={}", users[1]), json!({ "user": { "eq": users[1].to_string() } })),
            ("user__isnull=true", json!({ "user": { "isNull": true } })),
        ];
        let tokens = [
            app.org_token(&org, READ),
            app.user_token(&users[2], READ),
            app.all_areas(),
        ];
        for token in &tokens {
            for (query, filter) in &cases {
                let rest = api.list(&format!("{query}&page_size=100"), token).await;
                let gql = app
                    .graphql(Some(token), "query($f: TicketFilter) { tickets(filter: $f, order: CREATED_AT_ASC, first: 100) { edges { node { id } } } }", json!({ "f": filter }))
                    .await;
                assert_eq!(rest, node_ids(&gql.body["data"]["tickets"]), "{}: {query}: {}", app.backend, gql.text);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_page_costs_the_same_few_statements_for_5_and_50_expanded_tickets() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let app = &api.app;
        let org = app.org().await;
        let users = [app.user(Some(&org)).await, app.user(Some(&org)).await];
        for i in 0..50 {
            let t = app.ticket(Some(&users[i % 2])).await;
            app.message(&t, 0, MessageType::InitialRequest, app.tick())
                .await;
        }
        let token = app.org_token(&org, READ);
        let mut counts = Vec::new();
        for n in [5, 50] {
            app.reset_statements();
            let r = api
                .call(
                    "GET",
                    &format!("/v2/support_tickets?page_size={n}&expand=user,messages"),
                    Some(&token),
                    &[],
                    None,
                )
                .await;
            counts.push(app.statements());
            assert_eq!(ids(&r.body).len(), n);
        }
        // The page, its messages, its users.
        assert_eq!(counts, [3, 3], "{}", app.backend);
    })
    .await;
}

// ---- the generated document against the reference contract ----

/// The reference contract: `REFERENCE_CONTRACT`, else `shared/spec` beside the repository. A
/// clone without it skips the comparison with a notice; under CI the contract is required.
fn reference() -> Option<Value> {
    let path = std::env::var_os("REFERENCE_CONTRACT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/spec/support-tickets-openapi.yaml")
        });
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !crate::helpers::in_ci() => {
            crate::helpers::notice(&format!(
                "the reference contract {} is absent: the OpenAPI document was not compared with it \
                 (set REFERENCE_CONTRACT to its path; under CI it is required)",
                path.display()
            ));
            return None;
        }
        Err(e) => panic!("the reference contract {}: {e}", path.display()),
    };
    Some(serde_norway::from_str(&text).expect("the reference contract is YAML"))
}

/// Components compared on their own rather than expanded wherever they are used.
const NAMED: [&str; 6] = [
    "SupportTicket",
    "SupportTicketMessage",
    "User",
    "SupportTicketCategoryEnum",
    "SupportTicketSubcategoryEnum",
    "SupportTicketMessageTypeEnum",
];

/// What a schema admits, without prose: a sorted union of alternatives. `oneOf` and `anyOf`
/// both count as unions, `$ref`s are followed (named components stay references), and a
/// `type` list is a union of its types.
fn shape(doc: &Value, schema: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        if NAMED.contains(&name) {
            out.push(json!({ "ref": name }));
        } else {
            let target = doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r}"));
            out.extend(shape(doc, target));
        }
    } else if let Some(items) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        out.extend(items.iter().flat_map(|i| shape(doc, i)));
    } else if let Some(items) = schema["allOf"].as_array() {
        assert_eq!(items.len(), 1, "allOf of one schema only: {schema}");
        out.extend(shape(doc, &items[0]));
    } else {
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec!["any"],
        };
        for t in types {
            let mut atom = json!({ "type": t });
            match t {
                "object" => {
                    let properties: serde_json::Map<String, Value> = schema["properties"]
                        .as_object()
                        .map(|p| {
                            p.iter()
                                .map(|(k, v)| (k.clone(), json!(shape(doc, v))))
                                .collect()
                        })
                        .unwrap_or_default();
                    atom["properties"] = Value::Object(properties);
                    atom["required"] = json!(sorted(&schema["required"]));
                }
                "array" => atom["items"] = json!(shape(doc, &schema["items"])),
                "null" => {}
                _ => {
                    for key in ["format", "enum", "pattern", "minimum", "maximum", "default"] {
                        if !schema[key].is_null() {
                            atom[key] = normalize_number(&schema[key]);
                        }
                    }
                }
            }
            out.push(atom);
        }
    }
    out.sort_by_key(|v| v.to_string());
    out.dedup();
    out
}

/// `100` and `100.0` are the same number.
fn normalize_number(v: &Value) -> Value {
    match v.as_f64() {
        Some(f) if v.is_number() && f.fract() == 0.0 => json!(f as i64),
        _ => match v {
            Value::Array(items) => Value::Array(items.iter().map(normalize_number).collect()),
            other => other.clone(),
        },
    }
}

fn sorted(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn follow<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{r}")),
        None => value,
    }
}

/// Each parameter of an operation (path-level ones included): name and place -> what it takes.
fn parameters(doc: &Value, path: &str, method: &str) -> std::collections::BTreeMap<String, Value> {
    let item = &doc["paths"][path];
    let mut out = std::collections::BTreeMap::new();
    for list in [&item["parameters"], &item[method]["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            let p = follow(doc, p);
            out.insert(
                format!(
                    "{} in {}",
                    p["name"].as_str().unwrap_or("?"),
                    p["in"].as_str().unwrap_or("?")
                ),
                json!({
                    "required": p["required"].as_bool().unwrap_or(false),
                    "explode": p["explode"],
                    "schema": shape(doc, &p["schema"]),
                }),
            );
        }
    }
    out
}

/// The members of a problem body each side documents.
fn problem_members(doc: &Value, response: &Value) -> (serde_json::Map<String, Value>, Vec<String>) {
    let schema = &follow(doc, response)["content"]["application/problem+json"]["schema"];
    let atoms = shape(doc, schema);
    assert_eq!(atoms.len(), 1, "{schema}");
    let properties = atoms[0]["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    (properties, sorted(&atoms[0]["required"]))
}

#[tokio::test]
async fn the_openapi_document_agrees_with_the_reference_contract() {
    let Some(theirs) = reference() else {
        return;
    };
    let theirs = &theirs;
    each_backend(|app| async move {
        let ours = OpenApiDoc::fetch(&app).await.doc;
        assert_eq!(ours["servers"][0]["url"], json!("/v2"));
        assert!(theirs["servers"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/v2"));

        let reference_paths: Vec<&String> = theirs["paths"].as_object().unwrap().keys().collect();
        let our_paths: Vec<&String> = ours["paths"].as_object().unwrap().keys().collect();
        let (mut a, mut b) = (reference_paths.clone(), our_paths.clone());
        a.sort();
        b.sort();
        assert_eq!(b, a, "paths");

        // The filters of the ticket list: its query parameters but the page ones and `expand`.
        let filters: Vec<(String, Value)> = parameters(&theirs, "/support_tickets", "get")
            .into_iter()
            .filter(|(key, _)| {
                key.ends_with(" in query")
                    && !["page_before", "page_after", "page_size", "expand"]
                        .iter()
                        .any(|name| *key == format!("{name} in query"))
            })
            .collect();
        assert_eq!(filters.len(), 30, "{filters:?}");

        for path in reference_paths {
            // The statistics operations take the filters of the list too, and need the read
            // scope like every other ticket read; the reference lists neither on their paths.
            let stats = path.starts_with("/support-ticket-stats/");
            for (method, op) in theirs["paths"][path].as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let mine = &ours["paths"][path][method];
                let at = format!("{method} {path}");
                assert!(mine.is_object(), "{at} is missing");
                assert_eq!(mine["operationId"], op["operationId"], "{at}");
                let mut expected = parameters(&theirs, path, method);
                if stats {
                    for (key, filter) in &filters {
                        let earlier = expected.insert(key.clone(), filter.clone());
                        assert!(earlier.is_none(), "{at}: the reference lists {key}");
                    }
                }
                assert_eq!(
                    parameters(&ours, path, method),
                    expected,
                    "{at}: parameters"
                );
                let security = if stats {
                    assert!(
                        op["security"].is_null(),
                        "{at}: the reference names security"
                    );
                    json!([{ "oauth2": ["support:read"] }])
                } else {
                    op["security"].clone()
                };
                assert_eq!(mine["security"], security, "{at}: security");
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for (media, c) in content {
                        assert_eq!(
                            shape(&ours, &mine["requestBody"]["content"][media]["schema"]),
                            shape(&theirs, &c["schema"]),
                            "{at}: request body {media}"
                        );
                    }
                }
                for (status, response) in op["responses"].as_object().unwrap() {
                    let my_response = &mine["responses"][status];
                    assert!(my_response.is_object(), "{at}: {status} is not documented");
                    let my_headers = follow(&ours, my_response)["headers"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                    for name in follow(&theirs, response)["headers"]
                        .as_object()
                        .into_iter()
                        .flat_map(|h| h.keys())
                    {
                        // The reference names a `RetryAfter` on nearly every answer; only
                        // the answers that ask to come back later (429, 503) carry one.
                        if name == "RetryAfter" && !matches!(status.as_str(), "429" | "503") {
                            continue;
                        }
                        assert!(
                            my_headers.keys().any(|h| h.eq_ignore_ascii_case(name)),
                            "{at}: {status} header {name} is not documented"
                        );
                    }
                    if status.starts_with('2') {
                        assert_eq!(
                            shape(
                                &ours,
                                &follow(&ours, my_response)["content"]["application/json"]
                                    ["schema"]
                            ),
                            shape(
                                &theirs,
                                &follow(&theirs, response)["content"]["application/json"]["schema"]
                            ),
                            "{at}: {status} body"
                        );
                    } else {
                        let (my_members, my_required) = problem_members(&ours, my_response);
                        let (members, required) = problem_members(&theirs, response);
                        assert_eq!(my_required, required, "{at}: {status} required members");
                        for (name, s) in members {
                            if name == "notification" {
                                continue; // the platform's notification objects are not part of this product
                            }
                            assert_eq!(
                                my_members.get(&name),
                                Some(&s),
                                "{at}: {status} member {name}"
                            );
                        }
                    }
                }
            }
        }

        let schema = |doc: &Value, name: &str| shape(doc, &doc["components"]["schemas"][name]);
        for name in [
            "SupportTicket",
            "SupportTicketMessage",
            "SupportTicketCategoryEnum",
            "SupportTicketSubcategoryEnum",
            "SupportTicketMessageTypeEnum",
        ] {
            assert_eq!(schema(&ours, name), schema(&theirs, name), "schema {name}");
        }
        // A user carries what the ticket paths know of one; the rest belongs to the users API.
        let (mine, full) = (
            &ours["components"]["schemas"]["User"],
            &theirs["components"]["schemas"]["User"],
        );
        assert_eq!(sorted(&mine["required"]), sorted(&full["required"]));
        let mut left_out = Vec::new();
        for (name, s) in full["properties"].as_object().unwrap() {
            match mine["properties"].get(name) {
                Some(m) => assert_eq!(shape(&ours, m), shape(&theirs, s), "User.{name}"),
                None => left_out.push(name.as_str()),
            }
        }
        left_out.sort();
        assert_eq!(
            left_out,
            [
                "default_location",
                "evses",
                "terms_consent_datetime",
                "vehicles"
            ]
        );
        assert_eq!(
            mine["properties"].as_object().unwrap().len(),
            5,
            "no member the reference lacks"
        );
    })
    .await;
}

#[tokio::test]
async fn a_database_outage_is_a_503_problem_that_keeps_its_cause_to_itself() {
    each_backend(|app| async move {
        let api = Api::new(app).await;
        let user = api.app.user(None).await;
        let ticket = api.app.ticket(Some(&user)).await;
        let token = api.app.user_token(&user, READ_WRITE);
        let _ = api.app.db.clone().close().await;
        for uri in [
            "/v2/support_tickets".to_owned(),
            format!("/v2/support_tickets/{ticket}"),
            "/v2/support-ticket-stats/resolution".to_owned(),
        ] {
            let r = api.get(&uri, &token).await;
            assert_eq!(r.status, 503, "{uri}: {}", r.text);
            let text = r.text.to_lowercase();
            assert!(
                !text.contains("pool") && !text.contains("sql"),
                "{}",
                r.text
            );
        }
    })
    .await;
}
