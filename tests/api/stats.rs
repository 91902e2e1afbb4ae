//! Statistics: every figure of `stats` against an oracle in plain Rust, hand-made
//! percentile and period cases, drill-down and bad arguments.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use entity::{Category, MessageType, Subcategory};
use proptest::prelude::*;
use sea_orm::Set;
use serde_json::{json, Value};
use ticket_gateway::auth::Access;
use ticket_gateway::ids::TicketId;

use crate::access::graphql_as;
use crate::helpers::*;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

/// A Monday, so that weeks and months both start inside the generated range.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 29, 0, 0, 0).unwrap()
}

fn at(micros: i64) -> DateTime<Utc> {
    base() + Duration::microseconds(micros)
}

const STATS: &str = r#"query($f: TicketFilter) { stats(filter: $f) {
  total
  sankey { nodes { id label } links { source target value category subcategory tickets(first: 1) { totalCount } } }
  day: volume(groupBy: DAY) { date count }
  week: volume(groupBy: WEEK) { date count tickets(first: 1) { totalCount } }
  month: volume(groupBy: MONTH) { date count tickets(first: 1) { totalCount } }
  resolution { resolutionRate totalResolved totalUnresolved averageHours medianHours p90Hours }
  firstResponse { responded awaitingResponse averageHours medianHours p90Hours }
  statusBreakdown { value count percentage tickets(first: 1) { totalCount } }
  priorityBreakdown { value count percentage tickets(first: 1) { totalCount } }
  sourceBreakdown { value count percentage tickets(first: 1) { totalCount } }
  human: topCategories(limit: 2) { ...top }
  ai: topCategories(limit: 3, basis: AI_GENERATED) { ...top }
  effective: topCategories(limit: 100, basis: EFFECTIVE) { ...top }
  categorizationAgreement(limit: 3) { compared categoryAgreementRate subcategoryAgreementRate awaitingVerification
    disagreements { aiCategory humanCategory count tickets(first: 1) { totalCount } } }
} }
fragment top on TopCategories {
  categories { category count percentage tickets(first: 1) { totalCount } }
  subcategories { subcategory category count percentage tickets(first: 1) { totalCount } }
}"#;

// ---- the oracle ----

#[derive(Debug, Clone)]
struct GenTicket {
    owner: Option<usize>,
    created: i64,
    status: Option<&'static str>,
    priority: Option<&'static str>,
    source: Option<&'static str>,
    human: (Option<Category>, Option<Subcategory>),
    ai: (Option<Category>, Option<Subcategory>),
    resolved_after: Option<i64>,
    /// Message type and microseconds after the ticket's creation.
    messages: Vec<(MessageType, i64)>,
}

#[derive(Debug, Clone)]
struct Case {
    users: Vec<Option<usize>>,
    tickets: Vec<GenTicket>,
    /// 0 = user, 1 = org, 2 = all areas; which one; an optional acting user.
    token: (u8, usize, Option<usize>),
    filter: u8,
}

fn filter_json(which: u8) -> Value {
    match which {
        0 => Value::Null,
        1 => json!({ "status": { "in": ["Open", "Closed"] } }),
        2 => {
            json!({ "createdAt": { "gte": at(10 * DAY).to_rfc3339(), "lte": at(40 * DAY).to_rfc3339() } })
        }
        _ => {
            json!({ "or": [{ "priority": { "isNull": true } }, { "humanVerifiedCategory": { "isNull": false } }] })
        }
    }
}

fn filter_matches(which: u8, t: &GenTicket) -> bool {
    match which {
        0 => true,
        1 => matches!(t.status, Some("Open" | "Closed")),
        2 => (10 * DAY..=40 * DAY).contains(&t.created),
        _ => t.priority.is_none() || t.human.0.is_some(),
    }
}

fn categorization() -> impl Strategy<Value = (Option<Category>, Option<Subcategory>)> {
    (
        prop::option::weighted(0.7, prop::sample::select(&Category::ALL[..3])),
        prop::option::weighted(0.6, prop::sample::select(&Subcategory::ALL[..4])),
    )
}

