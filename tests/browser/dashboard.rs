//! The support dashboard in a real browser: it loads nothing from outside the host, shows
//! the API's own numbers for the filter in its bar, lists exactly the tickets of a clicked
//! Sankey link, takes its token from the link or from a paste, and says in words what went
//! wrong (an expired token, too many requests, a database outage) while staying usable.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use entity::{Category, MessageType, Subcategory};
use sea_orm::Set;
use serde_json::{json, Value};

use crate::harness::{serve, Browser};
use crate::helpers::{assert_close, each_backend, TestApp, SECRET};

/// The statistics the dashboard shows, asked of the API directly.
const STATS: &str = r#"query Expected($filter: TicketFilter) {
  stats(filter: $filter) {
    total
    sankey { links { category subcategory value } }
    volume(groupBy: WEEK) { date count }
    resolution { resolutionRate totalResolved totalUnresolved averageHours medianHours p90Hours }
    firstResponse { responded awaitingResponse averageHours medianHours p90Hours }
    statusBreakdown { value count }
    priorityBreakdown { value count }
    sourceBreakdown { value count }
    humanVerified: topCategories(basis: HUMAN_VERIFIED) { ...Top }
    aiGenerated: topCategories(basis: AI_GENERATED) { ...Top }
    effective: topCategories(basis: EFFECTIVE) { ...Top }
    categorizationAgreement {
      compared categoryAgreementRate subcategoryAgreementRate awaitingVerification
      disagreements { aiCategory humanCategory count }
    }
  }
}
fragment Top on TopCategories {
  categories { category count }
  subcategories { category subcategory count }
}"#;

/// What the tests know of the data they built.
struct Built {
    /// The tickets of the largest Sankey link, Charger → Offline.
    offline: Vec<String>,
    /// A ticket of that link and how many messages it has.
    talkative: (String, usize),
}

fn day(n: i64, hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::days(n)
        + chrono::Duration::hours(hour)
}

/// 49 tickets over January and February 2025: 30 Charger → Offline (more than a page), 8
/// Charger with no subcategory that the classifier called Vehicle, 6 Mobile App → Login
/// credentials, and 5 that only the classifier categorized; with and without users,
/// statuses, priorities, sources, tags, resolutions and conversations.
async fn build(app: &TestApp) -> Built {
    let org = app.org().await;
    let alice = app.user(Some(&org)).await;
    let bob = app.user(None).await;

    let mut offline = Vec::new();
    let mut talkative = None;
    for i in 0..30i64 {
        let created = day(i, 9);
        let user = if i % 3 == 0 { &bob } else { &alice };
        let id = app
            .ticket_with(Some(user), |m| {
                m.subject = Set(Some(format!("Charger offline #{i}")));
                m.created_at = Set(created);
                m.status = Set(Some(if i % 2 == 0 { "Open" } else { "Resolved" }.into()));
                m.priority = Set(Some(if i % 5 == 0 { "High" } else { "Medium" }.into()));
                m.source = Set(Some(if i % 4 == 0 { "Phone" } else { "Email" }.into()));
                m.human_verified_category = Set(Some(Category::Charger));
                m.human_verified_subcategory = Set(Some(Subcategory::Offline));
                m.ai_generated_category = Set(Some(Category::Charger));
                m.ai_generated_subcategory = Set(Some(if i % 6 == 0 {
                    Subcategory::Firmware
                } else {
                    Subcategory::Offline
                }));
                if i % 2 == 1 {
                    m.resolved_at = Set(Some(created + chrono::Duration::hours(3 + i)));
                }
                if i % 7 == 0 {
                    m.tags = Set(json!(["escalated"]));
                }
            })
            .await;
        app.message(&id, 0, MessageType::InitialRequest, created)
            .await;
        let mut messages = 1;
        if i % 4 != 3 {
            let at = created + chrono::Duration::minutes(30 + 47 * (i % 5));
            app.message(&id, 1, MessageType::HumanAgentResponse, at)
                .await;
            messages += 1;
        }
        if i == 2 {
            let at = created + chrono::Duration::hours(6);
            app.message(&id, 2, MessageType::CustomerResponse, at).await;
            app.message(&id, 3, MessageType::AiAgentResponse, at).await;
            messages += 2;
            talkative = Some((id.to_string(), messages));
        }
        offline.push(id.to_string());
    }
    for i in 0..8i64 {
        let created = day(3 + 2 * i, 14);
        app.ticket_with(None, |m| {
            m.subject = Set(Some(format!("Charger question #{i}")));
            m.created_at = Set(created);
            m.status = Set(Some("Resolved".into()));
            m.priority = Set(Some("Low".into()));
            m.source = Set(Some("Phone".into()));
            m.human_verified_category = Set(Some(Category::Charger));
            m.ai_generated_category = Set(Some(Category::Vehicle));
            m.resolved_at = Set(Some(created + chrono::Duration::hours(10 + 5 * i)));
            m.tags = Set(json!(["escalated", "vip"]));
        })
        .await;
    }
    for i in 0..6i64 {
        let created = day(33 + 3 * i, 11);
        let id = app
            .ticket_with(Some(&alice), |m| {
                m.subject = Set(Some(format!("Cannot log in #{i}")));
                m.created_at = Set(created);
                m.status = Set(Some("Closed".into()));
                m.priority = Set(None);
                m.source = Set(Some("Chat".into()));
                m.human_verified_category = Set(Some(Category::MobileApp));
                m.human_verified_subcategory = Set(Some(Subcategory::LoginCredentials));
                m.ai_generated_category = Set(Some(Category::MobileApp));
                m.ai_generated_subcategory = Set(Some(Subcategory::AppCrashFreeze));
                m.resolved_at = Set(Some(created + chrono::Duration::hours(30 * (i + 1))));
            })
            .await;
        let at = created + chrono::Duration::hours(2 + 3 * i);
        app.message(&id, 0, MessageType::AiAgentResponse, at).await;
    }
    for i in 0..5i64 {
        app.ticket_with(Some(&bob), |m| {
            m.subject = Set(Some(format!("Solar export #{i}")));
            m.created_at = Set(day(40 + i, 16));
            m.status = Set(None);
            m.priority = Set(Some("Urgent".into()));
            m.source = Set(None);
            m.ai_generated_category = Set(Some(Category::Solar));
            m.ai_generated_subcategory = Set(Some(Subcategory::SolarFeed));
        })
        .await;
    }
    Built {
        offline,
        talkative: talkative.expect("ticket #2 has a conversation"),
    }
}

