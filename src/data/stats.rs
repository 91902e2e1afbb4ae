//! Ticket statistics. Each function runs GROUP BY / percentile SQL over the tickets that
//! the scope and the filter select; only the grouped rows reach the process (one per
//! category pair, period or distinct value), never the tickets themselves.
//!
//! Percentiles are *continuous* (PostgreSQL's `percentile_cont`): over the sorted values
//! `x[0..n]`, the p-th percentile is `x[lo] + (x[lo+1] - x[lo]) * (pos - lo)` where
//! `pos = p * (n - 1)` and `lo = floor(pos)`. SQLite has no such function, so it gets the
//! same formula written with window functions; both give the same numbers.

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use entity::support_ticket::{Column, Entity as Ticket};
use entity::{Category, Subcategory};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, StatementBuilder,
};

use super::tickets::visible;
use super::Scope;
use crate::error::{AppError, AppResult};
use crate::filter::TicketFilter;

/// Largest `limit` of the ranked statistics.
pub const MAX_RANKED: u64 = 100;

/// Most points of one volume series: ten years of days.
pub const MAX_VOLUME_POINTS: usize = 3660;

/// The Sankey node that a ticket with a human-verified category but no subcategory flows to,
/// so that each category's links add up to its tickets.
pub const NO_SUBCATEGORY_LABEL: &str = "No subcategory";

/// Length of one volume period. Periods are UTC; weeks start on Monday.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(name = "VolumePeriod")]
pub enum Period {
    /// Calendar days.
    #[default]
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Period {
    /// The first day of the period `day` is in (weeks start on Monday).
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        use chrono::Datelike;
        match self {
            Period::Day => day,
            Period::Week => day
                .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
                .unwrap_or(day),
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the next period.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        let next = match self {
            Period::Day => start.checked_add_days(Days::new(1)),
            Period::Week => start.checked_add_days(Days::new(7)),
            Period::Month => start.checked_add_months(Months::new(1)),
        };
        next.unwrap_or(NaiveDate::MAX)
    }
}

/// Which categorization a ranking counts.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(name = "CategoryBasis")]
pub enum Basis {
    /// The categorization set by a person.
    #[default]
    HumanVerified,
    /// The categorization suggested by the classifier.
    AiGenerated,
    /// The human-verified categorization where the ticket has a human-verified category,
    /// else the AI-generated one (category and subcategory always come from the same side).
    Effective,
}

/// A ticket column that breakdowns group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Status,
    Priority,
    Source,
}

impl Dimension {
    fn column(self) -> Column {
        match self {
            Dimension::Status => Column::Status,
            Dimension::Priority => Column::Priority,
            Dimension::Source => Column::Source,
        }
    }
}

/// One value of a breakdown. `value` is `None` for the tickets with no value.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub value: Option<String>,
    pub count: u64,
    /// Share of the filtered total, 0-1.
    pub percentage: f64,
}

/// Tickets created in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumePoint {
    /// First day of the period.
    pub date: NaiveDate,
    pub count: u64,
}

/// Count, mean, median and 90th percentile of a set of durations in hours; the three
/// figures are `None` when the set is empty.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Durations {
    pub count: u64,
    pub average_hours: Option<f64>,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// How many tickets are resolved, and how long resolving took (`resolved_at - created_at`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    /// Resolved share of the filtered tickets, 0-1 (0 when there are none).
    pub resolution_rate: f64,
    pub total_resolved: u64,
    pub total_unresolved: u64,
    pub times: Durations,
}

/// Time from a ticket's creation to its first agent message (human or AI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstResponse {
    /// `count` is the number of tickets with an agent response.
    pub times: Durations,
    /// Tickets with no agent message yet.
    pub awaiting_response: u64,
}

/// A node of the Sankey diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SankeyNode {
    /// `category:<label>` or `subcategory:<label>`.
    pub id: String,
    pub label: String,
}

