//! The shared store: GCRA in a Lua script on Redis, so every instance on the same Redis
//! spends one budget. Each decision is one atomic round trip on Redis's own clock (`TIME`), so
//! instances whose clocks disagree still agree on the budget.
//!
//! When Redis does not answer within [`DECISION_TIMEOUT`], or answers an error, the request is
//! allowed (fail open): an outage of the limiter must not become an outage of the API. The
//! failure is counted in the metrics and logged at most once per [`WARNING_INTERVAL`]. For
//! [`REST_AFTER_FAILURE`] after a failure decisions do not ask Redis at all, so during an
//! outage one request a second pays the wait; the connection manager reconnects by itself,
//! so the limiter recovers when Redis returns.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use redis::Script;

use super::{Decision, Quota, Store};
use crate::edge::Metrics;
use crate::redis_link::{RedisLink, COMMAND_TIMEOUT};

/// The longest a decision waits on Redis before the request is let through.
pub const DECISION_TIMEOUT: Duration = COMMAND_TIMEOUT;

/// After a failure, decisions skip Redis for this long: while it is down, one request a
/// second waits to find out, not every request.
pub const REST_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// At most one warning about an unreachable Redis per this interval.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// What every key starts with.
pub const KEY_PREFIX: &str = "tg:rl:";

/// GCRA in microseconds of Redis's clock (Lua numbers are doubles: microseconds since the
/// epoch stay exact, nanoseconds would not). KEYS[1] holds the theoretical arrival time (TAT);
/// ARGV is the emission interval, the window and the cost. Returns {allowed, remaining, wait,
/// refill}: a refused request changes nothing; an allowed one moves the TAT by `cost`
/// intervals, and the key expires when the budget is whole again. A cost of 0 only reads.
/// `remaining` is what is left after an allowed request, or untouched by a refused one.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end
local next = tat + interval * cost
local ahead = next - now
if ahead > window then
  return {0, math.floor((window - (tat - now)) / interval), ahead - window, tat - now}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.max(1, math.ceil(ahead / 1000)))
end
return {1, math.floor((window - ahead) / interval), 0, ahead}
";

/// Budgets kept in Redis, shared by every instance that uses the same Redis and prefix.
pub struct RedisStore {
    link: Arc<RedisLink>,
    script: Script,
    prefix: String,
    metrics: Arc<Metrics>,
    /// When the last warning was logged.
    warned: Mutex<Option<Instant>>,
    /// Failures since the last warning.
    unlogged: AtomicU64,
    /// Whether the last decision failed, so recovery is logged once.
    failing: AtomicBool,
    /// Until when decisions skip Redis after a failure.
    resting_until: Mutex<Option<Instant>>,
}

impl RedisStore {
    /// A store on `link` (nothing is connected before the first decision), with keys under
    /// `prefix` and its failures counted in `metrics`.
    pub fn new(link: Arc<RedisLink>, prefix: &str, metrics: Arc<Metrics>) -> Self {
        Self {
            link,
            script: Script::new(GCRA),
            prefix: prefix.to_owned(),
            metrics,
            warned: Mutex::new(None),
            resting_until: Mutex::new(None),
            unlogged: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    async fn ask(&self, key: &str, quota: Quota, cost: u32) -> Result<Decision, String> {
        let interval = (quota.interval_nanos() / 1000).max(1);
        let window = interval.saturating_mul(u64::from(quota.limit()));
        let mut connection = self.link.connection().map_err(|e| e.to_string())?;
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(interval).arg(window).arg(cost);
        let answer = tokio::time::timeout(
            DECISION_TIMEOUT,
            invocation.invoke_async::<(i64, i64, i64, i64)>(&mut connection),
        )
        .await;
        let micros = |n: i64| Duration::from_micros(u64::try_from(n).unwrap_or(0));
        match answer {
            Err(_) => Err(format!("no answer within {DECISION_TIMEOUT:?}")),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok((allowed, remaining, wait, refill))) => Ok(if allowed == 1 {
                let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
                Decision::allowed(quota, remaining, micros(refill))
            } else {
                let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
                Decision::limited(quota, remaining, micros(wait), micros(refill))
            }),
        }
    }

    /// Whether a failure happened less than [`REST_AFTER_FAILURE`] ago.
    fn resting(&self) -> bool {
        self.resting_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }

    /// Counts the failure, and logs it unless another was logged within the interval.
    fn failed(&self, error: &str) {
        self.metrics.rate_limit_store_error("redis");
        self.failing.store(true, Ordering::Relaxed);
        *self
            .resting_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(Instant::now() + REST_AFTER_FAILURE);
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = warned.is_none_or(|at| at.elapsed() >= WARNING_INTERVAL);
        if !due {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *warned = Some(Instant::now());
        let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
        tracing::warn!(
            error,
            unlogged,
            "rate limit store unreachable: requests are let through uncounted"
        );
    }
}

impl Store for RedisStore {
    fn take<'a>(&'a self, key: &'a str, quota: Quota, cost: u32) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            if self.resting() {
                // Counted as a failure of the store, without waiting on it again.
                self.metrics.rate_limit_store_error("redis");
                return Decision::uncounted(quota);
            }
            match self.ask(key, quota, cost).await {
                Ok(decision) => {
                    if self.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limit store reachable again");
                    }
                    decision
                }
                Err(error) => {
                    self.failed(&error);
                    // Let it through with the whole budget shown: nothing was counted.
                    Decision::uncounted(quota)
                }
            }
        })
    }
}
