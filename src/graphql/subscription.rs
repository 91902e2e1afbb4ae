//! The subscription root: tickets and messages as they change, in the subscriber's scope.
//!
//! Each subscription takes the server's changes (see [`crate::live`]) in bursts: all that
//! arrived since it last looked, up to [`BURST`]. For each burst it reads the changed rows
//! afresh with one statement in its own scope and filter, so whether a subscriber hears of a
//! change is decided in SQL at the time of the change, never from the notification.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result, Subscription as SubscriptionRoot, ID};
use entity::support_ticket;
use futures::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use super::connection::load_ahead;
use super::fast::Fast;
use super::guard::Needs;
use super::types::{Message, Ticket};
use super::{db, scope, Loaders};
use crate::auth::OAuthScope;
use crate::data::changes::{Change, ChangeKind};
use crate::data::{messages, tickets, Scope};
use crate::edge::Metrics;
use crate::error::{AppError, AppResult};
use crate::filter::{MessageFilter, TicketFilter};
use crate::ids::TicketId;
use crate::live::Changes;

/// Changes one subscription reads with one statement at most.
pub const BURST: usize = 256;

#[derive(Default)]
pub struct Subscription;

/// What happened to a ticket.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketChangeKind {
    /// The ticket was created.
    Created,
    /// Its categorization changed; its `version` went up.
    Categorized,
    /// Another of its fields changed (status, subject, tags, dates, ...).
    Updated,
}

pub struct TicketChange {
    kind: TicketChangeKind,
    ticket: Arc<support_ticket::Model>,
}

/// A ticket that changed, as it is now.
#[Object]
impl TicketChange {
    /// What happened.
    async fn kind(&self) -> TicketChangeKind {
        self.kind
    }

    /// The ticket's version as read for this event. Delivery is at least once: an event
    /// seen twice carries the same version and the same ticket.
    async fn version(&self) -> i64 {
        self.ticket.version
    }

    /// The ticket as it is now; select nested fields as in any query.
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Fast<Ticket>> {
        // Nested levels are read for this event, not from an earlier event's cache.
        if let Ok(loaders) = ctx.data::<Loaders>() {
            loaders.forget();
        }
        load_ahead(ctx, &scope(ctx)?, Some(&self.ticket)).await?;
        Ok(Fast(Ticket(self.ticket.clone())))
    }
}

/// Told when a subscription of a connection fell behind, so that the transport closes it.
#[derive(Clone)]
pub struct Overrun(pub tokio::sync::mpsc::UnboundedSender<u64>);

/// Counts a subscription as active while it lives.
struct Active(Option<Arc<Metrics>>);

impl Active {
    fn new(metrics: Option<Arc<Metrics>>) -> Self {
        if let Some(m) = &metrics {
            m.subscriptions_active(1.0);
        }
        Self(metrics)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(m) = &self.0 {
            m.subscriptions_active(-1.0);
        }
    }
}

/// One subscriber's view of the hub: its receiver, its scope, and what it still has to send.
struct Feed<T> {
    changes: broadcast::Receiver<Arc<Change>>,
    db: DatabaseConnection,
    scope: Scope,
    pending: VecDeque<T>,
    overrun: Option<Overrun>,
    field: &'static str,
    active: Active,
    ended: bool,
}

impl<T> Feed<T> {
    fn new(ctx: &Context<'_>, field: &'static str) -> Result<Self> {
        let hub = ctx.data::<Arc<Changes>>()?;
        let metrics = ctx.data_opt::<Arc<Metrics>>().cloned();
        Ok(Self {
            changes: hub.subscribe(),
            db: db(ctx)?.clone(),
            scope: scope(ctx)?,
            pending: VecDeque::new(),
            overrun: ctx.data_opt::<Overrun>().cloned(),
            field,
            active: Active::new(metrics),
            ended: false,
        })
    }

    /// The next burst of changes (see [`burst`]).
    async fn burst(&mut self) -> AppResult<Option<Vec<Arc<Change>>>> {
        match burst(&mut self.changes).await {
            Ok(burst) => Ok(burst),
            Err(missed) => Err(self.overrun(missed)),
        }
    }