/// Tickets of one human-verified category and subcategory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SankeyLink {
    pub source: String,
    pub target: String,
    pub value: u64,
    pub category: Category,
    /// `None`: the tickets of this category with no subcategory.
    pub subcategory: Option<Subcategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sankey {
    pub nodes: Vec<SankeyNode>,
    pub links: Vec<SankeyLink>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCount {
    pub category: Category,
    pub count: u64,
    pub percentage: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubcategoryCount {
    pub subcategory: Subcategory,
    /// The category it was recorded under.
    pub category: Category,
    pub count: u64,
    pub percentage: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopCategories {
    pub categories: Vec<CategoryCount>,
    pub subcategories: Vec<SubcategoryCount>,
}

/// Tickets whose AI-generated category differs from the human-verified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub ai_category: Category,
    pub human_category: Category,
    pub count: u64,
}

/// How often the classifier and people agree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Agreement {
    /// Tickets with both an AI-generated and a human-verified category.
    pub compared: u64,
    /// Share of `compared` with the same category; `None` when nothing is compared.
    pub category_agreement_rate: Option<f64>,
    /// Share of `compared` with the same category and the same subcategory (two missing
    /// subcategories are the same); `None` when nothing is compared.
    pub subcategory_agreement_rate: Option<f64>,
    /// The most frequent (AI category, human category) pairs that differ.
    pub disagreements: Vec<Disagreement>,
    /// Tickets with an AI-generated category and no human-verified one yet.
    pub awaiting_verification: u64,
}

/// Checks a ranking's `limit` argument.
pub fn check_limit(name: &str, limit: i64) -> AppResult<u64> {
    if (1..=MAX_RANKED as i64).contains(&limit) {
        Ok(limit as u64)
    } else {
        Err(AppError::bad_field(
            name,
            format!("must be between 1 and {MAX_RANKED}, got {limit}"),
        ))
    }
}

fn col(c: Column) -> SimpleExpr {
    Expr::col((Ticket, c))
}

/// `SELECT ... FROM support_ticket WHERE <scope AND filter>`; callers add the columns.
fn selection(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<SelectStatement> {
    Ok(Query::select()
        .from(Ticket)
        .cond_where(visible(db, scope, filter)?)
        .to_owned())
}

async fn rows(db: &DatabaseConnection, statement: Statement) -> AppResult<Vec<QueryResult>> {
    Ok(db.query_all_raw(statement).await?)
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, index: usize) -> AppResult<T> {
    row.try_get_by_index(index)
        .map_err(|e| AppError::Internal(format!("reading a statistics row: {e}")))
}

fn count(row: &QueryResult, index: usize) -> AppResult<u64> {
    let n: i64 = get(row, index)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Microseconds since the epoch of a timestamp column, exactly. SQLite keeps timestamps as
/// RFC 3339 text (`2024-01-15T10:00:00.123456+00:00`); its `julianday` is a double that
/// loses microseconds, so whole seconds and the fraction are read separately.
fn epoch_micros(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000000) AS BIGINT)")
        }
        // Whole seconds from the first 19 characters (no fraction, so no rounding by
        // `strftime`), plus the fraction read as digits.
        _ => format!(
            "(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 + \
             CASE WHEN substr({column}, 20, 1) = '.' \
             THEN CAST(round(CAST('0.' || substr({column}, 21, 9) AS REAL) * 1000000) AS INTEGER) \
             ELSE 0 END)"
        ),
    }
}

/// Hours from `from` to `to` as a double, NULL when either is NULL.
fn hours_between(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        // `date_part` of the interval is a double; `EXTRACT` would compute in numeric, which
        // costs more than the rest of the statement over a million tickets.
        DbBackend::Postgres => format!("date_part('epoch', {to} - {from}) / 3600.0"),
        _ => {
            let to_micros = epoch_micros(backend, to);
            let from_micros = epoch_micros(backend, from);
            format!("CAST({to_micros} - {from_micros} AS REAL) / 3600000000.0")
        }
    }
}