fn gen_ticket(users: usize) -> impl Strategy<Value = GenTicket> {
    let maybe = |values: &'static [&'static str]| {
        prop::option::weighted(0.85, prop::sample::select(values))
    };
    (
        prop::option::weighted(0.85, 0..users),
        // Days 0-69 with gaps; whole hours sometimes, to make ties.
        (0i64..70, prop_oneof![Just(0i64), 0..DAY]).prop_map(|(d, t)| d * DAY + t),
        maybe(&["Open", "Closed", "Pending"]),
        maybe(&["Low", "High"]),
        maybe(&["Email", "Chat"]),
        categorization(),
        categorization(),
        prop::option::weighted(0.6, prop_oneof![Just(HOUR), Just(2 * HOUR), 0..30 * DAY]),
        prop::collection::vec(
            (
                prop::sample::select(MessageType::ALL),
                prop_oneof![Just(HOUR), 0..5 * DAY],
            ),
            0..4,
        ),
    )
        .prop_map(
            |(owner, created, status, priority, source, human, ai, resolved_after, messages)| {
                GenTicket {
                    owner,
                    created,
                    status,
                    priority,
                    source,
                    human,
                    ai,
                    resolved_after,
                    messages,
                }
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..3, 1usize..5).prop_flat_map(|(orgs, users)| {
        (
            prop::collection::vec(prop::option::weighted(0.8, 0..orgs), users),
            prop::collection::vec(gen_ticket(users), 0..30),
            (
                0u8..3,
                0..users.max(orgs),
                prop::option::weighted(0.2, 0..users),
            ),
            0u8..4,
        )
            .prop_map(|(users, tickets, token, filter)| Case {
                users,
                tickets,
                token,
                filter,
            })
    })
}

fn org_count(case: &Case) -> usize {
    case.users.iter().flatten().max().map_or(1, |m| m + 1)
}

fn visible(case: &Case) -> Vec<&GenTicket> {
    let (kind, which, acting) = case.token;
    case.tickets
        .iter()
        .filter(|t| {
            let allowed = match kind {
                0 => t.owner == Some(which % case.users.len()),
                1 => t
                    .owner
                    .is_some_and(|u| case.users[u] == Some(which % org_count(case))),
                _ => true,
            };
            allowed && acting.is_none_or(|a| t.owner == Some(a)) && filter_matches(case.filter, t)
        })
        .collect()
}

/// Continuous percentile: interpolated between the two nearest ranks.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn durations(mut hours: Vec<f64>) -> (Value, Value, Value) {
    hours.sort_by(f64::total_cmp);
    let average = (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64);
    (
        json!(average),
        json!(percentile(&hours, 0.5)),
        json!(percentile(&hours, 0.9)),
    )
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn drill(count: usize) -> Value {
    json!({ "totalCount": count })
}

fn breakdown(tickets: &[&GenTicket], value: impl Fn(&GenTicket) -> Option<&'static str>) -> Value {
    let mut counts: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for t in tickets {
        *counts.entry(value(t)).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.is_none().cmp(&b.is_none())).then(a.cmp(b)));
    let total = tickets.len();
    json!(rows
        .into_iter()
        .map(|(v, n)| json!({ "value": v, "count": n, "percentage": share(n, total), "tickets": drill(n) }))
        .collect::<Vec<_>>())
}

fn period_start(day: NaiveDate, period: &str) -> NaiveDate {
    match period {
        "week" => day - Duration::days(day.weekday().num_days_from_monday() as i64),
        "month" => NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap(),
        _ => day,
    }
}

fn next_period(start: NaiveDate, period: &str) -> NaiveDate {
    match period {
        "week" => start + Duration::days(7),
        "month" => start.checked_add_months(chrono::Months::new(1)).unwrap(),
        _ => start + Duration::days(1),
    }
}

/// Drill-down lists per request are limited, so the day series (up to 70 points) is
/// checked without them; weeks and months carry theirs.
fn volume(tickets: &[&GenTicket], period: &str) -> Value {
    let mut counts: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for t in tickets {
        *counts
            .entry(period_start(at(t.created).date_naive(), period))
            .or_default() += 1;
    }
    let mut points = Vec::new();
    if let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().last()) {
        let mut d = first;
        while d <= last {
            let n = counts.get(&d).copied().unwrap_or(0);
            let mut point = json!({ "date": d.to_string(), "count": n });
            if period != "day" {
                point["tickets"] = drill(n);
            }
            points.push(point);
            d = next_period(d, period);
        }
    }
    json!(points)
}

