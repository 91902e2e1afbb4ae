//! `stats`: the statistics of `data::stats` as GraphQL objects. Every bucket, point and
//! link carries the filter that selects exactly the tickets it counted, for drill-down.

use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject};
use chrono::NaiveDate;
use entity::{Category, Subcategory};

use super::connection::{connection, page_spec, TicketConnection};
use super::db;
use super::loaders::{Loaders, MAX_DRILL_DOWNS};
use crate::data::replica::{self, Replica};
use crate::data::stats::{self, drill, Basis, Dimension, Period};
use crate::data::tickets::TicketOrder;
use crate::data::Scope;
use crate::error::AppError;
use crate::filter::TicketFilter;

/// Statistics over the tickets the token may see that match the filter.
pub struct TicketStats {
    scope: Scope,
    filter: Option<TicketFilter>,
}

impl TicketStats {
    pub fn new(scope: Scope, filter: Option<TicketFilter>) -> Self {
        Self { scope, filter }
    }

    /// The drill-down of one bucket: the stats filter AND the bucket's own.
    fn drill(&self, extra: TicketFilter) -> DrillDown {
        DrillDown {
            scope: self.scope.clone(),
            filter: drill::within(self.filter.as_ref(), extra),
        }
    }
}

/// Runs a statistic on the statistics pool (the read replica when there is one, else the
/// primary), holding one of the request's [`STATISTICS_AT_ONCE`](super::loaders::STATISTICS_AT_ONCE)
/// turns meanwhile, so a request asking for every statistic runs them concurrently without
/// taking every pooled connection.
async fn on_stats<'a, T, F, Fut>(ctx: &Context<'a>, run: F) -> Result<T>
where
    F: Fn(&'a sea_orm::DatabaseConnection) -> Fut,
    Fut: std::future::Future<Output = crate::error::AppResult<T>>,
{
    let _permit = match ctx.data_opt::<Loaders>() {
        Some(loaders) => Some(loaders.statistic_permit().await?),
        None => None,
    };
    let replica = ctx.data_opt::<std::sync::Arc<Replica>>().map(|r| &**r);
    Ok(replica::read(replica, db(ctx)?, run).await?)
}

/// What a bucket's `tickets` lists.
#[derive(Clone)]
struct DrillDown {
    scope: Scope,
    filter: TicketFilter,
}

#[Object]
impl TicketStats {
    /// How many tickets match the filter.
    async fn total(&self, ctx: &Context<'_>) -> Result<u64> {
        on_stats(ctx, |db| {
            crate::data::tickets::count(db, &self.scope, self.filter.as_ref())
        })
        .await
    }

    /// Flows from human-verified category to human-verified subcategory, for a Sankey
    /// diagram. Only tickets with a human-verified category count. A ticket with a category
    /// but no subcategory flows to the node `subcategory:No subcategory`, so the links out of
    /// a category add up to its tickets.
    async fn sankey(&self, ctx: &Context<'_>) -> Result<Sankey> {
        let sankey = on_stats(ctx, |db| {
            stats::sankey(db, &self.scope, self.filter.as_ref())
        })
        .await?;
        Ok(Sankey {
            nodes: sankey
                .nodes
                .into_iter()
                .map(|n| SankeyNode {
                    id: n.id,
                    label: n.label,
                })
                .collect(),
            links: sankey
                .links
                .into_iter()
                .map(|l| SankeyLink {
                    drill: self.drill(drill::sankey_link(l.category, l.subcategory)),
                    source: l.source,
                    target: l.target,
                    value: l.value,
                    category: l.category,
                    subcategory: l.subcategory,
                })
                .collect(),
        })
    }

    /// Tickets created per period (UTC; weeks start on Monday), oldest first. Periods with
    /// no tickets between the first and the last are listed with count 0.
    async fn volume(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] group_by: Period,
    ) -> Result<Vec<VolumePoint>> {
        let points = on_stats(ctx, |db| {
            stats::volume(db, &self.scope, self.filter.as_ref(), group_by, "groupBy")
        })
        .await?;
        Ok(points
            .into_iter()
            .map(|p| VolumePoint {
                drill: self.drill(drill::period(group_by, p.date)),
                date: p.date,
                count: p.count,
            })
            .collect())
    }

    /// Resolved and unresolved tickets and the time resolving took
    /// (`resolvedAt - createdAt`).
    async fn resolution(&self, ctx: &Context<'_>) -> Result<Resolution> {
        let r = on_stats(ctx, |db| {
            stats::resolution(db, &self.scope, self.filter.as_ref())
        })
        .await?;
        Ok(Resolution {
            resolution_rate: r.resolution_rate,
            total_resolved: r.total_resolved,
            total_unresolved: r.total_unresolved,
            average_hours: r.times.average_hours,
            median_hours: r.times.median_hours,
            p90_hours: r.times.p90_hours,
        })
    }

    /// Time from a ticket's creation to its first agent message (`HUMAN_AGENT_RESPONSE` or
    /// `AI_AGENT_RESPONSE`, the earliest by `createdAt`).
    async fn first_response(&self, ctx: &Context<'_>) -> Result<FirstResponse> {
        let r = on_stats(ctx, |db| {
            stats::first_response(db, &self.scope, self.filter.as_ref())
        })
        .await?;
        Ok(FirstResponse {
            responded: r.times.count,
            awaiting_response: r.awaiting_response,
            average_hours: r.times.average_hours,
            median_hours: r.times.median_hours,
            p90_hours: r.times.p90_hours,
        })
    }

    /// Tickets per status, largest first. Tickets with no status are one bucket whose
    /// `value` is null.
    async fn status_breakdown(&self, ctx: &Context<'_>) -> Result<Vec<BreakdownBucket>> {
        self.breakdown(ctx, Dimension::Status).await
    }

    /// Tickets per priority, largest first. Tickets with no priority are one bucket whose
    /// `value` is null.
    async fn priority_breakdown(&self, ctx: &Context<'_>) -> Result<Vec<BreakdownBucket>> {
        self.breakdown(ctx, Dimension::Priority).await
    }

    /// Tickets per source, largest first. Tickets with no source are one bucket whose
    /// `value` is null.
    async fn source_breakdown(&self, ctx: &Context<'_>) -> Result<Vec<BreakdownBucket>> {
        self.breakdown(ctx, Dimension::Source).await
    }

    /// The most frequent categories, and subcategories with the category they were recorded
    /// under, on the chosen basis. `limit` (1-100) applies to each list; percentages are of
    /// all the filtered tickets. Ties are in alphabetical order of value.
    async fn top_categories(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] limit: i32,
        #[graphql(default)] basis: Basis,
    ) -> Result<TopCategories> {
        let limit = stats::check_limit("limit", i64::from(limit))?;
        let top = on_stats(ctx, |db| {
            stats::top_categories(db, &self.scope, self.filter.as_ref(), basis, limit)
        })
        .await?;
        Ok(TopCategories {
            categories: top
                .categories
                .into_iter()
                .map(|c| CategoryCount {
                    drill: self.drill(drill::category(basis, c.category)),
                    category: c.category,
                    label: c.category.label(),
                    count: c.count,
                    percentage: c.percentage,
                })
                .collect(),
            subcategories: top
                .subcategories
                .into_iter()
                .map(|s| SubcategoryCount {
                    drill: self.drill(drill::subcategory(basis, s.category, s.subcategory)),
                    subcategory: s.subcategory,
                    label: s.subcategory.label(),
                    category: s.category,
                    count: s.count,
                    percentage: s.percentage,
                })
                .collect(),
        })
    }

    /// How far the classifier can be trusted: agreement between AI-generated and
    /// human-verified categorization. `limit` (1-100) caps the list of disagreements.
    async fn categorization_agreement(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] limit: i32,
    ) -> Result<CategorizationAgreement> {
        let limit = stats::check_limit("limit", i64::from(limit))?;
        let a = on_stats(ctx, |db| {
            stats::agreement(db, &self.scope, self.filter.as_ref(), limit)
        })
        .await?;
        Ok(CategorizationAgreement {
            compared: a.compared,
            category_agreement_rate: a.category_agreement_rate,
            subcategory_agreement_rate: a.subcategory_agreement_rate,
            awaiting_verification: a.awaiting_verification,
            disagreements: a
                .disagreements
                .into_iter()
                .map(|d| Disagreement {
                    drill: self.drill(drill::disagreement(d.ai_category, d.human_category)),
                    ai_category: d.ai_category,
                    human_category: d.human_category,
                    count: d.count,
                })
                .collect(),
        })
    }
}