/// Wraps a statement whose single column `x` holds durations (NULL for "not applicable")
/// into one row: rows, non-NULL values, mean, median, 90th percentile.
fn durations_sql(backend: DbBackend, inner: &str) -> String {
    match backend {
        // One pass: `x` is plain arithmetic on two columns, and the two percentiles share
        // one sort.
        DbBackend::Postgres => format!(
            "SELECT COUNT(*), COUNT(x), AVG(x), \
             percentile_cont(0.5) WITHIN GROUP (ORDER BY x), \
             percentile_cont(0.9) WITHIN GROUP (ORDER BY x) \
             FROM ({inner}) AS v"
        ),
        _ => {
            let percentile = |p: &str| {
                let lo = format!("CAST((n - 1) * {p} AS INTEGER)");
                format!(
                    "(SELECT lo + (hi - lo) * (pos - CAST(pos AS INTEGER)) FROM \
                     (SELECT MAX(CASE WHEN i = {lo} THEN x END) AS lo, \
                     COALESCE(MAX(CASE WHEN i = {lo} + 1 THEN x END), MAX(CASE WHEN i = {lo} THEN x END)) AS hi, \
                     (MAX(n) - 1) * {p} AS pos FROM r))"
                )
            };
            format!(
                "WITH v AS ({inner}), \
                 r AS (SELECT x, ROW_NUMBER() OVER (ORDER BY x) - 1 AS i, COUNT(*) OVER () AS n \
                 FROM v WHERE x IS NOT NULL) \
                 SELECT (SELECT COUNT(*) FROM v), (SELECT COUNT(x) FROM v), (SELECT AVG(x) FROM v), {}, {}",
                percentile("0.5"),
                percentile("0.9")
            )
        }
    }
}

/// Runs [`durations_sql`]: (rows, durations).
async fn durations(db: &DatabaseConnection, inner: SelectStatement) -> AppResult<(u64, Durations)> {
    let backend = db.get_database_backend();
    let inner = StatementBuilder::build(&inner, &backend);
    let sql = durations_sql(backend, &inner.sql);
    let values = inner.values.map(|v| v.0).unwrap_or_default();
    let statement = Statement::from_sql_and_values(backend, sql, values);
    let rows = rows(db, statement).await?;
    let Some(row) = rows.first() else {
        return Ok((0, Durations::default()));
    };
    Ok((
        count(row, 0)?,
        Durations {
            count: count(row, 1)?,
            average_hours: get(row, 2)?,
            median_hours: get(row, 3)?,
            p90_hours: get(row, 4)?,
        },
    ))
}

const TICKET_CREATED: &str = r#""support_ticket"."created_at""#;