    fn overrun(&mut self, missed: u64) -> AppError {
        if let Some(m) = &self.active.0 {
            m.subscription_events_dropped("slow_consumer", missed);
        }
        if let Some(o) = &self.overrun {
            let _ = o.0.send(missed);
        }
        AppError::SlowConsumer(missed)
    }

    /// Turns the feed into a stream of items, each burst read by `read` (a statement in the
    /// subscriber's scope). The stream ends after an error: a subscriber that fell behind
    /// must subscribe again and refetch.
    fn into_stream<F, Fut>(self, read: F) -> impl Stream<Item = Result<T>>
    where
        T: Send + 'static,
        F: Fn(DatabaseConnection, Scope, Vec<Arc<Change>>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = AppResult<Vec<T>>> + Send,
    {
        futures::stream::unfold((self, read), |(mut feed, read)| async move {
            loop {
                if let Some(item) = feed.pending.pop_front() {
                    if let Some(m) = &feed.active.0 {
                        m.subscription_events_delivered(feed.field, 1);
                    }
                    return Some((Ok(item), (feed, read)));
                }
                if feed.ended {
                    return None;
                }
                let burst = match feed.burst().await {
                    Ok(Some(burst)) => burst,
                    Ok(None) => return None,
                    Err(e) => {
                        feed.ended = true;
                        return Some((Err(e.into()), (feed, read)));
                    }
                };
                match read(feed.db.clone(), feed.scope.clone(), burst).await {
                    Ok(items) => feed.pending.extend(items),
                    Err(e) => {
                        feed.ended = true;
                        return Some((Err(e.into()), (feed, read)));
                    }
                }
            }
        })
    }
}

/// Waits for a change, then takes what else is already there, up to [`BURST`]; `None` when
/// the hub is gone, and how many changes were missed when the receiver fell behind.
async fn burst(
    changes: &mut broadcast::Receiver<Arc<Change>>,
) -> Result<Option<Vec<Arc<Change>>>, u64> {
    let first = match changes.recv().await {
        Ok(change) => change,
        Err(RecvError::Closed) => return Ok(None),
        Err(RecvError::Lagged(missed)) => return Err(missed),
    };
    let mut burst = vec![first];
    while burst.len() < BURST {
        match changes.try_recv() {
            Ok(change) => burst.push(change),
            Err(TryRecvError::Lagged(missed)) => return Err(missed),
            Err(_) => break,
        }
    }
    Ok(Some(burst))
}

/// The tickets of a burst the subscriber may see, each once, with the last thing that
/// happened to it (a ticket created in the burst stays CREATED).
async fn ticket_changes(
    db: DatabaseConnection,
    scope: Scope,
    filter: Option<TicketFilter>,
    burst: Vec<Arc<Change>>,
) -> AppResult<Vec<TicketChange>> {
    let mut order: Vec<String> = Vec::new();
    let mut kinds: HashMap<String, TicketChangeKind> = HashMap::new();
    for change in &burst {
        let kind = match change.kind {
            ChangeKind::Created => TicketChangeKind::Created,
            ChangeKind::Categorized => TicketChangeKind::Categorized,
            ChangeKind::Updated => TicketChangeKind::Updated,
            ChangeKind::MessageAdded => continue,
        };
        match kinds.get_mut(&change.ticket_id) {
            Some(TicketChangeKind::Created) => {}
            Some(known) => *known = kind,
            None => {
                order.push(change.ticket_id.clone());
                kinds.insert(change.ticket_id.clone(), kind);
            }
        }
    }
    if order.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: HashMap<String, support_ticket::Model> =
        tickets::among(&db, &scope, filter.as_ref(), &order)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let kind = *kinds.get(&id)?;
            let ticket = found.remove(&id)?;
            Some(TicketChange {
                kind,
                ticket: Arc::new(ticket),
            })
        })
        .collect())
}