impl TicketStats {
    async fn breakdown(
        &self,
        ctx: &Context<'_>,
        dimension: Dimension,
    ) -> Result<Vec<BreakdownBucket>> {
        let buckets = on_stats(ctx, |db| {
            stats::breakdown(db, &self.scope, self.filter.as_ref(), dimension)
        })
        .await?;
        Ok(buckets
            .into_iter()
            .map(|b| BreakdownBucket {
                drill: self.drill(drill::bucket(dimension, b.value.as_deref())),
                value: b.value,
                count: b.count,
                percentage: b.percentage,
            })
            .collect())
    }
}

/// Adds `tickets`, the drill-down connection, to a statistics type.
macro_rules! drill_down {
    ($ty:ty) => {
        #[ComplexObject]
        impl $ty {
            /// The tickets counted here, a page at a time; its `totalCount` equals the count.
            async fn tickets(
                &self,
                ctx: &Context<'_>,
                #[graphql(default)] order: TicketOrder,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
            ) -> Result<TicketConnection> {
                let spec = page_spec(order, first, after, last, before)?;
                if !ctx.data::<Loaders>()?.take_drill_down() {
                    return Err(AppError::bad_input(format!(
                        "At most {MAX_DRILL_DOWNS} drill-down `tickets` lists are answered per request; \
                         ask for the buckets you need, or list them with `tickets(filter:)`."
                    ))
                    .into());
                }
                let DrillDown { scope, filter } = self.drill.clone();
                Ok(connection(ctx, scope, Some(filter), &spec).await?.drilling_down())
            }
        }
    };
}