/// Resolved and unresolved tickets, and resolution times.
pub async fn resolution(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<Resolution> {
    let backend = db.get_database_backend();
    let hours = hours_between(backend, TICKET_CREATED, r#""support_ticket"."resolved_at""#);
    let inner = selection(db, scope, filter)?
        .expr_as(Expr::cust(hours), Alias::new("x"))
        .to_owned();
    let (total, times) = durations(db, inner).await?;
    Ok(Resolution {
        resolution_rate: share(times.count, total),
        total_resolved: times.count,
        total_unresolved: total.saturating_sub(times.count),
        times,
    })
}

/// Time to the first agent message (HUMAN_AGENT_RESPONSE or AI_AGENT_RESPONSE), by its
/// `created_at`, as kept in the ticket's `first_agent_response_at`.
pub async fn first_response(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<FirstResponse> {
    let backend = db.get_database_backend();
    // Kept on the ticket by triggers on messages (see the migration that added it), so no
    // message is read here.
    let first_agent = r#""support_ticket"."first_agent_response_at""#;
    let hours = hours_between(backend, TICKET_CREATED, first_agent);
    let inner = selection(db, scope, filter)?
        .expr_as(Expr::cust(hours), Alias::new("x"))
        .to_owned();
    let (total, times) = durations(db, inner).await?;
    Ok(FirstResponse {
        times,
        awaiting_response: total.saturating_sub(times.count),
    })
}

/// Tickets per value of a column, largest first (ties by value, no value last).
pub async fn breakdown(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    dimension: Dimension,
) -> AppResult<Vec<Bucket>> {
    let column = col(dimension.column());
    let statement = selection(db, scope, filter)?
        .expr(column.clone())
        .expr(Expr::cust("COUNT(*)"))
        .add_group_by([column])
        .to_owned();
    let mut groups = Vec::new();
    for row in db.query_all(&statement).await? {
        groups.push((get::<Option<String>>(&row, 0)?, count(&row, 1)?));
    }
    let total: u64 = groups.iter().map(|(_, n)| n).sum();
    groups.sort_by(|(a, n), (b, m)| {
        m.cmp(n)
            .then_with(|| a.is_none().cmp(&b.is_none()))
            .then_with(|| a.cmp(b))
    });
    Ok(groups
        .into_iter()
        .map(|(value, count)| Bucket {
            value,
            count,
            percentage: share(count, total),
        })
        .collect())
}

/// The UTC day of a ticket's creation. Weeks and months are folded from days afterwards, so
/// that the database computes one cheap key per ticket and groups on it.
fn day_key(backend: DbBackend) -> &'static str {
    match backend {
        // Kept by the database (a generated column, indexed): counting by it reads a small
        // index in order.
        DbBackend::Postgres => r#""support_ticket"."created_day""#,
        // SQLite stores UTC timestamps as RFC 3339 text, so the day is its first ten
        // characters; date functions are not used on the full value because older SQLite
        // versions round fractions to the millisecond, which can cross midnight.
        _ => r#"substr("support_ticket"."created_at", 1, 10)"#,
    }
}

/// Tickets created per period, oldest first, with empty periods between the first and the
/// last present as 0. More than [`MAX_VOLUME_POINTS`] periods is BAD_USER_INPUT naming
/// `period_argument`.
pub async fn volume(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    period: Period,
    period_argument: &str,
) -> AppResult<Vec<VolumePoint>> {
    let backend = db.get_database_backend();
    let key = Expr::cust(day_key(backend));
    let statement = selection(db, scope, filter)?
        .expr(key.clone())
        .expr(Expr::cust("COUNT(*)"))
        .add_group_by([key])
        .to_owned();
    let mut counts = BTreeMap::new();
    for row in db.query_all(&statement).await? {
        let date = match backend {
            DbBackend::Postgres => get::<NaiveDate>(&row, 0)?,
            _ => {
                let key: String = get(&row, 0)?;
                NaiveDate::parse_from_str(&key, "%Y-%m-%d")
                    .map_err(|e| AppError::Internal(format!("period key {key:?}: {e}")))?
            }
        };
        *counts.entry(period.start(date)).or_insert(0) += count(&row, 1)?;
    }
    let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    let mut date = first;
    while date <= last {
        if points.len() >= MAX_VOLUME_POINTS {
            return Err(AppError::bad_field(
                period_argument,
                format!(
                    "the tickets span more than {MAX_VOLUME_POINTS} periods ({first} to {last}); \
                     narrow the createdAt range or group by a longer period"
                ),
            ));
        }
        points.push(VolumePoint {
            date,
            count: counts.get(&date).copied().unwrap_or(0),
        });
        let next = period.next(date);
        if next <= date {
            break;
        }
        date = next;
    }
    Ok(points)
}

fn category(raw: Option<String>) -> AppResult<Option<Category>> {
    raw.map(|r| Category::parse(&r).ok_or_else(|| AppError::Internal(format!("category {r:?}"))))
        .transpose()
}

fn subcategory(raw: Option<String>) -> AppResult<Option<Subcategory>> {
    raw.map(|r| {
        Subcategory::parse(&r).ok_or_else(|| AppError::Internal(format!("subcategory {r:?}")))
    })
    .transpose()
}

/// Tickets per (category, subcategory) pair of two columns, unordered; only the tickets with
/// a category when `with_category_only`.
async fn pairs(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    (cat, sub): (Column, Column),
    with_category_only: bool,
) -> AppResult<Vec<(Option<Category>, Option<Subcategory>, u64)>> {
    let (cat, sub) = (col(cat), col(sub));
    let mut statement = selection(db, scope, filter)?;
    statement
        .expr(cat.clone())
        .expr(sub.clone())
        .expr(Expr::cust("COUNT(*)"))
        .add_group_by([cat.clone(), sub]);
    if with_category_only {
        statement.and_where(Expr::expr(cat).is_not_null());
    }
    let mut out = Vec::new();
    for row in db.query_all(&statement).await? {
        out.push((
            category(get(&row, 0)?)?,
            subcategory(get(&row, 1)?)?,
            count(&row, 2)?,
        ));
    }
    Ok(out)
}

/// Human-verified category -> subcategory flows of the tickets with a human-verified category.
/// Nodes: categories, then subcategories, each in enum order; links largest first.
pub async fn sankey(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<Sankey> {
    let human = (
        Column::HumanVerifiedCategory,
        Column::HumanVerifiedSubcategory,
    );
    let mut links: Vec<SankeyLink> = pairs(db, scope, filter, human, true)
        .await?
        .into_iter()
        .filter_map(|(category, subcategory, value)| {
            let category = category?;
            Some(SankeyLink {
                source: format!("category:{}", category.label()),
                target: format!(
                    "subcategory:{}",
                    subcategory.map_or(NO_SUBCATEGORY_LABEL, Subcategory::label)
                ),
                value,
                category,
                subcategory,
            })
        })
        .collect();
    links.sort_by(|a, b| {
        b.value
            .cmp(&a.value)
            .then_with(|| a.category.as_str().cmp(b.category.as_str()))
            .then_with(|| {
                let key = |s: Option<Subcategory>| s.map(Subcategory::as_str);
                (a.subcategory.is_none(), key(a.subcategory))
                    .cmp(&(b.subcategory.is_none(), key(b.subcategory)))
            })
    });
    let mut nodes: Vec<SankeyNode> = Category::ALL
        .iter()
        .filter(|c| links.iter().any(|l| l.category == **c))
        .map(|c| SankeyNode {
            id: format!("category:{}", c.label()),
            label: c.label().to_owned(),
        })
        .collect();
    let subcategories = Subcategory::ALL.iter().map(|s| Some(*s)).chain([None]);
    for s in subcategories {
        if links.iter().any(|l| l.subcategory == s) {
            let label = s.map_or(NO_SUBCATEGORY_LABEL, Subcategory::label);
            nodes.push(SankeyNode {
                id: format!("subcategory:{label}"),
                label: label.to_owned(),
            });
        }
    }
    Ok(Sankey { nodes, links })
}

/// One combination of the four categorization columns and how many tickets have it.
struct Categorized {
    human: (Option<Category>, Option<Subcategory>),
    ai: (Option<Category>, Option<Subcategory>),
    count: u64,
}

impl Categorized {
    /// The category and subcategory `basis` counts for these tickets.
    fn on(&self, basis: Basis) -> (Option<Category>, Option<Subcategory>) {
        match basis {
            Basis::HumanVerified => self.human,
            Basis::AiGenerated => self.ai,
            Basis::Effective if self.human.0.is_some() => self.human,
            Basis::Effective => self.ai,
        }
    }
}

/// Tickets per combination of the four categorization columns (only those with an
/// AI-generated category when `with_ai_only`). Grouping on the raw columns lets the planner
/// estimate the groups well and read `idx_ticket_categorization` alone, in its own order; the
/// statistics then fold the few thousand combinations, rather than the database computing an
/// expression per ticket.
async fn categorized(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    with_ai_only: bool,
) -> AppResult<Vec<Categorized>> {
    let columns = [
        Column::HumanVerifiedCategory,
        Column::HumanVerifiedSubcategory,
        Column::AiGeneratedCategory,
        Column::AiGeneratedSubcategory,
    ]
    .map(col);
    let mut statement = selection(db, scope, filter)?;
    for column in &columns {
        statement.expr(column.clone());
    }
    statement
        .expr(Expr::cust("COUNT(*)"))
        .add_group_by(columns.clone());
    if with_ai_only {
        statement.and_where(Expr::expr(col(Column::AiGeneratedCategory)).is_not_null());
    }
    let mut out = Vec::new();
    for row in db.query_all(&statement).await? {
        out.push(Categorized {
            human: (category(get(&row, 0)?)?, subcategory(get(&row, 1)?)?),
            ai: (category(get(&row, 2)?)?, subcategory(get(&row, 3)?)?),
            count: count(&row, 4)?,
        });
    }
    Ok(out)
}

/// The most frequent categories, and subcategories under their category, on a basis;
/// percentages are of all the filtered tickets. Ties in alphabetical order of value.
pub async fn top_categories(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    basis: Basis,
    limit: u64,
) -> AppResult<TopCategories> {
    let groups = match basis {
        // One side's two columns: grouped by the database as they are.
        Basis::HumanVerified | Basis::AiGenerated => {
            let side = match basis {
                Basis::AiGenerated => (Column::AiGeneratedCategory, Column::AiGeneratedSubcategory),
                _ => (
                    Column::HumanVerifiedCategory,
                    Column::HumanVerifiedSubcategory,
                ),
            };
            pairs(db, scope, filter, side, false).await?
        }
        // A side chosen per ticket: folded from the raw combinations.
        Basis::Effective => {
            let mut folded: BTreeMap<(Option<Category>, Option<Subcategory>), u64> =
                BTreeMap::new();
            for group in categorized(db, scope, filter, false).await? {
                *folded.entry(group.on(basis)).or_insert(0) += group.count;
            }
            folded
                .into_iter()
                .map(|((category, subcategory), n)| (category, subcategory, n))
                .collect()
        }
    };
    let total: u64 = groups.iter().map(|(_, _, n)| n).sum();
    let mut by_category: BTreeMap<&'static str, (Category, u64)> = BTreeMap::new();
    let mut subcategories = Vec::new();
    for (category, subcategory, n) in groups {
        let Some(category) = category else { continue };
        by_category
            .entry(category.as_str())
            .or_insert((category, 0))
            .1 += n;
        if let Some(subcategory) = subcategory {
            subcategories.push(SubcategoryCount {
                subcategory,
                category,
                count: n,
                percentage: share(n, total),
            });
        }
    }
    let mut categories: Vec<CategoryCount> = by_category
        .into_values()
        .map(|(category, count)| CategoryCount {
            category,
            count,
            percentage: share(count, total),
        })
        .collect();
    categories.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.category.as_str().cmp(b.category.as_str()))
    });
    subcategories.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.subcategory.as_str().cmp(b.subcategory.as_str()))
            .then_with(|| a.category.as_str().cmp(b.category.as_str()))
    });
    categories.truncate(limit as usize);
    subcategories.truncate(limit as usize);
    Ok(TopCategories {
        categories,
        subcategories,
    })
}