/// A token that expired an hour ago, signed with the test secret.
fn expired_token() -> String {
    let now = Utc::now().timestamp();
    let claims = json!({
        "iat": now - 7200,
        "exp": now - 3600,
        "sub": "all-areas",
        "access_all_areas": true,
        "scope": "support:read",
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

/// Waits until every view shows the answer of a refresh newer than `after`, with every
/// chart drawn; returns that refresh's number.
async fn wait_ready(browser: &Browser, after: u64) -> u64 {
    let generation = browser
        .wait_until(
            "every view to show the statistics",
            &format!(
                "const views = [...document.querySelectorAll('.view')];
                 const generation = Number(document.getElementById('views').dataset.generation || 0);
                 const drawn = [...document.querySelectorAll('.chart:not([hidden])')]
                     .every((c) => c.dataset.rendered === 'true');
                 return document.body.dataset.state === 'ready' && generation > {after}
                     && views.every((v) => v.dataset.state === 'ready') && drawn && generation;"
            ),
        )
        .await;
    generation.as_u64().unwrap_or_default()
}

/// What the page shows, read from its elements: the figures' raw values (`data-value`) and
/// the rows of each view's table (`data-key`, `data-count`).
async fn shown(browser: &Browser) -> Value {
    browser
        .execute(
            "const value = (id) => {
                 const v = document.getElementById(id).dataset.value;
                 return v === '' || v === undefined ? null : Number(v);
             };
             const rows = (selector) => [...document.querySelectorAll(`${selector} tbody tr`)]
                 .map((tr) => ({ key: JSON.parse(tr.dataset.key), count: Number(tr.dataset.count) }));
             return {
                 total: value('total'),
                 resolved: value('resolved'),
                 unresolved: value('unresolved'),
                 resolutionRate: value('resolution-rate'),
                 awaitingResponse: value('awaiting-response'),
                 awaitingVerification: value('awaiting-verification'),
                 resolution: [value('resolution-average'), value('resolution-median'), value('resolution-p90')],
                 firstResponse: [value('first-response-average'), value('first-response-median'), value('first-response-p90')],
                 responded: value('responded'),
                 status: rows('#view-status .table'),
                 priority: rows('#view-priority .table'),
                 source: rows('#view-source .table'),
                 sankey: rows('#view-sankey .table'),
                 volume: rows('#view-volume .table'),
                 compared: value('compared'),
                 categoryAgreement: value('category-agreement'),
                 subcategoryAgreement: value('subcategory-agreement'),
                 disagreements: rows('#view-agreement .table'),
             };",
            json!([]),
        )
        .await
}

/// The same, from the API's answer for `filter`.
async fn expected(app: &TestApp, filter: &Value) -> Value {
    let r = app
        .graphql(Some(&app.all_areas()), STATS, json!({ "filter": filter }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["data"]["stats"];
    assert!(s.is_object(), "{}", r.text);
    let buckets = |field: &str| -> Value {
        s[field]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|b| json!({ "key": { "value": b["value"] }, "count": b["count"] }))
            .collect()
    };
    let list = |v: &Value, f: &dyn Fn(&Value) -> Value| -> Value {
        v.as_array().unwrap_or(&Vec::new()).iter().map(f).collect()
    };
    let (res, first) = (&s["resolution"], &s["firstResponse"]);
    let agreement = &s["categorizationAgreement"];
    // Built a field at a time: one large `json!` overflows a test thread's stack in debug builds.
    let mut out = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        out.insert(key.to_owned(), value);
    };
    put("total", s["total"].clone());
    put("resolved", res["totalResolved"].clone());
    put("unresolved", res["totalUnresolved"].clone());
    put("resolutionRate", res["resolutionRate"].clone());
    put("awaitingResponse", first["awaitingResponse"].clone());
    put(
        "awaitingVerification",
        agreement["awaitingVerification"].clone(),
    );
    let figures = |v: &Value| {
        Value::Array(vec![
            v["averageHours"].clone(),
            v["medianHours"].clone(),
            v["p90Hours"].clone(),
        ])
    };
    put("resolution", figures(res));
    put("firstResponse", figures(first));
    put("responded", first["responded"].clone());
    put("status", buckets("statusBreakdown"));
    put("priority", buckets("priorityBreakdown"));
    put("source", buckets("sourceBreakdown"));
    put(
        "sankey",
        list(&s["sankey"]["links"], &|l| {
            json!({
                "key": { "category": l["category"], "subcategory": l["subcategory"] },
                "count": l["value"],
            })
        }),
    );
    put(
        "volume",
        list(
            &s["volume"],
            &|p| json!({ "key": { "date": p["date"] }, "count": p["count"] }),
        ),
    );
    put("compared", agreement["compared"].clone());
    put(
        "categoryAgreement",
        agreement["categoryAgreementRate"].clone(),
    );
    put(
        "subcategoryAgreement",
        agreement["subcategoryAgreementRate"].clone(),
    );
    put(
        "disagreements",
        list(&agreement["disagreements"], &|d| {
            json!({
                "key": { "aiCategory": d["aiCategory"], "humanCategory": d["humanCategory"] },
                "count": d["count"],
            })
        }),
    );
    let mut tops = serde_json::Map::new();
    for basis in ["humanVerified", "aiGenerated", "effective"] {
        tops.insert(basis.to_owned(), top(&s[basis]));
    }
    put("top", Value::Object(tops));
    Value::Object(out)
}

fn top(t: &Value) -> Value {
    let categories: Vec<Value> = t["categories"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|c| json!({ "key": { "category": c["category"] }, "count": c["count"] }))
        .collect();
    let subcategories: Vec<Value> = t["subcategories"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|c| {
            json!({
                "key": { "category": c["category"], "subcategory": c["subcategory"] },
                "count": c["count"],
            })
        })
        .collect();
    json!({ "categories": categories, "subcategories": subcategories })
}

/// Checks every figure and table of the page against the API's answer for `filter`, the
/// top categories on each of their three bases (chosen as a user does).
async fn check_against_api(browser: &Browser, app: &TestApp, filter: &Value) {
    let mut want = Box::pin(expected(app, filter)).await;
    let tops = want
        .as_object_mut()
        .and_then(|o| o.remove("top"))
        .unwrap_or_default();
    assert_close(&Box::pin(shown(browser)).await, &want, "the page");
    for basis in ["aiGenerated", "effective", "humanVerified"] {
        let switch = browser
            .find(&format!("#basis label:has(input[value={basis}])"))
            .await
            .expect("a basis switch");
        browser.click(&switch).await;
        browser
            .wait_until(
                "the chosen basis",
                &format!("return document.getElementById('view-top').dataset.basis === '{basis}';"),
            )
            .await;
        let page = browser
            .execute(
                "const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)]
                     .map((tr) => ({ key: JSON.parse(tr.dataset.key), count: Number(tr.dataset.count) }));
                 return { categories: rows('table-top-categories'), subcategories: rows('table-top-subcategories') };",
                json!([]),
            )
            .await;
        assert_close(&page, &tops[basis], &format!("top categories ({basis})"));
    }
}

/// Every request the page made (its resource timing entries), as URLs.
async fn requests(browser: &Browser) -> Vec<String> {
    let urls = browser
        .execute(
            "return [location.href.split('#')[0],
                     ...performance.getEntriesByType('resource').map((e) => e.name)];",
            json!([]),
        )
        .await;
    serde_json::from_value(urls).unwrap_or_default()
}

/// How many GraphQL requests the page made.
async fn graphql_requests(browser: &Browser) -> usize {
    requests(browser)
        .await
        .iter()
        .filter(|u| u.ends_with("/graphql"))
        .count()
}

/// Sets a field of the page as choosing in it (or typing into it and leaving it) does.
async fn set_field(browser: &Browser, selector: &str, value: &str) {
    put(browser, selector, value, true).await;
}

/// Types into a field of the page, not leaving it yet (no `change` event).
async fn fill(browser: &Browser, selector: &str, value: &str) {
    put(browser, selector, value, false).await;
}

async fn put(browser: &Browser, selector: &str, value: &str, commit: bool) {
    let done = browser
        .execute(
            "const [selector, value, commit] = arguments;
             const field = document.querySelector(selector);
             if (!field) return false;
             field.value = value;
             field.dispatchEvent(new Event('input', { bubbles: true }));
             if (commit) field.dispatchEvent(new Event('change', { bubbles: true }));
             return field.value === value;",
            json!([selector, value, commit]),
        )
        .await;
    assert_eq!(done, json!(true), "{selector} cannot take {value:?}");
}

/// Clicks the element `css` selects, as a user does.
async fn click(browser: &Browser, css: &str) {
    let element = browser
        .find(css)
        .await
        .unwrap_or_else(|| panic!("no {css} on the page"));
    browser.click(&element).await;
}

/// The drill-down list once loaded: what it is of, its total and the ids of this page.
async fn drill_page(browser: &Browser) -> (Value, u64, Vec<String>) {
    let page = browser
        .wait_until(
            "the list of tickets",
            "const d = document.getElementById('drill');
             if (!d.open || d.dataset.state !== 'ready') return null;
             return {
                 key: JSON.parse(d.dataset.key),
                 total: Number(d.dataset.total),
                 ids: [...document.querySelectorAll('#drill-list > li')].map((li) => li.dataset.ticketId),
             };",
        )
        .await;
    let ids = serde_json::from_value(page["ids"].clone()).unwrap_or_default();
    (
        page["key"].clone(),
        page["total"].as_u64().unwrap_or_default(),
        ids,
    )
}

/// Clicks the Sankey link from `category` to `subcategory` in the chart itself: finds a
/// point inside the link as ECharts drew it and sends the mouse events of a click there, so
/// that the chart's own hit test decides what was clicked. Returns the link's value as the
/// chart holds it.
async fn click_sankey_link(browser: &Browser, category: &str, subcategory: &str) -> u64 {
    let value = browser
        .execute(
            "const node = document.getElementById('chart-sankey');
             node.scrollIntoView({ block: 'center' });
             const chart = echarts.getInstanceByDom(node);
             const edges = chart.getModel().getSeriesByType('sankey')[0].getGraph().edgeData;
             let index = -1;
             for (let i = 0; i < edges.count(); i++) {
                 const link = edges.getRawDataItem(i);
                 if (link.category === arguments[0] && link.subcategory === arguments[1]) index = i;
             }
             if (index < 0) return 'no such link';
             const shape = edges.getItemGraphicEl(index);
             const box = shape.getBoundingRect().clone();
             box.applyTransform(shape.getComputedTransform());
             const x = box.x + box.width / 2;
             const inside = [];
             for (let y = box.y; y <= box.y + box.height; y += 0.5) {
                 if (shape.contain(x, y)) inside.push(y);
             }
             if (!inside.length) return 'no point inside the link';
             const y = inside[Math.floor(inside.length / 2)];
             if (chart.getZr().handler.findHover(x, y).target !== shape) return 'the link is covered there';
             const origin = node.getBoundingClientRect();
             const at = { clientX: origin.left + x, clientY: origin.top + y };
             const target = document.elementFromPoint(at.clientX, at.clientY);
             const send = (Kind, type) => target.dispatchEvent(new Kind(type, {
                 bubbles: true, cancelable: true, view: window, button: 0, buttons: type.endsWith('down') ? 1 : 0,
                 pointerType: 'mouse', isPrimary: true, ...at,
             }));
             send(PointerEvent, 'pointermove');
             send(MouseEvent, 'mousemove');
             send(PointerEvent, 'pointerdown');
             send(MouseEvent, 'mousedown');
             send(PointerEvent, 'pointerup');
             send(MouseEvent, 'mouseup');
             send(MouseEvent, 'click');
             return edges.getRawDataItem(index).value;",
            json!([category, subcategory]),
        )
        .await;
    value
        .as_u64()
        .unwrap_or_else(|| panic!("cannot click the link {category} → {subcategory}: {value}"))
}

#[tokio::test]
async fn with_a_token_in_its_link_the_dashboard_shows_the_apis_numbers_and_lists_the_tickets_of_a_sankey_link(
) {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    // Each step boxed: as one future the test is too large for a test thread's stack in
    // debug builds.
    each_backend(|app| {
        Box::pin(async move {
            let built = Box::pin(build(&app)).await;
            let addr = serve(&app, app.keys.clone()).await;
            let token = app.all_areas();
            browser
                .goto(&format!("http://{addr}/dashboard#token={token}"))
                .await;
            let want = Box::pin(opens_ready_from_its_link(browser, &app, addr, &token)).await;
            Box::pin(follows_the_filter_bar(browser, &app, &want)).await;
            Box::pin(lists_the_tickets_of_a_sankey_link(browser, &built)).await;
            Box::pin(lists_the_tickets_of_a_bucket_from_its_table(browser, &want)).await;
            assert_eq!(browser.console_errors().await, Vec::<String>::new());
        })
    })
    .await;
    chromium.quit().await;
}

/// The dashboard opened from a link with a token: it loads from the host alone, keeps the
/// token for the session only, draws every view and shows the API's numbers. Returns the
/// API's numbers for every ticket.
async fn opens_ready_from_its_link(
    browser: &Browser,
    app: &TestApp,
    addr: std::net::SocketAddr,
    token: &str,
) -> Value {
    wait_ready(browser, 0).await;

    // Nothing left the host, the token left the address bar for the session's storage
    // only, and every view was answered by one GraphQL request.
    let origin = format!("http://{addr}/");
    let all = requests(browser).await;
    let foreign: Vec<&String> = all.iter().filter(|u| !u.starts_with(&origin)).collect();
    assert!(foreign.is_empty(), "requests left the host: {foreign:?}");
    assert_eq!(graphql_requests(browser).await, 1, "{all:#?}");
    let hash = browser.execute("return location.hash;", json!([])).await;
    assert_eq!(hash, json!(""), "the token stays in the address bar");
    let stored = browser.stored().await;
    assert!(
        stored.contains(&format!(
            "sessionStorage ticket-gateway.dashboard.token = {token}"
        )),
        "{stored}"
    );
    assert!(!stored.contains("localStorage"), "{stored}");
    assert!(stored.ends_with("cookies []"), "{stored}");

    // Every view is drawn, with as many bars, points or links as its table has rows.
    let charts = browser
        .execute(
            "return [...document.querySelectorAll('.chart')].map((node) => {
                 const series = echarts.getInstanceByDom(node)?.getOption().series?.[0];
                 return { id: node.id, hidden: node.hidden, items: (series?.links ?? series?.data)?.length ?? 0 };
             });",
            json!([]),
        )
        .await;
    let want = Box::pin(expected(app, &Value::Null)).await;
    let rows = |key: &str| want[key].as_array().map_or(0, Vec::len);
    let tops = &want["top"]["humanVerified"];
    let items = |v: &Value| v.as_array().map_or(0, Vec::len);
    for (id, count) in [
        ("chart-volume", rows("volume")),
        ("chart-times", 3),
        ("chart-status", rows("status")),
        ("chart-priority", rows("priority")),
        ("chart-source", rows("source")),
        ("chart-sankey", rows("sankey")),
        ("chart-top-categories", items(&tops["categories"])),
        ("chart-top-subcategories", items(&tops["subcategories"])),
        ("chart-disagreements", rows("disagreements")),
    ] {
        let chart = charts
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == json!(id)))
            .unwrap_or_else(|| panic!("no {id}: {charts}"));
        assert!(count > 0, "the data gives {id} something to draw");
        assert_eq!(chart["hidden"], json!(false), "{id}");
        assert_eq!(chart["items"], json!(count), "{id}: {charts}");
    }
    Box::pin(check_against_api(browser, app, &Value::Null)).await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());

    want
}

