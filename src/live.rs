//! Live updates: one in-process hub per server that hears of every change in the change log
//! (see [`crate::data::changes`]) and fans it out to the subscriptions of this process.
//!
//! On PostgreSQL the hub keeps one `LISTEN ticket_gateway_changes` connection, so a change
//! made by any writer (another gateway instance, a script, `psql`) reaches it at once. When
//! that connection drops, the hub opens another and reads from the log what was written
//! while it was away, so no change is lost across a reconnect (a change may then arrive
//! twice: subscribers get at-least-once delivery, each change with its ticket's version). On
//! SQLite, one process, the hub reads the log by position every [`POLL_EVERY`].
//!
//! The hub starts with the first subscription and stops when the server's state is dropped.
//! Deciding what a subscriber may see is not its business: every subscription reads the
//! changed rows afresh, in its own scope, through the data layer.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::data::changes::{self, Change};
use crate::edge::Metrics;

/// Changes the hub holds for its slowest subscriber (a pointer each). One that falls further
/// behind is told so (and its connection closed, to reconnect and refetch) rather than
/// buffered without bound.
pub const CHANNEL_CAPACITY: usize = 65_536;

/// How often the SQLite log is read.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// How far back a listener that reconnects reads the log: transactions still open when the
/// connection dropped commit rows logged before that moment.
const CATCH_UP_MARGIN_SECS: u64 = 60;

/// How often old rows are pruned from the log.
const PRUNE_EVERY: Duration = Duration::from_secs(300);

/// How often each instance notifies the channel with a heartbeat, so that a listening
/// connection that stops hearing anything for [`LISTEN_SILENCE`] is known to be dead (a
/// connection cut by a firewall or a failover may otherwise wait forever).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
const LISTEN_SILENCE: Duration = Duration::from_secs(60);
const HEARTBEAT: &str = "heartbeat";

/// The channel the triggers notify.
pub const CHANNEL: &str = "ticket_gateway_changes";

/// A server's hub of changes.
pub struct Changes {
    sender: broadcast::Sender<Arc<Change>>,
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    source: Mutex<Option<JoinHandle<()>>>,
}

impl Changes {
    pub fn new(db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            sender,
            db,
            metrics,
            source: Mutex::new(None),
        }
    }

    /// Every change from now on (the hub starts listening on the first call).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        let receiver = self.sender.subscribe();
        self.start();
        receiver
    }

    /// Starts listening (once; `serve` does it at start, so that the first subscriber does
    /// not race the first LISTEN), and pruning the log.
    pub fn start(&self) {
        let Ok(mut source) = self.source.lock() else {
            return;
        };
        if source.is_some() {
            return;
        }
        let db = self.db.clone();
        let sender = self.sender.clone();
        let metrics = self.metrics.clone();
        *source = Some(match db.get_database_backend() {
            DbBackend::Postgres => tokio::spawn(listen(db, sender, metrics)),
            _ => tokio::spawn(poll(db, sender)),
        });
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        if let Ok(mut source) = self.source.lock() {
            if let Some(task) = source.take() {
                task.abort();
            }
        }
    }
}

/// The positions of the changes already passed on, so that a catch-up after a reconnect
/// does not pass them on again.
#[derive(Default)]
struct Seen {
    set: HashSet<i64>,
    order: VecDeque<i64>,
}

impl Seen {
    const KEEP: usize = 65_536;