/// Agreement between AI-generated and human-verified categorization.
pub async fn agreement(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    limit: u64,
) -> AppResult<Agreement> {
    let mut result = Agreement::default();
    let (mut same_category, mut same_both) = (0, 0);
    let mut disagreements: BTreeMap<(Category, Category), u64> = BTreeMap::new();
    for group in categorized(db, scope, filter, true).await? {
        let (Some(ai), human) = (group.ai.0, group.human.0) else {
            continue;
        };
        let n = group.count;
        match human {
            None => result.awaiting_verification += n,
            Some(human) => {
                result.compared += n;
                if human == ai {
                    same_category += n;
                    if group.ai.1 == group.human.1 {
                        same_both += n;
                    }
                } else {
                    *disagreements.entry((ai, human)).or_insert(0) += n;
                }
            }
        }
    }
    result.disagreements = disagreements
        .into_iter()
        .map(|((ai_category, human_category), count)| Disagreement {
            ai_category,
            human_category,
            count,
        })
        .collect();
    if result.compared > 0 {
        result.category_agreement_rate = Some(share(same_category, result.compared));
        result.subcategory_agreement_rate = Some(share(same_both, result.compared));
    }
    result.disagreements.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.ai_category.as_str().cmp(b.ai_category.as_str()))
            .then_with(|| a.human_category.as_str().cmp(b.human_category.as_str()))
    });
    result.disagreements.truncate(limit as usize);
    Ok(result)
}