/// The numbers follow the filter bar, and stay the API's.
async fn follows_the_filter_bar(browser: &Browser, app: &TestApp, want: &Value) {
    let first = browser
        .execute(
            "return Number(document.getElementById('views').dataset.generation);",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap_or_default();
    // A narrower filter: other numbers, still the API's.
    fill(browser, "#filter-from", "2025-01-05").await;
    fill(browser, "#filter-to", "2025-01-24").await;
    fill(browser, "#filter-status", "Open").await;
    click(browser, "#filters button[type=submit]").await;
    let second = wait_ready(browser, first).await;
    let filter = json!({
        "createdAt": { "gte": "2025-01-05T00:00:00Z", "lte": "2025-01-24T23:59:59.999999Z" },
        "status": { "eq": "Open" },
    });
    let sent = browser
        .execute(
            "return JSON.parse(document.getElementById('filters').dataset.filter);",
            json!([]),
        )
        .await;
    assert_eq!(sent, filter);
    let narrowed = Box::pin(expected(app, &filter)).await;
    assert_eq!(narrowed["total"], json!(10), "the data: {narrowed}");
    assert_ne!(narrowed["total"], want["total"]);
    Box::pin(check_against_api(browser, app, &filter)).await;
    // Typed tags wait for the next change; choosing in a list applies at once.
    fill(browser, "#filter-tags", "escalated").await;
    set_field(browser, "#filter-user", "with").await;
    let third = wait_ready(browser, second).await;
    let filter = json!({
        "createdAt": { "gte": "2025-01-05T00:00:00Z", "lte": "2025-01-24T23:59:59.999999Z" },
        "status": { "eq": "Open" },
        "tags": { "containsAll": ["escalated"] },
        "user": { "isNull": false },
    });
    Box::pin(check_against_api(browser, app, &filter)).await;
    click(browser, "#filters button[type=reset]").await;
    let fourth = wait_ready(browser, third).await;
    Box::pin(check_against_api(browser, app, &Value::Null)).await;
    assert_eq!(
        graphql_requests(browser).await as u64,
        fourth,
        "one request a refresh"
    );
}

/// A click on the largest link lists exactly its tickets, a page at a time, each opening
/// its conversation.
async fn lists_the_tickets_of_a_sankey_link(browser: &Browser, built: &Built) {
    // A click on the largest link lists its tickets, a page at a time.
    let value = click_sankey_link(browser, "CHARGER", "OFFLINE").await;
    assert_eq!(value, 30);
    let (key, total, page) = drill_page(browser).await;
    assert_eq!(
        key,
        json!({ "view": "sankey", "category": "CHARGER", "subcategory": "OFFLINE" })
    );
    assert_eq!(total, value);
    assert_eq!(page.len(), 25);
    let mut listed: BTreeSet<String> = page.into_iter().collect();
    click(browser, "#drill-next").await;
    browser
        .wait_until(
            "the second page",
            "return document.querySelectorAll('#drill-list > li').length === 5;",
        )
        .await;
    let (_, total, page) = drill_page(browser).await;
    assert_eq!(total, value);
    listed.extend(page);
    let created: BTreeSet<String> = built.offline.iter().cloned().collect();
    assert_eq!(listed, created, "exactly the link's tickets");
    let range = browser
        .execute(
            "return document.getElementById('drill-range').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(range, json!("26–30 of 30"));

    // Each ticket opens its conversation (this one is on the second page: newest first).
    let (talkative, messages) = &built.talkative;
    click(
        browser,
        &format!("#drill-list > li[data-ticket-id={talkative}] summary"),
    )
    .await;
    let shown_messages = browser
        .wait_until(
            "the conversation",
            &format!(
                "const c = document.querySelector('li[data-ticket-id={talkative}] .conversation');
                 return c.dataset.loaded === 'true'
                     && [...c.querySelectorAll('li')].map((li) => li.dataset.messageType);"
            ),
        )
        .await;
    assert_eq!(
        shown_messages,
        json!([
            "INITIAL_REQUEST",
            "HUMAN_AGENT_RESPONSE",
            "CUSTOMER_RESPONSE",
            "AI_AGENT_RESPONSE"
        ]),
        "{messages} messages"
    );

    // And back to the first page.
    click(browser, "#drill-previous").await;
    browser
        .wait_until(
            "the first page again",
            "return document.querySelectorAll('#drill-list > li').length === 25
                 && document.getElementById('drill').dataset.state === 'ready'
                 && document.getElementById('drill-range').textContent === '1–25 of 30';",
        )
        .await;
    click(browser, "#drill-close").await;
}

/// The keyboard way in: a bucket's row in its table lists the bucket's tickets.
async fn lists_the_tickets_of_a_bucket_from_its_table(browser: &Browser, want: &Value) {
    // The keyboard way: a bucket's row in its table.
    click(browser, "#view-status details.numbers summary").await;
    let resolved = want["status"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["key"]["value"] == json!("Resolved")))
        .map(|b| b["count"].clone())
        .expect("a Resolved bucket");
    let row = r#"#view-status tr[data-key='{"value":"Resolved"}'] button"#;
    click(browser, row).await;
    let (key, total, page) = drill_page(browser).await;
    assert_eq!(key, json!({ "view": "status", "value": "Resolved" }));
    assert_eq!(json!(total), resolved);
    assert_eq!(json!(page.len()), resolved);
    click(browser, "#drill-close").await;
}

#[tokio::test]
async fn a_pasted_token_works_and_an_expired_one_is_reported_in_words() {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    // Boxed: the test's future is too large for a test thread's stack in debug builds.
    each_backend(|app| Box::pin(async move {
        Box::pin(build(&app)).await;
        let addr = serve(&app, app.keys.clone()).await;
        browser.goto(&format!("http://{addr}/dashboard")).await;
        browser
            .wait_until(
                "the token field",
                "return !document.getElementById('token-form').hidden
                     && document.getElementById('notice').textContent.includes('Paste a token');",
            )
            .await;
        assert_eq!(graphql_requests(browser).await, 0, "no token, no request");

        set_field(browser, "#token-input", &expired_token()).await;
        click(browser, "#token-form button[type=submit]").await;
        let words = browser
            .wait_until(
                "the refusal in words",
                "const e = document.getElementById('error');
                 return !e.hidden && document.getElementById('error-text').textContent;",
            )
            .await;
        let words = words.as_str().unwrap_or_default();
        assert!(words.contains("Your token has expired"), "{words}");
        let form = browser
            .execute(
                "return [document.getElementById('token-form').hidden, document.body.dataset.state];",
                json!([]),
            )
            .await;
        assert_eq!(form, json!([false, "error"]), "the token field is back");
        let stored = browser.stored().await;
        assert!(!stored.contains("dashboard.token"), "{stored}");
        // The 401 itself is the only thing the console reports.
        let errors = browser.console_errors().await;
        assert!(
            errors.iter().all(|e| e.contains("/graphql") && e.contains("401")),
            "{errors:?}"
        );

        let token = app.all_areas();
        set_field(browser, "#token-input", &format!("Bearer {token}")).await;
        click(browser, "#token-form button[type=submit]").await;
        wait_ready(browser, 0).await;
        let error = browser
            .execute("return document.getElementById('error').hidden;", json!([]))
            .await;
        assert_eq!(error, json!(true), "the refusal is gone");
        let total = browser
            .execute("return document.getElementById('total').dataset.value;", json!([]))
            .await;
        assert_eq!(total, json!("49"));
        assert_eq!(
            Box::pin(expected(&app, &Value::Null)).await["total"],
            json!(49)
        );
        let stored = browser.stored().await;
        assert!(
            stored.contains(&format!("sessionStorage ticket-gateway.dashboard.token = {token}")),
            "{stored}"
        );
        assert_eq!(browser.console_errors().await, Vec::<String>::new());

        // Forgetting it takes it out of the browser.
        click(browser, "#forget-token").await;
        let stored = browser.stored().await;
        assert!(!stored.contains("dashboard.token"), "{stored}");
    }))
    .await;
    chromium.quit().await;
}

#[tokio::test]
async fn while_the_statistics_are_slow_each_view_says_it_is_loading_and_refusals_are_told_in_words()
{
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    // Boxed: the test's future is too large for a test thread's stack in debug builds.
    each_backend(|app| Box::pin(async move {
        Box::pin(build(&app)).await;
        let addr = serve(&app, app.keys.clone()).await;
        let token = app.all_areas();
        browser
            .goto(&format!("http://{addr}/dashboard#token={token}"))
            .await;
        let first = wait_ready(browser, 0).await;

        // Answers are held back until the test lets them through, as a slow server does.
        browser
            .execute(
                "window.realFetch = window.fetch;
                 window.held = [];
                 window.fetch = (...args) => new Promise((resolve, reject) =>
                     window.held.push(() => window.realFetch(...args).then(resolve, reject)));",
                json!([]),
            )
            .await;
        click(browser, "#period label:has(input[value=MONTH])").await;
        browser
            .wait_until("the request", "return window.held.length === 1;")
            .await;
        let loading = browser
            .execute(
                "return [...document.querySelectorAll('.view')].map((v) =>
                     [v.id, v.dataset.state, v.getAttribute('aria-busy'),
                      getComputedStyle(v.querySelector('.loading')).display]);",
                json!([]),
            )
            .await;
        for view in loading.as_array().into_iter().flatten() {
            assert_eq!(view[1], json!("loading"), "{loading}");
            assert_eq!(view[2], json!("true"), "{loading}");
            assert_eq!(view[3], json!("block"), "{loading}");
        }
        // Still usable meanwhile: the last numbers stay, the table opens, the filter takes input.
        let total = browser
            .execute("return document.getElementById('total').dataset.value;", json!([]))
            .await;
        assert_eq!(total, json!("49"));
        click(browser, "#view-source details.numbers summary").await;
        let open = browser
            .execute(
                "return document.querySelector('#view-source details.numbers').open;",
                json!([]),
            )
            .await;
        assert_eq!(open, json!(true));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let notice = browser
            .execute("return document.getElementById('notice').textContent;", json!([]))
            .await;
        assert!(
            notice.as_str().unwrap_or_default().starts_with("Loading the statistics… "),
            "{notice}"
        );
        browser
            .execute("window.held.splice(0).forEach((go) => go());", json!([]))
            .await;
        let second = wait_ready(browser, first).await;
        let months = browser
            .execute(
                "return [...document.querySelectorAll('#view-volume tbody tr')].map((tr) => JSON.parse(tr.dataset.key).date);",
                json!([]),
            )
            .await;
        assert_eq!(months, json!(["2025-01-01", "2025-02-01"]));

        // Refusals, in words.
        for (status, code, retry_after, words) in [
            (
                429,
                "RATE_LIMITED",
                "7",
                "Too many requests: the gateway is limiting how often this token may ask. Try again in 7 seconds.",
            ),
            (
                503,
                "SERVICE_UNAVAILABLE",
                "1",
                "The gateway cannot reach its database right now. Try again in 1 second.",
            ),
            (
                503,
                "TIMEOUT",
                "",
                "The statistics took longer than the gateway allows, so it stopped them. Narrow the filter (a shorter date range, say) and try again.",
            ),
        ] {
            browser
                .execute(
                    "const [status, code, retryAfter] = arguments;
                     const headers = { 'Content-Type': 'application/json' };
                     if (retryAfter) headers['Retry-After'] = retryAfter;
                     window.fetch = async () => new Response(
                         JSON.stringify({ errors: [{ message: 'refused', extensions: { code } }] }),
                         { status, headers });",
                    json!([status, code, retry_after]),
                )
                .await;
            click(browser, "#refresh").await;
            let shown = browser
                .wait_until(
                    "the refusal in words",
                    "const e = document.getElementById('error');
                     return !e.hidden && document.body.dataset.state === 'error'
                         && [document.getElementById('error-text').textContent,
                             document.getElementById('retry').hidden];",
                )
                .await;
            assert_eq!(shown, json!([words, false]), "{status} {code}");
        }
        browser
            .execute("window.fetch = window.realFetch;", json!([]))
            .await;
        click(browser, "#retry").await;
        wait_ready(browser, second).await;
        let error = browser
            .execute("return document.getElementById('error').hidden;", json!([]))
            .await;
        assert_eq!(error, json!(true));
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
    }))
    .await;
    chromium.quit().await;
}