fn top(tickets: &[&GenTicket], basis: &str, limit: usize) -> Value {
    let pick = |t: &GenTicket| match basis {
        "human" => t.human,
        "ai" => t.ai,
        _ if t.human.0.is_some() => t.human,
        _ => t.ai,
    };
    let total = tickets.len();
    let mut cats: BTreeMap<&str, (Category, usize)> = BTreeMap::new();
    let mut subs: BTreeMap<(&str, &str), (Subcategory, Category, usize)> = BTreeMap::new();
    for t in tickets {
        if let (Some(c), s) = pick(t) {
            cats.entry(c.as_str()).or_insert((c, 0)).1 += 1;
            if let Some(s) = s {
                subs.entry((s.as_str(), c.as_str())).or_insert((s, c, 0)).2 += 1;
            }
        }
    }
    let mut cats: Vec<_> = cats.into_values().collect();
    cats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_str().cmp(b.0.as_str())));
    let mut subs: Vec<_> = subs.into_values().collect();
    subs.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(a.0.as_str().cmp(b.0.as_str()))
            .then(a.1.as_str().cmp(b.1.as_str()))
    });
    json!({
        "categories": cats.into_iter().take(limit).map(|(c, n)| json!({
            "category": c.as_str(), "count": n, "percentage": share(n, total), "tickets": drill(n)
        })).collect::<Vec<_>>(),
        "subcategories": subs.into_iter().take(limit).map(|(s, c, n)| json!({
            "subcategory": s.as_str(), "category": c.as_str(), "count": n,
            "percentage": share(n, total), "tickets": drill(n)
        })).collect::<Vec<_>>(),
    })
}

fn sankey(tickets: &[&GenTicket]) -> Value {
    let mut links: BTreeMap<(Category, Option<Subcategory>), usize> = BTreeMap::new();
    for t in tickets {
        if let (Some(c), s) = t.human {
            *links.entry((c, s)).or_default() += 1;
        }
    }
    let sub_label = |s: Option<Subcategory>| s.map_or("No subcategory", |s| s.label());
    let mut nodes: Vec<Value> = Category::ALL
        .iter()
        .filter(|c| links.keys().any(|(lc, _)| lc == *c))
        .map(|c| json!({ "id": format!("category:{}", c.label()), "label": c.label() }))
        .collect();
    for s in Subcategory::ALL.iter().map(|s| Some(*s)).chain([None]) {
        if links.keys().any(|(_, ls)| *ls == s) {
            nodes.push(
                json!({ "id": format!("subcategory:{}", sub_label(s)), "label": sub_label(s) }),
            );
        }
    }
    let mut links: Vec<_> = links.into_iter().collect();
    links.sort_by(|((c1, s1), n), ((c2, s2), m)| {
        m.cmp(n).then(c1.as_str().cmp(c2.as_str())).then(
            (s1.is_none(), s1.map(|s| s.as_str())).cmp(&(s2.is_none(), s2.map(|s| s.as_str()))),
        )
    });
    json!({
        "nodes": nodes,
        "links": links.into_iter().map(|((c, s), n)| json!({
            "source": format!("category:{}", c.label()),
            "target": format!("subcategory:{}", sub_label(s)),
            "value": n,
            "category": c.as_str(),
            "subcategory": s.map(|s| s.as_str()),
            "tickets": drill(n),
        })).collect::<Vec<_>>(),
    })
}