/// The filters that select exactly the tickets a statistic counted, for drill-down: the
/// caller's filter AND one of these lists the tickets behind a bucket, link or point.
pub mod drill {
    use chrono::{Duration, NaiveDate};
    use entity::{Category, Subcategory};

    use super::{Basis, Dimension, Period};
    use crate::filter::{
        CategoryFilter, DateTimeFilter, StringFilter, SubcategoryFilter, TicketFilter,
    };

    /// `base AND extra`.
    pub fn within(base: Option<&TicketFilter>, extra: TicketFilter) -> TicketFilter {
        match base {
            None => extra,
            // Into the caller's own `and` list, so that the caller's filter nests no deeper
            // than it did in the statistic (nesting is limited).
            Some(base) => {
                let mut both = base.clone();
                both.and.get_or_insert_with(Vec::new).push(extra);
                both
            }
        }
    }

    fn is(category: Category) -> Option<CategoryFilter> {
        Some(CategoryFilter {
            eq: Some(category),
            ..Default::default()
        })
    }

    fn is_sub(subcategory: Option<Subcategory>) -> Option<SubcategoryFilter> {
        Some(match subcategory {
            Some(s) => SubcategoryFilter {
                eq: Some(s),
                ..Default::default()
            },
            None => SubcategoryFilter {
                is_null: Some(true),
                ..Default::default()
            },
        })
    }

