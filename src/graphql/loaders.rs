//! DataLoaders, built per request so that each one carries the caller's scope: a page of
//! tickets with users, organizations, messages and history costs one statement per kind.
//! Ticket lists and lookups prime them ahead (see [`connection`](super::connection)), so
//! their timer only serves what the look-ahead could not foresee.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{categorization_change, organization, support_ticket_message, user};
use sea_orm::DatabaseConnection;

use crate::data::{messages, tickets, users, Scope};
use crate::error::AppError;
use crate::filter::MessageFilter;

/// What every loader needs: the connection and the caller's scope.
#[derive(Clone)]
pub struct Source {
    pub db: DatabaseConnection,
    pub scope: Scope,
}

/// A loader with a per-request cache, which is what lets a list prime it ahead.
pub type Cached<T> = DataLoader<T, HashMapCache>;

fn loader<T: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(
    inner: T,
    delay: Duration,
) -> Cached<T> {
    DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default()).delay(delay)
}

/// All loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub organizations: Cached<OrganizationLoader>,
    pub messages: Cached<MessagesLoader>,
    pub history: Cached<HistoryLoader>,
    /// Drill-down lists this request may still open (see [`MAX_DRILL_DOWNS`]).
    drill_downs: std::sync::atomic::AtomicUsize,
    /// Statistics this request may run at once (see [`STATISTICS_AT_ONCE`]).
    statistics: tokio::sync::Semaphore,
}

/// Statistics one request runs at the same time, each on a pooled connection of its own: a
/// dashboard asking for all of them is answered in about the time of its slowest few, and
/// still leaves most of the pool (16 connections on PostgreSQL, 8 on SQLite) to other requests.
pub const STATISTICS_AT_ONCE: usize = 4;

/// Drill-down lists (`tickets` under a statistic) one request may open. Each is a query of
/// its own, and a volume series can have thousands of points, so the number of lists is
/// bounded here rather than by the operation's cost, which cannot know it.
pub const MAX_DRILL_DOWNS: usize = 100;

impl Loaders {
    /// `delay`: how long a loader gathers keys before it queries, for the loads nothing
    /// primed (keys of one list are queued in one poll, but the batch runs on another worker).
    pub fn new(db: DatabaseConnection, scope: Scope, delay: Duration) -> Self {
        let source = Source { db, scope };
        Self {
            users: loader(UserLoader(source.clone()), delay),
            organizations: loader(OrganizationLoader(source.clone()), delay),
            messages: loader(MessagesLoader(source.clone()), delay),
            history: loader(HistoryLoader(source), delay),
            drill_downs: std::sync::atomic::AtomicUsize::new(MAX_DRILL_DOWNS),
            statistics: tokio::sync::Semaphore::new(STATISTICS_AT_ONCE),
        }
    }

    /// Waits for one of the request's [`STATISTICS_AT_ONCE`] turns to run a statistic.
    pub async fn statistic_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        // The semaphore is never closed; should it be, the statistic is not run.
        self.statistics
            .acquire()
            .await
            .map_err(|_| AppError::Internal("the statistics semaphore is closed".into()))
    }

    /// Empties every cache: a subscription reads each event's nested levels afresh.
    pub fn forget(&self) {
        self.users.clear::<String>();
        self.organizations.clear::<String>();
        self.messages.clear::<MessagesKey>();
        self.history.clear::<String>();
    }

    /// Takes one drill-down from the request's allowance; false when none is left.
    pub fn take_drill_down(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.drill_downs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Users by id.
pub struct UserLoader(Source);

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = users::get_many(&self.0.db, &self.0.scope, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|u| (u.id.clone(), u)).collect())
    }
}

/// Organizations by id.
pub struct OrganizationLoader(Source);

impl Loader<String> for OrganizationLoader {
    type Value = organization::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = users::organizations(&self.0.db, &self.0.scope, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|o| (o.id.clone(), o)).collect())
    }
}

/// The messages of a ticket under one filter. Keys with the same filter share a statement.
pub struct MessagesLoader(Source);

/// A ticket's messages, shared: the loader's cache hands out a reference, not a copy.
pub type Messages = Arc<[Arc<support_ticket_message::Model>]>;

/// Shares a ticket's messages.
pub fn shared(list: Vec<support_ticket_message::Model>) -> Messages {
    list.into_iter().map(Arc::new).collect()
}

/// A ticket id and the filter its messages are read with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessagesKey {
    pub ticket_id: String,
    pub filter: MessageFilter,
}

impl Loader<MessagesKey> for MessagesLoader {
    type Value = Messages;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[MessagesKey],
    ) -> Result<HashMap<MessagesKey, Self::Value>, Self::Error> {
        let mut by_filter: HashMap<&MessageFilter, Vec<String>> = HashMap::new();
        for key in keys {
            by_filter
                .entry(&key.filter)
                .or_default()
                .push(key.ticket_id.clone());
        }
        let mut out = HashMap::new();
        for (filter, ids) in by_filter {
            let mut found = messages::for_tickets(&self.0.db, &self.0.scope, &ids, filter)
                .await
                .map_err(Arc::new)?;
            for id in ids {
                let list = found.remove(&id).unwrap_or_default();
                out.insert(
                    MessagesKey {
                        ticket_id: id,
                        filter: filter.clone(),
                    },
                    shared(list),
                );
            }
        }
        Ok(out)
    }
}

/// The categorization changes of a ticket, oldest first.
pub struct HistoryLoader(Source);

impl Loader<String> for HistoryLoader {
    type Value = Vec<categorization_change::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = tickets::history(&self.0.db, &self.0.scope, keys)
            .await
            .map_err(Arc::new)?;
        let mut out: HashMap<String, Self::Value> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            out.entry(row.ticket_id.clone()).or_default().push(row);
        }
        Ok(out)
    }
}

/// A loader failure as the client sees it.
pub fn loader_error(err: Arc<AppError>) -> async_graphql::Error {
    match Arc::try_unwrap(err) {
        Ok(e) => e.into_graphql(),
        Err(shared) => match shared.as_ref() {
            AppError::Unavailable => AppError::Unavailable.into_graphql(),
            AppError::TimedOut(limit) => AppError::TimedOut(*limit).into_graphql(),
            // The cause goes to the log (its debug form), not to the client.
            other => AppError::Internal(format!("{other:?}")).into_graphql(),
        },
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_request_runs_at_most_its_share_of_statistics_at_once() {
        let loaders = Loaders::new(
            DatabaseConnection::default(),
            Scope::new(crate::auth::Access::AllAreas, None),
            Duration::ZERO,
        );
        let mut held = Vec::new();
        for _ in 0..STATISTICS_AT_ONCE {
            held.push(loaders.statistic_permit().await.unwrap());
        }
        assert!(loaders.statistic_permit().now_or_never().is_none());
        held.pop();
        assert!(loaders.statistic_permit().now_or_never().is_some());
    }
}