fn agreement(tickets: &[&GenTicket], limit: usize) -> Value {
    let (mut compared, mut same_cat, mut same_both, mut awaiting) = (0, 0, 0, 0);
    let mut pairs: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for t in tickets {
        match (t.ai.0, t.human.0) {
            (Some(_), None) => awaiting += 1,
            (Some(ai), Some(human)) => {
                compared += 1;
                if ai == human {
                    same_cat += 1;
                    if t.ai.1 == t.human.1 {
                        same_both += 1;
                    }
                } else {
                    *pairs.entry((ai.as_str(), human.as_str())).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.cmp(b)));
    let rate = |n: usize| (compared > 0).then(|| share(n, compared));
    json!({
        "compared": compared,
        "categoryAgreementRate": rate(same_cat),
        "subcategoryAgreementRate": rate(same_both),
        "awaitingVerification": awaiting,
        "disagreements": pairs.into_iter().take(limit).map(|((ai, human), n)| json!({
            "aiCategory": ai, "humanCategory": human, "count": n, "tickets": drill(n)
        })).collect::<Vec<_>>(),
    })
}

fn oracle(case: &Case) -> Value {
    let tickets = visible(case);
    let total = tickets.len();
    let resolved: Vec<f64> = tickets
        .iter()
        .filter_map(|t| t.resolved_after)
        .map(|m| m as f64 / HOUR as f64)
        .collect();
    let (r_avg, r_median, r_p90) = durations(resolved.clone());
    let first: Vec<f64> = tickets
        .iter()
        .filter_map(|t| {
            t.messages
                .iter()
                .filter(|(kind, _)| kind.is_agent())
                .map(|(_, offset)| *offset)
                .min()
        })
        .map(|m| m as f64 / HOUR as f64)
        .collect();
    let responded = first.len();
    let (f_avg, f_median, f_p90) = durations(first);
    json!({
        "total": total,
        "sankey": sankey(&tickets),
        "day": volume(&tickets, "day"),
        "week": volume(&tickets, "week"),
        "month": volume(&tickets, "month"),
        "resolution": {
            "resolutionRate": share(resolved.len(), total),
            "totalResolved": resolved.len(),
            "totalUnresolved": total - resolved.len(),
            "averageHours": r_avg, "medianHours": r_median, "p90Hours": r_p90,
        },
        "firstResponse": {
            "responded": responded,
            "awaitingResponse": total - responded,
            "averageHours": f_avg, "medianHours": f_median, "p90Hours": f_p90,
        },
        "statusBreakdown": breakdown(&tickets, |t| t.status),
        "priorityBreakdown": breakdown(&tickets, |t| t.priority),
        "sourceBreakdown": breakdown(&tickets, |t| t.source),
        "human": top(&tickets, "human", 2),
        "ai": top(&tickets, "ai", 3),
        "effective": top(&tickets, "effective", 100),
        "categorizationAgreement": agreement(&tickets, 3),
    })
}

async fn insert(
    app: &TestApp,
    t: &GenTicket,
    owner: Option<&ticket_gateway::ids::UserId>,
) -> TicketId {
    let t2 = t.clone();
    let id = app
        .ticket_with(owner, move |m| {
            m.created_at = Set(at(t2.created));
            m.status = Set(t2.status.map(Into::into));
            m.priority = Set(t2.priority.map(Into::into));
            m.source = Set(t2.source.map(Into::into));
            m.human_verified_category = Set(t2.human.0);
            m.human_verified_subcategory = Set(t2.human.1);
            m.ai_generated_category = Set(t2.ai.0);
            m.ai_generated_subcategory = Set(t2.ai.1);
            m.resolved_at = Set(t2.resolved_after.map(|r| at(t2.created + r)));
        })
        .await;
    for (position, (kind, offset)) in t.messages.iter().enumerate() {
        app.message(&id, position as i32, *kind, at(t.created + offset))
            .await;
    }
    id
}

async fn check_case(app: TestApp, case: Case) {
    let mut orgs = Vec::new();
    for _ in 0..org_count(&case) {
        orgs.push(app.org().await);
    }
    let mut users = Vec::new();
    for org in &case.users {
        users.push(app.user(org.map(|o| &orgs[o])).await);
    }
    for t in &case.tickets {
        insert(&app, t, t.owner.map(|u| &users[u])).await;
    }
    let (kind, which, acting) = case.token;
    let access = match kind {
        0 => Access::User(users[which % users.len()].clone()),
        1 => Access::Org(orgs[which % orgs.len()].clone()),
        _ => Access::AllAreas,
    };
    let token = app.token(access, READ);
    let acting = acting.map(|a| users[a].to_string());
    let got = graphql_as(
        &app,
        &token,
        acting.as_deref(),
        STATS,
        json!({ "f": filter_json(case.filter) }),
    )
    .await;
    assert!(got["errors"].is_null(), "{}: {got}", app.backend);
    assert_close(&got["data"]["stats"], &oracle(&case), app.backend);
}

#[test]
fn every_statistic_equals_the_oracle_for_every_scope_and_filter() {
    each_generated_case(case(), check_case);
}

// ---- hand-made cases ----

async fn resolution_of(app: &TestApp, hours: &[f64]) -> Value {
    for h in hours {
        let micros = (h * HOUR as f64) as i64;
        insert(
            app,
            &GenTicket {
                owner: None,
                created: 0,
                status: None,
                priority: None,
                source: None,
                human: (None, None),
                ai: (None, None),
                resolved_after: Some(micros),
                messages: vec![(MessageType::HumanAgentResponse, micros)],
            },
            None,
        )
        .await;
    }
    let q =
        "{ stats { resolution { resolutionRate totalResolved medianHours p90Hours averageHours }
                      firstResponse { responded medianHours p90Hours } } }";
    let got = app.graphql(Some(&app.all_areas()), q, json!({})).await;
    got.body["data"]["stats"].clone()
}

