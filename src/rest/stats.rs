//! The statistics operations under `/support-ticket-stats/`: the filter parameters of the
//! ticket list (plus `group_by` or `limit`) into the data layer's arguments, its figures into
//! the contract's bodies.

use axum::extract::{RawQuery, State};
use axum::Json;

use super::body::{
    PriorityBreakdownBody, ResolutionBody, SankeyBody, SourceBreakdownBody, StatusBreakdownBody,
    TopCategoriesBody, VolumeBody,
};
use super::openapi::{
    Problem400BadRequestStats, Problem401Unauthorized, Problem403Forbidden,
    Problem406NotAcceptable, TicketFilterParams, TopCategoriesParams, VolumeParams,
};
use super::query::{self, clip, QueryParams};
use crate::auth::{MaybePrincipal, OAuthScope};
use crate::data::replica;
use crate::data::stats::{self, Basis, Dimension, Period, MAX_RANKED};
use crate::data::Scope;
use crate::error::{AppError, AppResult, FieldError};
use crate::filter::TicketFilter;
use crate::state::AppState;

/// `limit` of top-categories when none is given.
pub const DEFAULT_LIMIT: u64 = 10;

/// The values `group_by` takes, in the contract's spelling; the first is the default.
pub const GROUP_BY_VALUES: [&str; 3] = ["day", "week", "month"];

/// What every statistics request carries: whose tickets, which of them, and the
/// operation's own argument.
struct Selection<T> {
    scope: Scope,
    filter: TicketFilter,
    argument: T,
}

/// Checks the token (401, 403), then every parameter at once: one 400 names each bad
/// filter parameter and the operation's own argument.
fn select<T>(
    principal: MaybePrincipal,
    raw: Option<String>,
    argument: impl FnOnce(&QueryParams) -> AppResult<T>,
) -> AppResult<Selection<T>> {
    let principal = principal.required()?;
    principal.require(OAuthScope::Read)?;
    let params = QueryParams::parse(raw.as_deref());
    match (query::ticket_filter(&params), argument(&params)) {
        (Ok(filter), Ok(argument)) => Ok(Selection {
            scope: principal.scope(),
            filter,
            argument,
        }),
        (filter, argument) => {
            let mut errors = filter.err().unwrap_or_default();
            match argument {
                Err(AppError::BadInput { field_errors, .. }) => errors.extend(field_errors),
                Err(other) => return Err(other),
                Ok(_) => {}
            }
            Err(AppError::bad_fields(errors))
        }
    }
}

fn no_argument(_: &QueryParams) -> AppResult<()> {
    Ok(())
}

/// `group_by`: `day` (the default), `week` or `month`.
fn group_by(params: &QueryParams) -> AppResult<Period> {
    match params.last("group_by").map(str::trim) {
        None | Some("day") => Ok(Period::Day),
        Some("week") => Ok(Period::Week),
        Some("month") => Ok(Period::Month),
        Some(other) => Err(AppError::bad_field(
            "group_by",
            format!(
                "`{}` is not a period; expected one of {}",
                clip(other),
                GROUP_BY_VALUES.join(", ")
            ),
        )),
    }
}

/// `limit`: a whole number from 1 to [`MAX_RANKED`], 10 when absent.
fn limit(params: &QueryParams) -> AppResult<u64> {
    let Some(raw) = params.last("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) => stats::check_limit("limit", n),
        Err(_) => Err(AppError::bad_fields(vec![FieldError::new(
            "limit",
            format!(
                "`{}` is not a whole number from 1 to {MAX_RANKED}",
                clip(raw)
            ),
        )])),
    }
}

