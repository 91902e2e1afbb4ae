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
    /// Requests that would pass now, after this one.
    pub remaining: u32,
    /// Whole seconds until a request would pass; 0 when this one did.
    pub retry_after_secs: u64,
}

impl Decision {
    fn allowed(quota: Quota, remaining: u32) -> Self {
        Self {
            allowed: true,
            limit: quota.limit,
            remaining,
            retry_after_secs: 0,
        }
    }

    /// Rounded up, so that a client waiting that long is let through.
    fn limited(quota: Quota, wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            allowed: false,
            limit: quota.limit,
            remaining: 0,
            retry_after_secs: secs.max(1),
        }
    }

    /// Whether the request may go on.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }
}

/// Where budgets are kept: in this process, or shared between instances in Redis.
pub trait Store: Send + Sync {
    /// Takes one request from the budget of `key`, if there is one left.
    fn take<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Decision>;
}

/// The limiter of one server: a store and the configured budget.
#[derive(Clone)]
pub struct Limiter {
    store: Arc<dyn Store>,
    quota: Quota,
}

impl Limiter {
    /// Budgets of `per_hour` requests kept in this process, on `clock`.
    pub fn in_process(per_hour: u32, clock: Arc<dyn Clock>) -> Self {
        Self::over(Arc::new(MemoryStore::new(clock)), per_hour)
    }

    /// Budgets of `per_hour` requests kept in `store`.
    pub fn over(store: Arc<dyn Store>, per_hour: u32) -> Self {
        Self {
            store,
            quota: Quota::per_hour(per_hour),
        }
    }

    /// Takes one request of `client`'s budget for `endpoint`.
    pub async fn check(&self, client: &Client, endpoint: &str) -> Decision {
        let key = format!("{endpoint}\n{client}");
        self.store.take(&key, self.quota).await
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
