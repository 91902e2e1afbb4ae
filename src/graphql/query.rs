//! The query root: tickets, nodes, categories and the viewer.

use async_graphql::{Context, MergedObject, Object, Result, ID};

use super::connection::{connection, load_ahead, page_spec, TicketConnection};
use super::fast::Fast;
use super::guard::{principal, Needs};
use super::stats::TicketStats;
use super::types::{AccessKind, Categories, Message, Node, RateLimit, Ticket, User, Viewer};
use super::{db, scope};
use crate::auth::{Access, OAuthScope};
use crate::data::tickets::{self, TicketOrder};
use crate::data::{messages, users};
use crate::filter::TicketFilter;
use crate::ids::{MessageId, TicketId, UserId};

#[derive(MergedObject, Default)]
pub struct Query(TicketQuery, MetaQuery);

#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// One ticket by id; null when it does not exist or is outside what the token may see.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Fast<Ticket>>> {
        let Ok(id) = TicketId::parse(&id) else {
            return Ok(None);
        };
        let scope = scope(ctx)?;
        let found = tickets::get(db(ctx)?, &scope, &id).await?;
        load_ahead(ctx, &scope, found.as_ref()).await?;
        Ok(found.map(|t| Fast(Ticket(t.into()))))
    }

    /// Tickets the token may see, matching `filter`, a page at a time (Relay connection).
    /// `first`/`after` page forward, `last`/`before` page backward; pages hold 1 to 100
    /// tickets (25 by default). `order` is newest first unless `CREATED_AT_ASC` is given.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
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
            let found = tickets::get(db, &scope, &id).await?;
            load_ahead(ctx, &scope, found.as_ref()).await?;
            return Ok(found.map(|t| Node::Ticket(Ticket(t.into()))));
        }
        if let Ok(id) = MessageId::parse(&id) {
            let found = messages::get_many(db, &scope, &[id.into_string()]).await?;
            return Ok(found
                .into_iter()
                .next()
                .map(|m| Node::Message(Message(m.into()))));
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

    /// The caller's GraphQL budget: what this operation costs and what is left after it.
    /// Selecting it costs nothing, so `{ rateLimit { remaining resetAt } }` looks at the
    /// budget without spending any. Null when the server sets no budget.
    async fn rate_limit(&self, ctx: &Context<'_>) -> Option<RateLimit> {
        ctx.data_opt::<RateLimit>().cloned()
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