#[tokio::test]
async fn percentiles_interpolate_between_neighbours_for_odd_and_even_counts() {
    each_backend(|app| async move {
        // Odd: 1, 2, 3 -> median 2; p90 at rank 1.8 -> 2 + 0.8 * (3 - 2).
        let odd = resolution_of(&app, &[3.0, 1.0, 2.0]).await;
        assert_close(&odd["resolution"]["medianHours"], &json!(2.0), "odd median");
        assert_close(&odd["resolution"]["p90Hours"], &json!(2.8), "odd p90");
        assert_close(&odd["resolution"]["averageHours"], &json!(2.0), "odd mean");
        assert_close(
            &odd["firstResponse"]["p90Hours"],
            &json!(2.8),
            "odd first response",
        );
    })
    .await;
    each_backend(|app| async move {
        // Even: 1, 2, 3, 4 -> median at rank 1.5 = 2.5; p90 at rank 2.7 = 3.7.
        let even = resolution_of(&app, &[4.0, 2.0, 1.0, 3.0]).await;
        assert_close(
            &even["resolution"]["medianHours"],
            &json!(2.5),
            "even median",
        );
        assert_close(&even["resolution"]["p90Hours"], &json!(3.7), "even p90");
        assert_close(
            &even["firstResponse"]["medianHours"],
            &json!(2.5),
            "even first response",
        );
    })
    .await;
    each_backend(|app| async move {
        // One ticket: every figure is its value; sub-second precision survives.
        let one = resolution_of(&app, &[1.5 + 1.0 / 3_600_000.0]).await;
        let h = json!(1.5 + 1.0 / 3_600_000.0);
        for figure in ["medianHours", "p90Hours", "averageHours"] {
            assert_close(&one["resolution"][figure], &h, figure);
        }
        assert_eq!(one["resolution"]["resolutionRate"], json!(1.0));
    })
    .await;
    each_backend(|app| async move {
        // No tickets: no times, a rate of 0.
        let none = resolution_of(&app, &[]).await;
        assert_eq!(
            none,
            json!({
                "resolution": { "resolutionRate": 0.0, "totalResolved": 0, "medianHours": null, "p90Hours": null, "averageHours": null },
                "firstResponse": { "responded": 0, "medianHours": null, "p90Hours": null }
            })
        );
    })
    .await;
}

