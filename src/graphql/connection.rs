//! Ticket lists (`tickets` and the statistics' drill-downs) and what every door that returns
//! tickets loads ahead. Before a ticket's fields resolve, the selection under it is read and
//! each nested level (messages per filter, users with their organizations, categorization
//! history) is read for all the tickets at once, one statement per level, and handed to the
//! request's DataLoaders. The child resolvers then answer from the loaders' cache at once: no
//! request waits for a batch to gather.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, InputType, Lookahead, Object, Result};
use entity::support_ticket::Model;
use entity::{organization, user};

use super::db;
use super::fast::Fast;
use super::loaders::{shared, Loaders, MessagesKey};
use super::types::{PageInfo, Ticket};
use crate::data::replica::{self, Replica};
use crate::data::tickets::{self, Columns, Cursor, PageSpec, TicketOrder};
use crate::data::{messages, users, Scope};
use crate::error::AppError;
use crate::filter::{MessageFilter, TicketFilter};

/// Default and largest page sizes of ticket lists.
pub const DEFAULT_PAGE_SIZE: i32 = 25;
pub const MAX_PAGE_SIZE: i32 = 100;

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

/// What the selection under some tickets asks for beyond their own scalar fields.
#[derive(Debug)]
pub struct Ahead {
    columns: Columns,
    /// Each distinct message filter selected (aliases may pass different ones).
    messages: Vec<MessageFilter>,
    user: bool,
    organization: bool,
    history: bool,
}

