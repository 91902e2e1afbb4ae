//! Statistics on a read replica: with `DATABASE_REPLICA_URL`, statistics and their drill-down
//! counts read from a pool on the replica, while everything else (pages, lookups, writes) stays
//! on the primary, so nobody reads stale data right after their own write.
//!
//! A replica that does not answer is not an outage: the statistic runs on the primary and a
//! warning says so (at most once a minute); for [`REST_AFTER_FAILURE`] the replica is not asked
//! at all, so while it is down requests do not each wait for it.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use crate::error::{AppError, AppResult};

/// After a failure, statistics go to the primary for this long before the replica is tried.
pub const REST_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// At most one warning about an unreachable replica per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The replica's pool, and when it last failed.
pub struct Replica {
    db: DatabaseConnection,
    resting_until: Mutex<Option<Instant>>,
    warned: Mutex<Option<Instant>>,
}

impl Replica {
    /// The replica behind `db` (a pool that connects when first used).
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            resting_until: Mutex::new(None),
            warned: Mutex::new(None),
        }
    }

    fn resting(&self) -> bool {
        lock(&self.resting_until).is_some_and(|until| Instant::now() < until)
    }

    fn failed(&self) {
        *lock(&self.resting_until) = Some(Instant::now() + REST_AFTER_FAILURE);
        let mut warned = lock(&self.warned);
        if warned.is_none_or(|at| at.elapsed() >= WARNING_INTERVAL) {
            *warned = Some(Instant::now());
            tracing::warn!(
                "the read replica does not answer: statistics run on the primary until it does"
            );
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // An instant is valid whatever a panicking holder was doing.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a read on the replica when there is one and it answers, else on `primary`. Only an
/// unreachable replica sends the read to the primary; any other error is the read's own.
pub async fn read<'a, T, F, Fut>(
    replica: Option<&'a Replica>,
    primary: &'a DatabaseConnection,
    run: F,
) -> AppResult<T>
where
    F: Fn(&'a DatabaseConnection) -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    if let Some(replica) = replica.filter(|r| !r.resting()) {
        match run(&replica.db).await {
            Err(AppError::Unavailable) => replica.failed(),
            answered => return answered,
        }
    }
    run(primary).await
}