/// Get support ticket Sankey diagram data
///
/// Flows from human-verified category to human-verified subcategory of the tickets the token
/// may see that match every filter given. Only tickets with a human-verified category count;
/// those without a subcategory flow to the node `subcategory:No subcategory`, so the links out
/// of a category add up to its tickets. Links are largest first.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/sankey",
    operation_id = "get-support_ticket_stats-sankey",
    tag = "Support Tickets",
    params(TicketFilterParams),
    responses(
        (status = 200, description = "Sankey diagram nodes and links.", body = SankeyBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn sankey(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<SankeyBody>> {
    let s = select(principal, raw, no_argument)?;
    let sankey = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::sankey(db, &s.scope, Some(&s.filter))
    })
    .await?;
    Ok(Json(SankeyBody::new(sankey)))
}

/// Get support ticket volume time series
///
/// Tickets created per day, week or month (UTC; weeks start on Monday), oldest first, among
/// the tickets the token may see that match every filter given. Periods with no tickets
/// between the first and the last are listed with count 0.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/volume",
    operation_id = "get-support_ticket_stats-volume",
    tag = "Support Tickets",
    params(VolumeParams),
    responses(
        (status = 200, description = "Tickets created per period.", body = VolumeBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn volume(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<VolumeBody>> {
    let s = select(principal, raw, group_by)?;
    let points = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::volume(db, &s.scope, Some(&s.filter), s.argument, "group_by")
    })
    .await?;
    Ok(Json(VolumeBody::new(points)))
}

/// Get support ticket resolution metrics
///
/// Resolved and unresolved tickets, and the time resolving took (`resolved_at - created_at`),
/// among the tickets the token may see that match every filter given. The median is
/// continuous: interpolated between the two middle values of an even count.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/resolution",
    operation_id = "get-support_ticket_stats-resolution",
    tag = "Support Tickets",
    params(TicketFilterParams),
    responses(
        (status = 200, description = "Resolution metrics.", body = ResolutionBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn resolution(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<ResolutionBody>> {
    let s = select(principal, raw, no_argument)?;
    let resolution = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::resolution(db, &s.scope, Some(&s.filter))
    })
    .await?;
    Ok(Json(ResolutionBody::new(resolution)))
}

/// Get support ticket status breakdown
///
/// Tickets per status, largest first, among the tickets the token may see that match every
/// filter given. Tickets with no status are counted under `(none)`.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/status",
    operation_id = "get-support_ticket_stats-status",
    tag = "Support Tickets",
    params(TicketFilterParams),
    responses(
        (status = 200, description = "Tickets per status.", body = StatusBreakdownBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn status(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<StatusBreakdownBody>> {
    let s = select(principal, raw, no_argument)?;
    let buckets = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::breakdown(db, &s.scope, Some(&s.filter), Dimension::Status)
    })
    .await?;
    Ok(Json(StatusBreakdownBody::new(buckets)))
}

/// Get support ticket priority breakdown
///
/// Tickets per priority, largest first, among the tickets the token may see that match every
/// filter given. Tickets with no priority are counted under `(none)`.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/priority",
    operation_id = "get-support_ticket_stats-priority",
    tag = "Support Tickets",
    params(TicketFilterParams),
    responses(
        (status = 200, description = "Tickets per priority.", body = PriorityBreakdownBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn priority(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<PriorityBreakdownBody>> {
    let s = select(principal, raw, no_argument)?;
    let buckets = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::breakdown(db, &s.scope, Some(&s.filter), Dimension::Priority)
    })
    .await?;
    Ok(Json(PriorityBreakdownBody::new(buckets)))
}

/// Get support ticket source breakdown
///
/// Tickets per source, largest first, among the tickets the token may see that match every
/// filter given. Tickets with no source are counted under `(none)`.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/source",
    operation_id = "get-support_ticket_stats-source",
    tag = "Support Tickets",
    params(TicketFilterParams),
    responses(
        (status = 200, description = "Tickets per source.", body = SourceBreakdownBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn source(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<SourceBreakdownBody>> {
    let s = select(principal, raw, no_argument)?;
    let buckets = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::breakdown(db, &s.scope, Some(&s.filter), Dimension::Source)
    })
    .await?;
    Ok(Json(SourceBreakdownBody::new(buckets)))
}

/// Get top support ticket categories and subcategories
///
/// The most frequent human-verified categories, and subcategories with the category they were
/// recorded under, among the tickets the token may see that match every filter given.
/// `limit` applies to each list; percentages are of all those tickets. Ties are in
/// alphabetical order of value.
#[utoipa::path(
    get,
    path = "/support-ticket-stats/top-categories",
    operation_id = "get-support_ticket_stats-top-categories",
    tag = "Support Tickets",
    params(TopCategoriesParams),
    responses(
        (status = 200, description = "The most frequent categories and subcategories.", body = TopCategoriesBody),
        (status = 400, response = Problem400BadRequestStats),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn top_categories(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<TopCategoriesBody>> {
    let s = select(principal, raw, limit)?;
    let top = replica::read(state.replica.as_deref(), &state.db, |db| {
        stats::top_categories(
            db,
            &s.scope,
            Some(&s.filter),
            Basis::HumanVerified,
            s.argument,
        )
    })
    .await?;
    Ok(Json(TopCategoriesBody::new(top)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        QueryParams::parse(Some(s))
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::BadInput { field_errors, .. } => {
                field_errors.into_iter().map(|e| e.field).collect()
            }
            other => vec![format!("not bad input: {other:?}")],
        }
    }

    #[test]
    fn group_by_defaults_to_day_and_refuses_anything_else() {
        assert_eq!(group_by(&q("")).ok(), Some(Period::Day));
        assert_eq!(group_by(&q("group_by=")).ok(), Some(Period::Day));
        assert_eq!(group_by(&q("group_by=week")).ok(), Some(Period::Week));
        assert_eq!(group_by(&q("group_by=month")).ok(), Some(Period::Month));
        for bad in ["group_by=year", "group_by=DAY", "group_by=1"] {
            assert_eq!(
                fields(group_by(&q(bad)).unwrap_err()),
                ["group_by"],
                "{bad}"
            );
        }
    }

    #[test]
    fn limit_defaults_to_ten_and_takes_one_to_a_hundred() {
        assert_eq!(limit(&q("")).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(limit(&q("limit=1")).ok(), Some(1));
        assert_eq!(limit(&q("limit=%20100")).ok(), Some(100));
        for bad in ["limit=0", "limit=101", "limit=x", "limit=1.5", "limit=-3"] {
            assert_eq!(fields(limit(&q(bad)).unwrap_err()), ["limit"], "{bad}");
        }
    }
}