    /// Whether `seq` is new (and remembers it).
    fn first_time(&mut self, seq: i64) -> bool {
        if !self.set.insert(seq) {
            return false;
        }
        self.order.push_back(seq);
        if self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// PostgreSQL: LISTEN, and read the log after every (re)connection.
async fn listen(
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<Change>>,
    metrics: Arc<Metrics>,
) {
    let upkeep = async {
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut pruned = tokio::time::Instant::now();
        loop {
            heartbeat.tick().await;
            if let Err(e) = changes::notify(&db, CHANNEL, HEARTBEAT).await {
                tracing::debug!(error = ?e, "cannot send the change listener's heartbeat");
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                if let Err(e) = changes::prune(&db).await {
                    tracing::debug!(error = ?e, "cannot prune the change log");
                }
            }
        }
    };
    let listening = async {
        let pool = db.get_postgres_connection_pool().clone();
        let mut seen = Seen::default();
        // What to read from the log once listening: the first time, what came after the end
        // of the log as the hub started (a subscriber may have subscribed before the first
        // LISTEN); after a drop, what was logged since shortly before it.
        let mut start: Option<i64> = None;
        // When the connection dropped (by this process's clock; the log is read by the
        // database's, so only the elapsed time is passed).
        let mut dropped_at: Option<std::time::Instant> = None;
        let mut backoff = Duration::from_millis(100);
        let mut warned = false;
        loop {
            if start.is_none() && dropped_at.is_none() {
                match changes::last_seq(&db).await {
                    Ok(seq) => start = Some(seq),
                    Err(e) => {
                        tracing::warn!(error = ?e, "cannot read the change log; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            let connected = async {
                let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.eager_reconnect(false);
                listener.listen(CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(listener)
            };
            let mut listener = match connected.await {
                Ok(listener) => listener,
                Err(e) => {
                    if !warned {
                        tracing::warn!(error = %e, "cannot LISTEN for changes; retrying");
                        warned = true;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            let missed = match (start, dropped_at) {
                (_, Some(at)) => {
                    let seconds = at.elapsed().as_secs() + CATCH_UP_MARGIN_SECS;
                    changes::logged_within(&db, seconds).await
                }
                (Some(after), None) => changes::all_after(&db, after).await,
                (None, None) => Ok(Vec::new()),
            };
            match missed {
                Ok(missed) => {
                    for change in missed {
                        if seen.first_time(change.seq) {
                            let _ = sender.send(Arc::new(change));
                        }
                    }
                    start = None;
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot read the change log; retrying");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
            if warned {
                tracing::info!("listening for changes again");
            }
            backoff = Duration::from_millis(100);
            warned = false;
            // `None`, an error or a silence longer than the heartbeats allow: the connection
            // is gone (and is dropped, so an interrupted read is never resumed).
            while let Ok(Ok(Some(notification))) =
                tokio::time::timeout(LISTEN_SILENCE, listener.try_recv()).await
            {
                let payload = notification.payload();
                match changes::from_notification(payload) {
                    Some(change) if seen.first_time(change.seq) => {
                        let _ = sender.send(Arc::new(change));
                    }
                    Some(_) => {}
                    None if payload == HEARTBEAT => {}
                    None => tracing::debug!("unreadable change notification"),
                }
            }
            drop(listener);
            tracing::warn!("the LISTEN connection for changes dropped; reconnecting");
            metrics.change_listener_reconnect();
            dropped_at = Some(std::time::Instant::now());
        }
    };
    tokio::select! {
        () = upkeep => {}
        () = listening => {}
    }
}

/// SQLite: read the log by position.
async fn poll(db: DatabaseConnection, sender: broadcast::Sender<Arc<Change>>) {
    let mut last = None;
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned = tokio::time::Instant::now();
    loop {
        every.tick().await;
        let Some(after) = last else {
            // Start from the end of the log: what came before was before any subscriber.
            last = changes::last_seq(&db).await.ok();
            continue;
        };
        match changes::after(&db, after).await {
            Ok(list) => {
                let full = list.len() as u64 == changes::READ_BATCH;
                for change in list {
                    last = Some(change.seq);
                    let _ = sender.send(Arc::new(change));
                }
                if full {
                    every.reset_immediately();
                }
            }
            Err(e) => tracing::debug!(error = ?e, "cannot read the change log"),
        }
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = tokio::time::Instant::now();
            if let Err(e) = changes::prune(&db).await {
                tracing::debug!(error = ?e, "cannot prune the change log");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_passed_on_once_and_old_ones_are_forgotten() {
        let mut seen = Seen::default();
        assert!(seen.first_time(1));
        assert!(!seen.first_time(1));
        for seq in 2..=(Seen::KEEP as i64 + 1) {
            assert!(seen.first_time(seq));
        }
        assert_eq!(seen.set.len(), Seen::KEEP);
        assert!(seen.first_time(1), "the oldest position was forgotten");
    }
}