/// The messages of a burst the subscriber may see, in the order they were written.
async fn added_messages(
    db: DatabaseConnection,
    scope: Scope,
    ticket: Option<String>,
    filter: MessageFilter,
    burst: Vec<Arc<Change>>,
) -> AppResult<Vec<Message>> {
    let ids: Vec<String> = burst
        .iter()
        .filter(|c| c.kind == ChangeKind::MessageAdded)
        .filter(|c| ticket.as_deref().is_none_or(|t| t == c.ticket_id))
        .filter_map(|c| c.message_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        messages::among(&db, &scope, ticket.as_deref(), &filter, &ids)
            .await?
            .into_iter()
            .map(|m| Message(Arc::new(m)))
            .collect(),
    )
}

/// Live changes, over a WebSocket on `/graphql` (graphql-transport-ws).
#[SubscriptionRoot]
impl Subscription {
    /// Tickets as they are created, categorized or otherwise updated, among those the token
    /// may see that match `filter`. Scope and filter are checked when each change happens:
    /// a ticket that leaves them stops producing events. Delivery is at least once.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn ticket_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilter>,
    ) -> Result<impl Stream<Item = Result<TicketChange>>> {
        if let Some(f) = &filter {
            f.condition(db(ctx)?.get_database_backend())?;
        }
        let feed = Feed::new(ctx, "ticketChanged")?;
        Ok(feed
            .into_stream(move |db, scope, burst| ticket_changes(db, scope, filter.clone(), burst)))
    }

    /// Messages as they are added to tickets the token may see: to the ticket `ticketId`
    /// only when given (NOT_FOUND when the token may not see it), matching `filter`.
    #[graphql(guard = "Needs(OAuthScope::Read)")]
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        ticket_id: Option<ID>,
        filter: Option<MessageFilter>,
    ) -> Result<impl Stream<Item = Result<Message>>> {
        let filter = filter.unwrap_or_default();
        filter.condition()?;
        let ticket = match ticket_id {
            Some(id) => {
                let id = TicketId::parse(&id).map_err(|_| AppError::NotFound)?;
                tickets::get(db(ctx)?, &scope(ctx)?, &id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                Some(id.to_string())
            }
            None => None,
        };
        let feed = Feed::new(ctx, "messageAdded")?;
        Ok(feed.into_stream(move |db, scope, burst| {
            added_messages(db, scope, ticket.clone(), filter.clone(), burst)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64) -> Arc<Change> {
        Arc::new(Change {
            seq,
            kind: ChangeKind::Updated,
            ticket_id: format!("tick{seq}"),
            message_id: None,
            version: Some(1),
        })
    }

    #[tokio::test]
    async fn a_burst_takes_what_is_waiting_and_a_receiver_that_fell_behind_is_told_by_how_much() {
        let (sender, mut receiver) = broadcast::channel(4);
        for seq in 1..=3 {
            sender.send(change(seq)).expect("a receiver");
        }
        let taken = burst(&mut receiver)
            .await
            .expect("not behind")
            .expect("open");
        assert_eq!(
            taken.iter().map(|c| c.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );

        for seq in 4..=10 {
            sender.send(change(seq)).expect("a receiver");
        }
        assert_eq!(burst(&mut receiver).await, Err(3), "7 sent into 4 places");
        let kept = burst(&mut receiver)
            .await
            .expect("caught up")
            .expect("open");
        assert_eq!(
            kept.iter().map(|c| c.seq).collect::<Vec<_>>(),
            vec![7, 8, 9, 10]
        );

        drop(sender);
        assert_eq!(burst(&mut receiver).await, Ok(None));
    }

    #[tokio::test]
    async fn a_burst_is_at_most_burst_long() {
        let (sender, mut receiver) = broadcast::channel(BURST * 2);
        for seq in 0..(BURST as i64 + 5) {
            sender.send(change(seq)).expect("a receiver");
        }
        assert_eq!(
            burst(&mut receiver).await.expect("ok").expect("open").len(),
            BURST
        );
        assert_eq!(
            burst(&mut receiver).await.expect("ok").expect("open").len(),
            5
        );
    }
}