#[tokio::test]
async fn every_bucket_point_and_link_lists_as_many_tickets_as_it_counts() {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    each_backend(|app| {
        Box::pin(async move {
            Box::pin(build(&app)).await;
            let addr = serve(&app, app.keys.clone()).await;
            let token = app.all_areas();
            browser
                .goto(&format!("http://{addr}/dashboard#token={token}"))
                .await;
            let mut generation = wait_ready(browser, 0).await;
            let mut opened = 0;
            for (period, basis) in [
                ("WEEK", "humanVerified"),
                ("DAY", "aiGenerated"),
                ("MONTH", "effective"),
            ] {
                if period != "WEEK" {
                    click(browser, &format!("#period label:has(input[value={period}])")).await;
                    generation = wait_ready(browser, generation).await;
                }
                click(browser, &format!("#basis label:has(input[value={basis}])")).await;
                // Each row's drill-down, one after the other, compared with the row.
                let report = browser
                    .execute(
                        "return (async () => {
                             const dialog = document.getElementById('drill');
                             const wrong = [];
                             let opened = 0;
                             for (const row of document.querySelectorAll('.view tr[data-key]')) {
                                 row.querySelector('button').click();
                                 const started = Date.now();
                                 while (dialog.dataset.state !== 'ready' && Date.now() - started < 20000) {
                                     await new Promise((r) => setTimeout(r, 20));
                                 }
                                 const count = Number(row.dataset.count);
                                 const listed = dialog.querySelectorAll('#drill-list > li').length;
                                 if (dialog.dataset.state !== 'ready' || Number(dialog.dataset.total) !== count
                                     || listed !== Math.min(count, 25)) {
                                     wrong.push({ row: row.dataset.key, count, total: dialog.dataset.total, listed,
                                                  state: dialog.dataset.state, says: document.getElementById('drill-state').textContent });
                                 }
                                 opened += 1;
                                 document.getElementById('drill-close').click();
                             }
                             return { opened, wrong };
                         })();",
                        json!([]),
                    )
                    .await;
                assert_eq!(report["wrong"], json!([]), "{period} {basis}: {report}");
                opened += report["opened"].as_u64().unwrap_or_default();
            }
            // Every view's table, on each period and basis.
            assert!(opened > 60, "{opened} lists opened");
            assert_eq!(browser.console_errors().await, Vec::<String>::new());
        })
    })
    .await;
    chromium.quit().await;
}