/// Nodes and links of a Sankey diagram.
#[derive(SimpleObject)]
pub struct Sankey {
    /// Categories (`category:<label>`), then subcategories (`subcategory:<label>`).
    nodes: Vec<SankeyNode>,
    /// Largest first.
    links: Vec<SankeyLink>,
}

/// A category or subcategory of the Sankey diagram.
#[derive(SimpleObject)]
pub struct SankeyNode {
    /// `category:<label>` or `subcategory:<label>`.
    id: String,
    /// Display label.
    label: String,
}

/// Tickets flowing from a category to a subcategory.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SankeyLink {
    /// Id of the category node.
    source: String,
    /// Id of the subcategory node.
    target: String,
    /// Number of tickets.
    value: u64,
    /// The category.
    category: Category,
    /// The subcategory; null for the tickets of the category with no subcategory.
    subcategory: Option<Subcategory>,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(SankeyLink);

/// Tickets created in one period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct VolumePoint {
    /// First day of the period (ISO 8601 date, UTC).
    date: NaiveDate,
    /// Number of tickets created in the period.
    count: u64,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(VolumePoint);

/// Resolution figures. Times are in hours; they are null when no ticket is resolved.
/// Percentiles are continuous: interpolated between the two nearest values.
#[derive(SimpleObject)]
pub struct Resolution {
    /// Resolved share of the tickets, 0-1 (0 when there are none).
    resolution_rate: f64,
    /// Tickets with a `resolvedAt`.
    total_resolved: u64,
    /// Tickets without a `resolvedAt`.
    total_unresolved: u64,
    /// Mean resolution time.
    average_hours: Option<f64>,
    /// Median resolution time.
    median_hours: Option<f64>,
    /// 90th percentile of resolution time.
    p90_hours: Option<f64>,
}

/// First-response figures. Times are in hours; they are null when no ticket has a
/// response. Percentiles are continuous: interpolated between the two nearest values.
#[derive(SimpleObject)]
pub struct FirstResponse {
    /// Tickets with at least one agent message.
    responded: u64,
    /// Tickets with no agent message yet.
    awaiting_response: u64,
    /// Mean time to the first agent message.
    average_hours: Option<f64>,
    /// Median time to the first agent message.
    median_hours: Option<f64>,
    /// 90th percentile of time to the first agent message.
    p90_hours: Option<f64>,
}

/// Tickets with one value of a field.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BreakdownBucket {
    /// The value; null for the tickets with no value.
    value: Option<String>,
    /// Number of tickets.
    count: u64,
    /// Share of the filtered tickets, 0-1.
    percentage: f64,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(BreakdownBucket);

/// Most frequent categories and subcategories.
#[derive(SimpleObject)]
pub struct TopCategories {
    /// Categories, largest first.
    categories: Vec<CategoryCount>,
    /// Subcategories with their category, largest first.
    subcategories: Vec<SubcategoryCount>,
}

/// Tickets of one category.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CategoryCount {
    /// The category.
    category: Category,
    /// Its display label.
    label: &'static str,
    /// Number of tickets.
    count: u64,
    /// Share of the filtered tickets, 0-1.
    percentage: f64,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(CategoryCount);

/// Tickets of one subcategory under one category.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SubcategoryCount {
    /// The subcategory.
    subcategory: Subcategory,
    /// Its display label.
    label: &'static str,
    /// The category it was recorded under.
    category: Category,
    /// Number of tickets.
    count: u64,
    /// Share of the filtered tickets, 0-1.
    percentage: f64,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(SubcategoryCount);

/// Agreement between the classifier and people.
#[derive(SimpleObject)]
pub struct CategorizationAgreement {
    /// Tickets with both an AI-generated and a human-verified category.
    compared: u64,
    /// Share of compared tickets whose categories agree, 0-1; null when none are compared.
    category_agreement_rate: Option<f64>,
    /// Share of compared tickets whose categories and subcategories both agree (two missing
    /// subcategories agree), 0-1; null when none are compared.
    subcategory_agreement_rate: Option<f64>,
    /// The most frequent disagreements, largest first.
    disagreements: Vec<Disagreement>,
    /// Tickets with an AI-generated category still awaiting a human-verified one.
    awaiting_verification: u64,
}

/// Tickets the classifier put in one category and a person in another.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Disagreement {
    /// The AI-generated category.
    ai_category: Category,
    /// The human-verified category.
    human_category: Category,
    /// Number of tickets.
    count: u64,
    #[graphql(skip)]
    drill: DrillDown,
}
drill_down!(Disagreement);