    fn no_category() -> Option<CategoryFilter> {
        Some(CategoryFilter {
            is_null: Some(true),
            ..Default::default()
        })
    }

    /// One value of a breakdown (`None`: no value).
    pub fn bucket(dimension: Dimension, value: Option<&str>) -> TicketFilter {
        let matcher = Some(match value {
            Some(v) => StringFilter {
                eq: Some(v.to_owned()),
                ..Default::default()
            },
            None => StringFilter {
                is_null: Some(true),
                ..Default::default()
            },
        });
        match dimension {
            Dimension::Status => TicketFilter {
                status: matcher,
                ..Default::default()
            },
            Dimension::Priority => TicketFilter {
                priority: matcher,
                ..Default::default()
            },
            Dimension::Source => TicketFilter {
                source: matcher,
                ..Default::default()
            },
        }
    }

    /// Tickets created in the period that starts on `start`. Timestamps are stored to the
    /// microsecond, so "at most one microsecond before the next period" is "before it".
    pub fn period(period: Period, start: NaiveDate) -> TicketFilter {
        let from = start.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let until = period
            .next(start)
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc() - Duration::microseconds(1));
        TicketFilter {
            created_at: Some(DateTimeFilter {
                gte: from,
                lte: until,
                is_null: None,
            }),
            ..Default::default()
        }
    }

    /// One Sankey link.
    pub fn sankey_link(category: Category, subcategory: Option<Subcategory>) -> TicketFilter {
        TicketFilter {
            human_verified_category: is(category),
            human_verified_subcategory: is_sub(subcategory),
            ..Default::default()
        }
    }

    fn on_basis(
        basis: Basis,
        category: Category,
        subcategory: Option<Option<Subcategory>>,
    ) -> TicketFilter {
        let human = TicketFilter {
            human_verified_category: is(category),
            human_verified_subcategory: subcategory.and_then(is_sub),
            ..Default::default()
        };
        let ai = TicketFilter {
            ai_generated_category: is(category),
            ai_generated_subcategory: subcategory.and_then(is_sub),
            ..Default::default()
        };
        match basis {
            Basis::HumanVerified => human,
            Basis::AiGenerated => ai,
            Basis::Effective => TicketFilter {
                or: Some(vec![
                    human,
                    TicketFilter {
                        human_verified_category: no_category(),
                        and: Some(vec![ai]),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
        }
    }

    /// One category of a ranking.
    pub fn category(basis: Basis, category: Category) -> TicketFilter {
        on_basis(basis, category, None)
    }

    /// One subcategory (under its category) of a ranking.
    pub fn subcategory(basis: Basis, category: Category, subcategory: Subcategory) -> TicketFilter {
        on_basis(basis, category, Some(Some(subcategory)))
    }

    /// One (AI category, human category) pair.
    pub fn disagreement(ai: Category, human: Category) -> TicketFilter {
        TicketFilter {
            ai_generated_category: is(ai),
            human_verified_category: is(human),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_step_to_the_next_and_stop_at_the_last_date() {
        // 2024-01-17 is a Wednesday.
        assert_eq!(Period::Month.next(day("2024-01-01")), day("2024-02-01"));
        assert_eq!(Period::Week.next(day("2024-12-30")), day("2025-01-06"));
        assert_eq!(Period::Day.next(day("2024-02-28")), day("2024-02-29"));
        // No later date: the caller stops instead of looping.
        assert_eq!(Period::Day.next(NaiveDate::MAX), NaiveDate::MAX);
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert!(check_limit("limit", 0).is_err());
        assert!(check_limit("limit", 101).is_err());
        assert_eq!(check_limit("limit", 1).ok(), Some(1));
        assert_eq!(check_limit("limit", 100).ok(), Some(100));
    }
}
