//! Rate limits: each client gets a budget of requests per endpoint per hour, refilled
//! smoothly (GCRA), kept by a [`Store`]. The doors know nothing of it: [`rest`] is the
//! middleware in front of the `/v2` router.

mod clock;
mod memory;
mod redis_store;
mod rest;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

pub use clock::{Clock, ManualClock, SystemClock};
pub use memory::{gcra, MemoryStore};
pub use redis_store::{RedisStore, DECISION_TIMEOUT, KEY_PREFIX};
pub use rest::rest;
pub use rest::{client_address, client_of};

/// The window every budget is counted over.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// How many requests a key may make per [`WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    limit: u32,
}

impl Quota {
    /// `limit` requests per hour (at least one).
    pub fn per_hour(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
        }
    }

    /// The requests allowed per hour.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// Time for one request to come back to the budget.
    fn interval_nanos(self) -> u64 {
        let window = u64::try_from(WINDOW.as_nanos()).unwrap_or(u64::MAX);
        (window / u64::from(self.limit)).max(1)
    }

    /// The whole budget in time: `limit` intervals (an hour, give or take rounding).
    fn window_nanos(self) -> u64 {
        self.interval_nanos().saturating_mul(u64::from(self.limit))
    }
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    allowed: bool,
    /// The budget's size.
    pub limit: u32,
    /// Units left now: after this request when it passed, untouched when it was refused.
    pub remaining: u32,
    /// Whole seconds until a request would pass; 0 when this one did.
    pub retry_after_secs: u64,
    /// Time until the whole budget is back.
    pub refill_after: Duration,
}

impl Decision {
    fn allowed(quota: Quota, remaining: u32, refill_after: Duration) -> Self {
        Self {
            allowed: true,
            limit: quota.limit,
            remaining,
            retry_after_secs: 0,
            refill_after,
        }
    }

    /// A refusal: `remaining` units are left, fewer than asked for; `wait` is rounded up, so
    /// that a client waiting that long is let through.
    fn limited(quota: Quota, remaining: u32, wait: Duration, refill_after: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            allowed: false,
            limit: quota.limit,
            remaining,
            retry_after_secs: secs.max(1),
            refill_after,
        }
    }

    /// What a store that could not decide answers: the request passes, uncounted.
    fn uncounted(quota: Quota) -> Self {
        Self::allowed(quota, quota.limit, Duration::ZERO)
    }

    /// Whether the request may go on.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }
}

/// Where budgets are kept: in this process, or shared between instances in Redis.
pub trait Store: Send + Sync {
    /// Takes `cost` units from the budget of `key` if that many are left; a cost of 0 only
    /// reads the budget.
    fn take<'a>(&'a self, key: &'a str, quota: Quota, cost: u32) -> BoxFuture<'a, Decision>;
}

/// The limiter of one server: a store, and the budgets of each door (`None`: no limit).
#[derive(Clone)]
pub struct Limiter {
    store: Arc<dyn Store>,
    rest: Option<Quota>,
    graphql: Option<Quota>,
}

/// The budgets of a server: REST requests per client and operation, and GraphQL points
/// per client, each per hour; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub rest_per_hour: u32,
    pub graphql_points_per_hour: u32,
}

impl Limiter {
    /// `budgets` kept in this process, on `clock`.
    pub fn in_process(budgets: Budgets, clock: Arc<dyn Clock>) -> Self {
        Self::over(Arc::new(MemoryStore::new(clock)), budgets)
    }

    /// `budgets` kept in `store`.
    pub fn over(store: Arc<dyn Store>, budgets: Budgets) -> Self {
        let quota = |per_hour: u32| (per_hour > 0).then(|| Quota::per_hour(per_hour));
        Self {
            store,
            rest: quota(budgets.rest_per_hour),
            graphql: quota(budgets.graphql_points_per_hour),
        }
    }

    /// Takes one request of `client`'s budget for the REST `endpoint`; `None` when REST
    /// requests are not limited.
    pub async fn check(&self, client: &Client, endpoint: &str) -> Option<Decision> {
        let quota = self.rest?;
        let key = format!("{endpoint}\n{client}");
        Some(self.store.take(&key, quota, 1).await)
    }

    /// Takes `points` of `client`'s GraphQL budget (0 only reads it); `None` when GraphQL
    /// is not limited.
    pub async fn spend(&self, client: &Client, points: u32) -> Option<Decision> {
        let quota = self.graphql?;
        let key = format!("graphql\n{client}");
        Some(self.store.take(&key, quota, points).await)
    }

    /// The GraphQL budget's size, when there is one.
    pub fn graphql_points(&self) -> Option<u32> {
        self.graphql.map(Quota::limit)
    }
}

/// Who a budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// The client id of a valid token that has one.
    ClientId(String),
    /// The subject of a valid token without a client id.
    Subject(String),
    /// The remote address of a request without a valid token.
    Address(String),
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Prefixed, so that no identity of one kind can take the budget of another kind.
        match self {
            Self::ClientId(id) => write!(f, "client:{id}"),
            Self::Subject(sub) => write!(f, "sub:{sub}"),
            Self::Address(addr) => write!(f, "addr:{addr}"),
        }
    }
}