impl Ahead {
    /// Reads the selections of a ticket (`nodes`, `edges.node`, a single ticket). Fragments
    /// count wherever they are spread, whatever their type condition, so this may load more
    /// than is used, never less.
    pub fn of(selections: &[Lookahead<'_>]) -> Self {
        let mut ahead = Ahead {
            columns: Columns::NONE,
            messages: Vec::new(),
            user: false,
            organization: false,
            history: false,
        };
        for ticket in selections.iter().filter(|s| s.exists()) {
            let columns = &mut ahead.columns;
            columns.tags |= ticket.field("tags").exists();
            columns.custom_fields |= ticket.field("customFields").exists();
            columns.attributes |= ticket.field("attributes").exists();
            columns.conversation_summary |= ticket.field("conversationSummary").exists();
            for field in ticket.field("messages").selection_fields() {
                // Read as the resolver reads its argument, so that both name the same loader key.
                let filter = field.arguments().ok().and_then(|args| {
                    let value = args
                        .into_iter()
                        .find(|(name, _)| name == "filter")
                        .map(|a| a.1);
                    Option::<MessageFilter>::parse(value).ok()
                });
                // A filter that does not parse or build is the resolver's to report.
                let filter = filter.map(Option::unwrap_or_default);
                if let Some(filter) = filter.filter(|f| f.condition().is_ok()) {
                    if !ahead.messages.contains(&filter) {
                        ahead.messages.push(filter);
                    }
                }
            }
            if ticket.field("message").exists()
                && !ahead.messages.contains(&MessageFilter::default())
            {
                ahead.messages.push(MessageFilter::default());
            }
            let user = ticket.field("user");
            ahead.user |= user.exists();
            ahead.organization |= user.field("organization").exists();
            ahead.history |= ticket.field("categorizationHistory").exists();
        }
        ahead
    }

    /// The bulky ticket columns the selection reads.
    pub fn columns(&self) -> Columns {
        self.columns
    }

    /// Whether the tickets' users are selected: a page then reads them in its own statement.
    pub fn owners(&self) -> bool {
        self.user
    }

    /// Reads every selected level for `tickets` and primes the request's loaders with it.
    /// The levels are independent, so their statements run concurrently.
    pub async fn load(&self, ctx: &Context<'_>, scope: &Scope, tickets: &[Model]) -> Result<()> {
        self.load_with(ctx, scope, tickets, None).await
    }

    /// [`load`](Self::load), for tickets read with their `owners` (users and organizations)
    /// already, when they were.
    async fn load_with(
        &self,
        ctx: &Context<'_>,
        scope: &Scope,
        tickets: &[Model],
        owners: Option<Vec<(user::Model, Option<organization::Model>)>>,
    ) -> Result<()> {
        if tickets.is_empty() {
            return Ok(());
        }
        let db = db(ctx)?;
        let loaders = ctx.data::<Loaders>()?;
        let ids: Vec<String> = tickets.iter().map(|t| t.id.clone()).collect();
        let load_messages = async {
            for filter in &self.messages {
                let mut found = messages::for_tickets(db, scope, &ids, filter).await?;
                let entries = ids.iter().map(|id| {
                    let key = MessagesKey {
                        ticket_id: id.clone(),
                        filter: filter.clone(),
                    };
                    (key, shared(found.remove(id).unwrap_or_default()))
                });
                loaders.messages.feed_many(entries).await;
            }
            Ok::<_, AppError>(())
        };
        let load_users = async {
            if !self.user {
                return Ok(());
            }
            let user_ids = || {
                let mut ids: Vec<String> =
                    tickets.iter().filter_map(|t| t.user_id.clone()).collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            };
            if self.organization || owners.is_some() {
                let found = match owners {
                    Some(found) => found,
                    None => users::get_many_with_organizations(db, scope, &user_ids()).await?,
                };
                let orgs: Vec<_> = found
                    .iter()
                    .filter_map(|(_, o)| o.clone().map(|o| (o.id.clone(), o)))
                    .collect();
                loaders.organizations.feed_many(orgs).await;
                loaders
                    .users
                    .feed_many(found.into_iter().map(|(u, _)| (u.id.clone(), u)))
                    .await;
            } else {
                let found = users::get_many(db, scope, &user_ids()).await?;
                loaders
                    .users
                    .feed_many(found.into_iter().map(|u| (u.id.clone(), u)))
                    .await;
            }
            Ok(())
        };
        let load_history = async {
            if !self.history {
                return Ok(());
            }
            let mut by_ticket: HashMap<String, Vec<_>> =
                ids.iter().map(|id| (id.clone(), Vec::new())).collect();
            for change in tickets::history(db, scope, &ids).await? {
                by_ticket
                    .entry(change.ticket_id.clone())
                    .or_default()
                    .push(change);
            }
            loaders.history.feed_many(by_ticket).await;
            Ok(())
        };
        futures::try_join!(load_messages, load_users, load_history)?;
        Ok(())
    }
}

/// Reads one page of the tickets in scope matching `filter`, with what its selection nests.
pub async fn connection(
    ctx: &Context<'_>,
    scope: Scope,
    filter: Option<TicketFilter>,
    spec: &PageSpec,
) -> Result<TicketConnection> {
    let look = ctx.look_ahead();
    let ahead = Ahead::of(&[look.field("nodes"), look.field("edges").field("node")]);
    let page = tickets::page(
        db(ctx)?,
        &scope,
        filter.as_ref(),
        spec,
        ahead.columns(),
        ahead.owners(),
    )
    .await?;
    ahead
        .load_with(ctx, &scope, &page.tickets, page.owners)
        .await?;
    Ok(TicketConnection {
        tickets: page.tickets.into_iter().map(Arc::new).collect(),
        has_next: page.has_next,
        has_previous: page.has_previous,
        scope,
        filter,
        counts_with_statistics: false,
    })
}

/// Loads ahead what the selection of the current field (a single ticket) nests under it.
pub async fn load_ahead(ctx: &Context<'_>, scope: &Scope, ticket: Option<&Model>) -> Result<()> {
    match ticket {
        Some(ticket) => {
            Ahead::of(&[ctx.look_ahead()])
                .load(ctx, scope, std::slice::from_ref(ticket))
                .await
        }
        None => Ok(()),
    }
}

/// A page of tickets.
pub struct TicketConnection {
    /// The page's rows, shared with the `Ticket` objects made of them.
    tickets: Vec<Arc<Model>>,
    has_next: bool,
    has_previous: bool,
    scope: Scope,
    filter: Option<TicketFilter>,
    /// Whether `totalCount` is a statistic's drill-down count, read where statistics are.
    counts_with_statistics: bool,
}

impl TicketConnection {
    /// This connection as the drill-down of a statistic.
    pub fn drilling_down(mut self) -> Self {
        self.counts_with_statistics = true;
        self
    }
}

/// A ticket and its position in the list.
pub struct TicketEdge {
    node: Arc<Model>,
}

#[Object(serial)]
impl TicketEdge {
    /// Pass as `after` or `before` to page from this ticket.
    async fn cursor(&self) -> String {
        Cursor::of(&self.node).encode()
    }

    /// The ticket.
    async fn node(&self) -> Fast<Ticket> {
        Fast(Ticket(Arc::clone(&self.node)))
    }
}

#[Object]
impl TicketConnection {
    /// The tickets of this page with their cursors.
    async fn edges(&self) -> Vec<TicketEdge> {
        self.tickets
            .iter()
            .map(|t| TicketEdge {
                node: Arc::clone(t),
            })
            .collect()
    }

    /// The tickets of this page.
    async fn nodes(&self) -> Vec<Fast<Ticket>> {
        self.tickets
            .iter()
            .map(|t| Fast(Ticket(Arc::clone(t))))
            .collect()
    }

    /// Where this page sits in the whole list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next,
            has_previous_page: self.has_previous,
            start_cursor: self.tickets.first().map(|t| Cursor::of(t).encode()),
            end_cursor: self.tickets.last().map(|t| Cursor::of(t).encode()),
        }
    }

    /// How many tickets match the filter in all pages (one COUNT, run only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let count = |db| tickets::count(db, &self.scope, self.filter.as_ref());
        if !self.counts_with_statistics {
            return Ok(count(db(ctx)?).await?);
        }
        let replica = ctx.data_opt::<Arc<Replica>>().map(|r| &**r);
        Ok(replica::read(replica, db(ctx)?, count).await?)
    }
}