#[tokio::test]
async fn volume_periods_are_utc_weeks_start_on_monday_and_gaps_count_zero() {
    each_backend(|app| async move {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut ids = Vec::new();
        for created in ["2024-01-31T23:59:59.999999Z", "2024-02-01T00:00:00Z", "2024-03-15T12:00:00Z"] {
            let created = at(created);
            ids.push(app.ticket_with(None, move |m| m.created_at = Set(created)).await.to_string());
        }
        let q = r#"query($g: VolumePeriod!) { stats { volume(groupBy: $g) { date count tickets { edges { node { id } } } } } }"#;
        let run = |g: &'static str| {
            let app = &app;
            async move {
                let got = app.graphql(Some(&app.all_areas()), q, json!({ "g": g })).await;
                got.body["data"]["stats"]["volume"].as_array().cloned().unwrap_or_default()
            }
        };
        let summary = |points: &[Value]| {
            points
                .iter()
                .map(|p| (p["date"].as_str().unwrap_or("").to_owned(), p["count"].as_u64().unwrap_or(99)))
                .collect::<Vec<_>>()
        };
        let months = run("MONTH").await;
        assert_eq!(
            summary(&months),
            [("2024-01-01".into(), 1), ("2024-02-01".into(), 1), ("2024-03-01".into(), 1)]
        );
        let weeks = run("WEEK").await;
        let expected: Vec<(String, u64)> = [
            ("2024-01-29", 2), ("2024-02-05", 0), ("2024-02-12", 0), ("2024-02-19", 0),
            ("2024-02-26", 0), ("2024-03-04", 0), ("2024-03-11", 1),
        ]
        .iter()
        .map(|(d, n)| (d.to_string(), *n))
        .collect();
        assert_eq!(summary(&weeks), expected);
        let days = run("DAY").await;
        assert_eq!(days.len(), 45, "31 Jan to 15 Mar inclusive");
        // The last microsecond of 31 January belongs to that day, and only it.
        assert_eq!(node_ids(&days[0]["tickets"]), [ids[0].clone()]);
        assert_eq!(node_ids(&days[1]["tickets"]), [ids[1].clone()]);
        assert!(node_ids(&days[2]["tickets"]).is_empty());
        assert_eq!(node_ids(&weeks[0]["tickets"]).len(), 2);
    })
    .await;
}

#[tokio::test]
async fn drill_down_lists_exactly_the_tickets_a_bucket_counted() {
    each_backend(|app| async move {
        let user = app.user(None).await;
        let charger = app
            .ticket_with(Some(&user), |m| {
                m.human_verified_category = Set(Some(Category::Charger));
                m.ai_generated_category = Set(Some(Category::Account));
                m.status = Set(None);
            })
            .await
            .to_string();
        let _ai_only = app
            .ticket_with(Some(&user), |m| m.ai_generated_category = Set(Some(Category::Charger)))
            .await;
        let q = r#"{ stats(filter: { user: { isNull: false } }) {
            statusBreakdown { value count tickets { totalCount edges { node { id } } } }
            sankey { links { value subcategory tickets { edges { node { id } } } } }
            topCategories(basis: EFFECTIVE) { categories { category count tickets { totalCount } } }
            categorizationAgreement { disagreements { aiCategory humanCategory tickets { edges { node { id } } } } }
        } }"#;
        let got = app.graphql(Some(&app.all_areas()), q, json!({})).await;
        let stats = &got.body["data"]["stats"];
        let none = &stats["statusBreakdown"][1];
        assert_eq!(none["value"], Value::Null, "{}", got.text);
        assert_eq!(node_ids(&none["tickets"]), [charger.clone()]);
        let link = &stats["sankey"]["links"][0];
        assert_eq!((link["value"].clone(), link["subcategory"].clone()), (json!(1), Value::Null));
        assert_eq!(node_ids(&link["tickets"]), [charger.clone()]);
        // EFFECTIVE: the human category where present, else the AI one: both tickets are CHARGER.
        let effective = &stats["topCategories"]["categories"];
        assert_eq!(effective, &json!([{ "category": "CHARGER", "count": 2, "tickets": { "totalCount": 2 } }]));
        let disagreement = &stats["categorizationAgreement"]["disagreements"][0];
        assert_eq!(disagreement["aiCategory"], "ACCOUNT");
        assert_eq!(node_ids(&disagreement["tickets"]), [charger]);
    })
    .await;
}

