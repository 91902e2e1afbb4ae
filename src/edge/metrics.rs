//! The Prometheus metrics of one server: recorded through the `metrics` facade into a
//! recorder owned by the server (not a process-wide one, so servers in one process, such
//! as tests, count apart), rendered by `GET /metrics`.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sea_orm::DatabaseConnection;

use super::context::Facts;

/// Latency buckets in seconds, from a cached page to a statistic over millions of rows.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Distinct GraphQL operation names kept as labels; later ones count as `(other)`, so a
/// client inventing names cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

/// Longer operation names count as `(long)`.
pub const MAX_OPERATION_NAME_LEN: usize = 64;

/// The recorder of one server and what renders it.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    started: Instant,
    operation_names: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One finished HTTP exchange.
pub struct Exchange<'a> {
    /// The method's label (`GET`, ..., `OTHER`).
    pub method: &'static str,
    /// The route template, or `unmatched`.
    pub route: &'a str,
    pub status: u16,
    /// From the request's arrival to the end of its response body.
    pub elapsed: Duration,
    /// What the doors said about the request.
    pub facts: &'a Facts,
}

impl Metrics {
    /// A recorder with latency buckets and every metric described.
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            recorder,
            handle,
            started: Instant::now(),
            operation_names: Mutex::default(),
        };
        metrics.describe();
        metrics
    }

    fn record(&self, f: impl FnOnce()) {
        metrics::with_local_recorder(&self.recorder, f);
    }

    fn describe(&self) {
        self.record(|| {
            describe_counter!(
                "ticket_gateway_http_requests_total",
                "HTTP requests answered, by route template, method and status."
            );
            describe_histogram!(
                "ticket_gateway_http_request_duration_seconds",
                Unit::Seconds,
                "Time to answer an HTTP request, by route template and method."
            );
            describe_counter!(
                "ticket_gateway_http_request_timeouts_total",
                "Requests cancelled for running past REQUEST_TIMEOUT_SECS, by route template."
            );
            describe_gauge!(
                "ticket_gateway_http_requests_in_flight",
                "HTTP requests being answered."
            );
            describe_counter!(
                "ticket_gateway_graphql_operations_total",
                "GraphQL operations run, by type and name."
            );
            describe_histogram!(
                "ticket_gateway_graphql_operation_duration_seconds",
                Unit::Seconds,
                "Time to answer the request of a GraphQL operation, by type and name."
            );
            describe_counter!(
                "ticket_gateway_graphql_errors_total",
                "GraphQL errors returned, by extensions.code."
            );
            describe_counter!(
                "ticket_gateway_rate_limit_decisions_total",
                "Rate limiter decisions, by door and decision (allowed, limited)."
            );
            describe_counter!(
                "ticket_gateway_rate_limit_store_errors_total",
                "Rate limiter decisions whose store failed or did not answer in time (the request was let through), by store."
            );
            describe_counter!(
                "ticket_gateway_persisted_queries_total",
                "Persisted GraphQL documents asked for, by result (hit, miss, registered, mismatch, refused)."
            );
            describe_counter!(
                "ticket_gateway_persisted_query_store_errors_total",
                "Lookups and registrations of persisted documents whose Redis failed or did not answer in time."
            );
            describe_counter!(
                "ticket_gateway_db_statements_total",
                "SQL statements issued, by outcome (ok, error)."
            );
            describe_histogram!(
                "ticket_gateway_db_statement_duration_seconds",
                Unit::Seconds,
                "Time of one SQL statement."
            );
            describe_gauge!(
                "ticket_gateway_db_pool_connections",
                "Database pool connections, by state (in_use, idle)."
            );
            describe_gauge!(
                "ticket_gateway_db_pool_max_connections",
                "Most connections the database pool opens."
            );
            describe_gauge!(
                "ticket_gateway_db_up",
                "1 while the database answers, 0 during an outage."
            );
            describe_gauge!(
                "ticket_gateway_process_resident_memory_bytes",
                Unit::Bytes,
                "Resident memory of the process."
            );
            describe_gauge!(
                "ticket_gateway_process_open_fds",
                "Open file descriptors of the process."
            );
            describe_gauge!(
                "ticket_gateway_uptime_seconds",
                Unit::Seconds,
                "Seconds since the server started."
            );
            describe_gauge!(
                "ticket_gateway_websocket_connections",
                "Open GraphQL WebSocket connections."
            );
            describe_gauge!(
                "ticket_gateway_subscriptions_active",
                "GraphQL subscriptions running, over every connection."
            );
            describe_counter!(
                "ticket_gateway_subscription_events_delivered_total",
                "Changes sent to subscribers, by subscription field."
            );
            describe_counter!(
                "ticket_gateway_subscription_events_dropped_total",
                "Changes a subscriber could not be sent, by reason (slow_consumer)."
            );
            describe_counter!(
                "ticket_gateway_change_listener_reconnects_total",
                "Times the LISTEN connection for changes was lost and opened again."
            );
            describe_gauge!(
                "ticket_gateway_build_info",
                "Always 1; the version of the running build is a label."
            );
        });
    }

    /// Counts every statement `db` runs (and logs its text, never its values, at debug
    /// level under `ticket_gateway::sql`).
    pub fn count_statements_of(self: &std::sync::Arc<Self>, db: &mut DatabaseConnection) {
        let metrics = self.clone();
        db.set_metric_callback(move |info| {
            let outcome = if info.failed { "error" } else { "ok" };
            metrics.record(|| {
                counter!("ticket_gateway_db_statements_total", "outcome" => outcome).increment(1);
                histogram!("ticket_gateway_db_statement_duration_seconds")
                    .record(info.elapsed.as_secs_f64());
            });
            tracing::debug!(
                target: "ticket_gateway::sql",
                elapsed_ms = info.elapsed.as_secs_f64() * 1000.0,
                failed = info.failed,
                sql = %info.statement.sql,
            );
        });
    }

    /// Drains recorded histogram samples into their buckets. Rendering does it too; this
    /// keeps memory flat when nothing scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Counts a request in flight.
    pub fn request_started(&self) {
        self.record(|| gauge!("ticket_gateway_http_requests_in_flight").increment(1.0));
    }

    /// Records a finished exchange (and that it is no longer in flight).
    pub fn request_finished(&self, exchange: &Exchange<'_>) {
        let status = status_label(exchange.status);
        let seconds = exchange.elapsed.as_secs_f64();
        let method = exchange.method;
        let route = exchange.route.to_owned();
        let operations: Vec<(&'static str, String)> = exchange
            .facts
            .operations
            .iter()
            .map(|op| (op.kind, self.operation_label(op.name.as_deref())))
            .collect();
        self.record(|| {
            gauge!("ticket_gateway_http_requests_in_flight").decrement(1.0);
            counter!("ticket_gateway_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
                .increment(1);
            histogram!("ticket_gateway_http_request_duration_seconds", "method" => method, "route" => route.clone())
                .record(seconds);
            if exchange.facts.timed_out {
                counter!("ticket_gateway_http_request_timeouts_total", "route" => route).increment(1);
            }
            for (kind, name) in operations {
                counter!("ticket_gateway_graphql_operations_total", "type" => kind, "name" => name.clone())
                    .increment(1);
                histogram!("ticket_gateway_graphql_operation_duration_seconds", "type" => kind, "name" => name)
                    .record(seconds);
            }
            for code in &exchange.facts.graphql_error_codes {
                counter!("ticket_gateway_graphql_errors_total", "code" => code.clone()).increment(1);
            }
        });
    }

    /// Counts a rate limiter decision at `door` (`rest`, ...).
    pub fn rate_limit_decision(&self, door: &'static str, allowed: bool) {
        let decision = if allowed { "allowed" } else { "limited" };
        self.record(|| {
            counter!("ticket_gateway_rate_limit_decisions_total", "door" => door, "decision" => decision)
                .increment(1);
        });
    }

    /// A decision the limiter's `store` could not make: the request went through uncounted.
    pub fn rate_limit_store_error(&self, store: &'static str) {
        self.record(|| {
            counter!("ticket_gateway_rate_limit_store_errors_total", "store" => store).increment(1);
        });
    }

    /// A persisted document asked for: `hit`, `miss`, `registered`, `mismatch` or `refused`.
    pub fn persisted_query(&self, result: &'static str) {
        self.record(|| {
            counter!("ticket_gateway_persisted_queries_total", "result" => result).increment(1);
        });
    }

    /// A GraphQL WebSocket connection opened (`1`) or closed (`-1`).
    pub fn websocket_connections(&self, delta: f64) {
        self.record(|| gauge!("ticket_gateway_websocket_connections").increment(delta));
    }

    /// A subscription started (`1`) or ended (`-1`).
    pub fn subscriptions_active(&self, delta: f64) {
        self.record(|| gauge!("ticket_gateway_subscriptions_active").increment(delta));
    }

    /// `count` changes sent to a subscriber of `field`.
    pub fn subscription_events_delivered(&self, field: &'static str, count: u64) {
        self.record(|| {
            counter!("ticket_gateway_subscription_events_delivered_total", "field" => field)
                .increment(count);
        });
    }

    /// `count` changes a subscriber missed, and why.
    pub fn subscription_events_dropped(&self, reason: &'static str, count: u64) {
        self.record(|| {
            counter!("ticket_gateway_subscription_events_dropped_total", "reason" => reason)
                .increment(count);
        });
    }

    /// The LISTEN connection was lost and is being opened again.
    pub fn change_listener_reconnect(&self) {
        self.record(|| counter!("ticket_gateway_change_listener_reconnects_total").increment(1));
    }

    /// A lookup or registration of a persisted document that Redis did not complete.
    pub fn persisted_query_store_error(&self) {
        self.record(|| {
            counter!("ticket_gateway_persisted_query_store_errors_total").increment(1);
        });
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "(anonymous)".into();
        };
        if name.len() > MAX_OPERATION_NAME_LEN {
            return "(long)".into();
        }
        let Ok(mut known) = self.operation_names.lock() else {
            return "(other)".into();
        };
        if known.contains(name) {
            return name.to_owned();
        }
        if known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_owned());
            return name.to_owned();
        }
        "(other)".into()
    }

    /// The Prometheus text exposition, with the gauges sampled now.
    pub fn render(&self, db: &DatabaseConnection, db_up: bool) -> String {
        let pool = pool_state(db);
        let process = ProcessState::sample();
        let uptime = self.started.elapsed().as_secs_f64();
        self.record(|| {
            if let Some((in_use, idle, max)) = pool {
                gauge!("ticket_gateway_db_pool_connections", "state" => "in_use")
                    .set(in_use as f64);
                gauge!("ticket_gateway_db_pool_connections", "state" => "idle").set(idle as f64);
                gauge!("ticket_gateway_db_pool_max_connections").set(max as f64);
            }
            gauge!("ticket_gateway_db_up").set(if db_up { 1.0 } else { 0.0 });
            if let Some(rss) = process.resident_bytes {
                gauge!("ticket_gateway_process_resident_memory_bytes").set(rss as f64);
            }
            if let Some(fds) = process.open_fds {
                gauge!("ticket_gateway_process_open_fds").set(fds as f64);
            }
            gauge!("ticket_gateway_uptime_seconds").set(uptime);
            gauge!("ticket_gateway_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        });
        self.handle.render()
    }
}

/// A status as a label, without formatting the common ones afresh for every request.
fn status_label(status: u16) -> std::borrow::Cow<'static, str> {
    const COMMON: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (409, "409"),
        (412, "412"),
        (422, "422"),
        (429, "429"),
        (499, "499"),
        (500, "500"),
        (503, "503"),
    ];
    match COMMON.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => (*label).into(),
        None => status.to_string().into(),
    }
}

/// (in use, idle, max) connections of the pool behind `db`.
fn pool_state(db: &DatabaseConnection) -> Option<(u32, u32, u32)> {
    fn of<D: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<D>) -> (u32, u32, u32) {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(size);
        (
            size.saturating_sub(idle),
            idle,
            pool.options().get_max_connections(),
        )
    }
    use sea_orm::DatabaseConnectionType as Pool;
    // The accessors panic on the other backend: each is called only on its own.
    match &db.inner {
        Pool::SqlxPostgresPoolConnection(_) => Some(of(db.get_postgres_connection_pool())),
        Pool::SqlxSqlitePoolConnection(_) => Some(of(db.get_sqlite_connection_pool())),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// What Linux tells about this process; nothing elsewhere.
struct ProcessState {
    resident_bytes: Option<u64>,
    open_fds: Option<usize>,
}

impl ProcessState {
    fn sample() -> Self {
        let resident_bytes = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kib| kib * 1024);
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count());
        Self {
            resident_bytes,
            open_fds,
        }
    }
}
