//! The query root: tickets, nodes, categories and the viewer.

use async_graphql::{Context, MergedObject, Object, Result, ID};

use super::guard::{principal, Needs};
use super::stats::TicketStats;
use super::types::{AccessKind, Categories, Message, Node, PageInfo, Ticket, User, Viewer};
use super::{db, scope};
use crate::auth::{Access, OAuthScope};
use crate::data::tickets::{self, Cursor, PageSpec, TicketOrder};
use crate::data::{messages, users, Scope};
use crate::error::AppError;
use crate::filter::TicketFilter;
use crate::ids::{MessageId, TicketId, UserId};

/// Default and largest page sizes of ticket lists.
pub const DEFAULT_PAGE_SIZE: i32 = 25;
pub const MAX_PAGE_SIZE: i32 = 100;

#[derive(MergedObject, Default)]
pub struct Query(TicketQuery, MetaQuery);

#[derive(Default)]
pub struct TicketQuery;

/// Relay pagination arguments into a page request, or BAD_USER_INPUT.
pub fn page_spec(
    order: TicketOrder,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageSpec, AppError> {
    if first.is_some() && last.is_some() {
        return Err(AppError::bad_input("Pass `first` or `last`, not both."));
    }
    let size = |name: &str, n: i32| {
        if (1..=MAX_PAGE_SIZE).contains(&n) {
            Ok(n as u64)
        } else {
            Err(AppError::bad_field(
                name,
                format!("must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
            ))
        }
    };
    let cursor = |name: &str, value: Option<String>| match value {
        None => Ok(None),
        Some(v) => Cursor::decode(&v)
            .map(Some)
            .ok_or_else(|| AppError::bad_field(name, "is not a cursor of this list")),
    };
    let after = cursor("after", after)?;
    let before = cursor("before", before)?;
    let (limit, from_end) = match (first, last) {
        (_, Some(n)) => (size("last", n)?, true),
        (Some(n), None) => (size("first", n)?, false),
        (None, None) => (DEFAULT_PAGE_SIZE as u64, false),
    };
    Ok(PageSpec {
        order,
        after,
        before,
        limit,
        from_end,
    })
}

#[Object]
impl TicketQuery {
    /// One ticket by id; null when it does not exist or is outside what the token may see.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Ticket>> {
        let Ok(id) = TicketId::parse(&id) else {
            return Ok(None);
        };
        Ok(tickets::get(db(ctx)?, &scope(ctx)?, &id).await?.map(Ticket))
    }

    /// Tickets the token may see, matching `filter`, a page at a time (Relay connection).
    /// `first`/`after` page forward, `last`/`before` page backward; pages hold 1 to 100
    /// tickets (25 by default). `order` is newest first unless `CREATED_AT_ASC` is given.
    #[graphql(
        guard = "Needs(OAuthScope::Read)",
        complexity = "(first.or(last).unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilter>,
        #[graphql(default)] order: TicketOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TicketConnection> {
        let spec = page_spec(order, first, after, last, before)?;
        connection(ctx, scope(ctx)?, filter, &spec).await
    }

    /// Statistics over the tickets the token may see that match `filter` (the same filter
    /// as `tickets`). Each figure is computed by the database when it is asked for.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn stats(&self, ctx: &Context<'_>, filter: Option<TicketFilter>) -> Result<TicketStats> {
        // A bad filter is reported once, here, rather than by every figure below.
        if let Some(f) = &filter {
            f.condition(db(ctx)?.get_database_backend())?;
        }
        Ok(TicketStats::new(scope(ctx)?, filter))
    }

    /// Any ticket (`tick…`), message (`tmsg…`) or user (`user…`) by global id; null when it
    /// does not exist or is outside what the token may see.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let db = db(ctx)?;
        let scope = scope(ctx)?;
        if let Ok(id) = TicketId::parse(&id) {
            return Ok(tickets::get(db, &scope, &id)
                .await?
                .map(|t| Node::Ticket(Ticket(t))));
        }
        if let Ok(id) = MessageId::parse(&id) {
            let found = messages::get_many(db, &scope, &[id.into_string()]).await?;
            return Ok(found.into_iter().next().map(|m| Node::Message(Message(m))));
        }
        if let Ok(id) = UserId::parse(&id) {
            let found = users::get_many(db, &scope, &[id.into_string()]).await?;
            return Ok(found.into_iter().next().map(|u| Node::User(User(u))));
        }
        Ok(None)
    }
}

#[derive(Default)]
pub struct MetaQuery;

#[Object]
impl MetaQuery {
    /// Every category and subcategory, with display labels. Needs no token.
    async fn categories(&self) -> Categories {
        Categories::all()
    }

    /// What the calling token may see and do.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let p = principal(ctx)?;
        let (access, access_id) = match &p.access {
            Access::User(id) => (AccessKind::User, Some(ID(id.to_string()))),
            Access::Org(id) => (AccessKind::Organization, Some(ID(id.to_string()))),
            Access::AllAreas => (AccessKind::AllAreas, None),
        };
        Ok(Viewer {
            access,
            access_id,
            acting_user_id: p.acting_user.as_ref().map(|u| ID(u.to_string())),
            oauth_scopes: p.oauth_scopes.clone(),
            can_read: p.has(OAuthScope::Read),
            can_write: p.has(OAuthScope::Write),
        })
    }
}

/// Reads one page of the tickets in scope matching `filter`.
pub(super) async fn connection(
    ctx: &Context<'_>,
    scope: Scope,
    filter: Option<TicketFilter>,
    spec: &PageSpec,
) -> Result<TicketConnection> {
    let page = tickets::page(db(ctx)?, &scope, filter.as_ref(), spec).await?;
    Ok(TicketConnection {
        page,
        scope,
        filter,
    })
}

/// A page of tickets.
pub struct TicketConnection {
    page: tickets::TicketPage,
    scope: Scope,
    filter: Option<TicketFilter>,
}

/// A ticket and its position in the list.
pub struct TicketEdge {
    node: entity::support_ticket::Model,
}

#[Object]
impl TicketEdge {
    /// Pass as `after` or `before` to page from this ticket.
    async fn cursor(&self) -> String {
        Cursor::of(&self.node).encode()
    }

    /// The ticket.
    async fn node(&self) -> Ticket {
        Ticket(self.node.clone())
    }
}

#[Object]
impl TicketConnection {
    /// The tickets of this page with their cursors.
    async fn edges(&self) -> Vec<TicketEdge> {
        self.page
            .tickets
            .iter()
            .map(|t| TicketEdge { node: t.clone() })
            .collect()
    }

    /// The tickets of this page.
    async fn nodes(&self) -> Vec<Ticket> {
        self.page.tickets.iter().cloned().map(Ticket).collect()
    }

    /// Where this page sits in the whole list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            has_previous_page: self.page.has_previous,
            start_cursor: self.page.tickets.first().map(|t| Cursor::of(t).encode()),
            end_cursor: self.page.tickets.last().map(|t| Cursor::of(t).encode()),
        }
    }

    /// How many tickets match the filter in all pages (one COUNT, run only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(tickets::count(db(ctx)?, &self.scope, self.filter.as_ref()).await?)
    }
}