#[tokio::test]
async fn bad_statistics_arguments_are_bad_user_input_naming_the_argument() {
    each_backend(|app| async move {
        let token = app.all_areas();
        for (query, names) in [
            ("{ stats { topCategories(limit: 0) { categories { count } } } }", "limit"),
            ("{ stats { topCategories(limit: 101) { categories { count } } } }", "limit"),
            ("{ stats { categorizationAgreement(limit: 0) { compared } } }", "limit"),
            ("{ stats { volume(groupBy: YEAR) { count } } }", "groupBy"),
            (
                r#"{ stats(filter: { createdAt: { gte: "2024-02-01T00:00:00Z", lte: "2024-01-01T00:00:00Z" } }) { total } }"#,
                "filter.createdAt",
            ),
        ] {
            let got = app.graphql(Some(&token), query, json!({})).await;
            assert_eq!(error_code(&got.body), Some("BAD_USER_INPUT"), "{query}: {}", got.text);
            assert!(got.text.contains(names), "{query}: {}", got.text);
        }
        let anonymous = app.graphql(None, "{ stats { total } }", json!({})).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(error_code(&anonymous.body), Some("UNAUTHENTICATED"));
    })
    .await;
}

#[tokio::test]
async fn a_volume_series_longer_than_ten_years_of_days_is_refused_naming_group_by() {
    each_backend(|app| async move {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        for created in ["1970-01-01T00:00:00Z", "2024-06-01T00:00:00Z"] {
            let created = at(created);
            app.ticket_with(None, move |m| m.created_at = Set(created))
                .await;
        }
        let token = app.all_areas();
        let days = app
            .graphql(Some(&token), "{ stats { volume { count } } }", json!({}))
            .await;
        assert_eq!(
            error_code(&days.body),
            Some("BAD_USER_INPUT"),
            "{}",
            days.text
        );
        assert!(days.text.contains("groupBy"), "{}", days.text);
        let months = app
            .graphql(
                Some(&token),
                "{ stats { volume(groupBy: MONTH) { count } } }",
                json!({}),
            )
            .await;
        let points = months.body["data"]["stats"]["volume"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(points, 54 * 12 + 6, "{}", months.text);
    })
    .await;
}

#[tokio::test]
async fn drill_down_lists_are_limited_per_request() {
    each_backend(|app| async move {
        let start = base();
        for day in 0..120 {
            let created = start + Duration::days(day);
            app.ticket_with(None, move |m| m.created_at = Set(created))
                .await;
        }
        let token = app.all_areas();
        let all = app
            .graphql(
                Some(&token),
                "{ stats { volume { count tickets(first: 1) { totalCount } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            error_code(&all.body),
            Some("BAD_USER_INPUT"),
            "{}",
            all.text
        );
        assert!(all.text.contains("drill-down"), "{}", all.text);
        let weeks = app
            .graphql(
                Some(&token),
                "{ stats { volume(groupBy: WEEK) { count tickets(first: 1) { totalCount } } } }",
                json!({}),
            )
            .await;
        assert!(weeks.body["errors"].is_null(), "{}", weeks.text);
    })
    .await;
}

#[tokio::test]
async fn drill_down_accepts_every_filter_the_statistic_accepted() {
    each_backend(|app| async move {
        app.ticket_with(None, |m| m.status = Set(Some("Open".into()))).await;
        // Eight levels of `and`, the most a filter may nest.
        let mut filter = json!({ "status": { "eq": "Open" } });
        for _ in 0..8 {
            filter = json!({ "and": [filter] });
        }
        let q = "query($f: TicketFilter) { stats(filter: $f) { statusBreakdown { count tickets { totalCount } } } }";
        let got = app.graphql(Some(&app.all_areas()), q, json!({ "f": filter })).await;
        assert!(got.body["errors"].is_null(), "{}", got.text);
        assert_eq!(got.body["data"]["stats"]["statusBreakdown"][0]["tickets"]["totalCount"], json!(1));
    })
    .await;
}

#[tokio::test]
async fn the_last_instants_of_a_period_stay_in_it_to_the_microsecond() {
    each_backend(|app| async move {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Sunday 2024-01-21, half a millisecond before midnight; resolved 1 h 0.0005 s later.
        let created = at("2024-01-21T23:59:59.9995Z");
        let resolved = at("2024-01-22T00:59:59.999999Z");
        let id = app
            .ticket_with(None, move |m| {
                m.created_at = Set(created);
                m.resolved_at = Set(Some(resolved));
            })
            .await
            .to_string();
        let q = "{ stats { day: volume { date } week: volume(groupBy: WEEK) { date tickets { edges { node { id } } } }
                  resolution { averageHours } } }";
        let got = app.graphql(Some(&app.all_areas()), q, json!({})).await;
        let stats = &got.body["data"]["stats"];
        assert_eq!(stats["day"][0]["date"], "2024-01-21", "{}", got.text);
        assert_eq!(stats["week"][0]["date"], "2024-01-15", "{}", got.text);
        assert_eq!(node_ids(&stats["week"][0]["tickets"]), [id]);
        let hours = (resolved - created).num_microseconds().unwrap() as f64 / HOUR as f64;
        assert_close(&stats["resolution"]["averageHours"], &json!(hours), "hours");
    })
    .await;
}

