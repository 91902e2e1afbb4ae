//! The in-process store: GCRA over a sharded map of theoretical arrival times.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

use super::clock::Clock;
use super::{Decision, Quota, Store};

/// Shards of the map, so that concurrent requests rarely wait on one another's lock.
const SHARDS: usize = 16;

/// Budgets kept in this process: each instance of the gateway counts on its own.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    /// Key -> theoretical arrival time (nanoseconds on the store's clock).
    tats: HashMap<String, u64>,
    /// When expired keys are next dropped.
    next_sweep: u64,
}

impl MemoryStore {
    /// An empty store on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// The GCRA step for `key` at the clock's present, taking `cost` units (0 only looks).
    pub fn take_now(&self, key: &str, quota: Quota, cost: u32) -> Decision {
        let now = nanos(self.clock.now());
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        // A poisoned lock only means another request panicked mid-update: the map is
        // still a valid map of instants.
        let mut shard = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = quota.window_nanos();
        if now >= shard.next_sweep {
            // A key whose arrival time has passed has its whole budget back: it is the
            // same as no key, so dropping it forgets nothing.
            shard.tats.retain(|_, tat| *tat > now);
            shard.next_sweep = now.saturating_add(window);
        }
        let stored = shard.tats.get(key).copied();
        let (decision, tat) = gcra(stored, now, quota, cost);
        if let Some(tat) = tat.filter(|_| cost > 0) {
            match shard.tats.get_mut(key) {
                Some(slot) => *slot = tat,
                None => {
                    shard.tats.insert(key.to_owned(), tat);
                }
            }
        }
        decision
    }
}

impl Store for MemoryStore {
    fn take<'a>(&'a self, key: &'a str, quota: Quota, cost: u32) -> BoxFuture<'a, Decision> {
        Box::pin(std::future::ready(self.take_now(key, quota, cost)))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The generic cell rate algorithm: a request of `cost` units moves the key's theoretical
/// arrival time (TAT) `cost` emission intervals ahead of `max(TAT, now)`; a request that
/// would put it more than the whole window ahead of now is refused and changes nothing. The
/// budget refills continuously, one unit per interval, rather than all at once. A cost of 0
/// only reads the budget.
///
/// Returns the decision and the new TAT to store (none when refused).
pub fn gcra(stored: Option<u64>, now: u64, quota: Quota, cost: u32) -> (Decision, Option<u64>) {
    let interval = quota.interval_nanos();
    let window = quota.window_nanos();
    let tat = stored.unwrap_or(now).max(now);
    let next = tat.saturating_add(interval.saturating_mul(u64::from(cost)));
    let ahead = next - now;
    if ahead > window {
        let wait = Duration::from_nanos(ahead - window);
        let refill = tat - now;
        let left = u32::try_from(window.saturating_sub(refill) / interval).unwrap_or(u32::MAX);
        return (
            Decision::limited(quota, left, wait, Duration::from_nanos(refill)),
            None,
        );
    }
    let remaining = (window - ahead) / interval;
    (
        Decision::allowed(
            quota,
            u32::try_from(remaining).unwrap_or(u32::MAX),
            Duration::from_nanos(ahead),
        ),
        Some(next),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::clock::ManualClock;

    const HOUR: Duration = Duration::from_secs(3600);

    fn store() -> (Arc<ManualClock>, MemoryStore) {
        let clock = Arc::new(ManualClock::new());
        (clock.clone(), MemoryStore::new(clock))
    }

    #[test]
    fn a_full_budget_is_spent_one_request_at_a_time_then_refused() {
        let (_, store) = store();
        let quota = Quota::per_hour(3);
        let remaining: Vec<Option<u32>> = (0..4)
            .map(|_| store.take_now("k", quota, 1))
            .map(|d| d.is_allowed().then_some(d.remaining))
            .collect();
        assert_eq!(remaining, [Some(2), Some(1), Some(0), None]);
    }

    #[test]
    fn a_refusal_says_how_long_until_the_next_request_passes() {
        let (clock, store) = store();
        let quota = Quota::per_hour(3);
        for _ in 0..3 {
            store.take_now("k", quota, 1);
        }
        // One request comes back every 20 minutes.
        assert_eq!(store.take_now("k", quota, 1).retry_after_secs, 1200);
        clock.advance(Duration::from_millis(1_199_500));
        assert_eq!(store.take_now("k", quota, 1).retry_after_secs, 1);
        clock.advance(Duration::from_millis(500));
        assert!(store.take_now("k", quota, 1).is_allowed());
        assert!(!store.take_now("k", quota, 1).is_allowed());
    }

    #[test]
    fn the_budget_refills_smoothly_not_at_a_fixed_boundary() {
        let (clock, store) = store();
        let quota = Quota::per_hour(4);
        for _ in 0..4 {
            store.take_now("k", quota, 1);
        }
        clock.advance(HOUR / 4);
        assert_eq!(store.take_now("k", quota, 1).remaining, 0);
        clock.advance(HOUR);
        assert_eq!(store.take_now("k", quota, 1).remaining, 3);
    }

    #[test]
    fn a_cost_takes_that_many_units_and_a_cost_of_zero_only_looks() {
        let (clock, store) = store();
        let quota = Quota::per_hour(100);
        let first = store.take_now("k", quota, 30);
        assert_eq!((first.is_allowed(), first.remaining), (true, 70));
        // Whole again once the 30 units have come back, 36 s each.
        assert_eq!(first.refill_after, Duration::from_secs(30 * 36));
        assert_eq!(store.take_now("k", quota, 0).remaining, 70);
        assert_eq!(store.take_now("k", quota, 0).remaining, 70);
        let refused = store.take_now("k", quota, 71);
        assert!(!refused.is_allowed());
        assert_eq!(refused.remaining, 70);
        assert_eq!(refused.retry_after_secs, 36);
        assert_eq!(refused.refill_after, Duration::from_secs(30 * 36));
        clock.advance(Duration::from_secs(36));
        assert_eq!(store.take_now("k", quota, 71).remaining, 0);
    }

    #[test]
    fn keys_have_budgets_of_their_own() {
        let (_, store) = store();
        let quota = Quota::per_hour(1);
        assert!(store.take_now("a", quota, 1).is_allowed());
        assert!(!store.take_now("a", quota, 1).is_allowed());
        assert!(store.take_now("b", quota, 1).is_allowed());
    }

    #[test]
    fn keys_whose_budget_is_whole_again_are_forgotten() {
        let (clock, store) = store();
        let quota = Quota::per_hour(10);
        for i in 0..100 {
            store.take_now(&format!("k{i}"), quota, 1);
        }
        clock.advance(HOUR);
        store.take_now("k0", quota, 1);
        let shard = store.hasher.hash_one("k0") as usize % SHARDS;
        let kept = store.shards[shard].lock().map(|s| s.tats.len()).ok();
        assert_eq!(kept, Some(1));
    }
}