/// `(responded, awaitingResponse, averageHours)` of the first-response statistic.
async fn first_response(app: &TestApp) -> (Value, Value, Value) {
    let r = app
        .graphql(
            Some(&app.all_areas()),
            "{ stats { firstResponse { responded awaitingResponse averageHours } } }",
            json!({}),
        )
        .await;
    let f = &r.body["data"]["stats"]["firstResponse"];
    assert!(f.is_object(), "{}", r.text);
    (
        f["responded"].clone(),
        f["awaitingResponse"].clone(),
        f["averageHours"].clone(),
    )
}

#[tokio::test]
async fn the_first_response_kept_on_the_ticket_follows_every_write_to_its_messages() {
    use sea_orm::ConnectionTrait;
    each_backend(|app| async move {
        let t0 = base();
        let ticket = app
            .ticket_with(None, |t| t.created_at = Set(t0))
            .await;
        // A new ticket, then a customer message: nobody has answered.
        app.message(&ticket, 0, MessageType::InitialRequest, t0).await;
        assert_eq!(first_response(&app).await, (json!(0), json!(1), Value::Null));
        // An agent answers after two hours, then an earlier answer turns up.
        let late = app
            .message(&ticket, 1, MessageType::HumanAgentResponse, t0 + Duration::hours(2))
            .await;
        assert_eq!(first_response(&app).await, (json!(1), json!(0), json!(2.0)));
        let early = app
            .message(&ticket, 2, MessageType::AiAgentResponse, t0 + Duration::hours(1))
            .await;
        assert_eq!(first_response(&app).await.2, json!(1.0));
        // Writers other than the gateway: an UPDATE that makes the early one a customer's...
        let sql = |s: String| {
            let db = app.db.clone();
            async move { db.execute_unprepared(&s).await.expect("sql") }
        };
        sql(format!(
            "UPDATE support_ticket_message SET message_type = 'CUSTOMER_RESPONSE' WHERE id = '{early}'"
        ))
        .await;
        assert_eq!(first_response(&app).await.2, json!(2.0));
        // ...one that moves the late answer to another ticket...
        let other = app.ticket(None).await;
        sql(format!(
            "UPDATE support_ticket_message SET ticket_id = '{other}' WHERE id = '{late}'"
        ))
        .await;
        let (responded, awaiting, _) = first_response(&app).await;
        assert_eq!((responded, awaiting), (json!(1), json!(1)));
        // ...and a DELETE.
        sql(format!("DELETE FROM support_ticket_message WHERE id = '{late}'")).await;
        assert_eq!(first_response(&app).await, (json!(0), json!(2), Value::Null));
        // Recategorizing a ticket leaves it as it was.
        sql(format!(
            "UPDATE support_ticket_message SET message_type = 'HUMAN_AGENT_RESPONSE' WHERE id = '{early}'"
        ))
        .await;
        let patch = br#"{"human_verified_category": "CHARGER", "human_verified_subcategory": "OFFLINE"}"#;
        let token = app.token(Access::AllAreas, READ_WRITE);
        let r = app
            .rest(
                "PATCH",
                &format!("/v2/support_tickets/{ticket}"),
                Some(&token),
                &[("content-type", "application/json")],
                Some(patch.to_vec()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(first_response(&app).await, (json!(1), json!(1), json!(1.0)));
    })
    .await;
}
