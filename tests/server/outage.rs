//! A PostgreSQL outage under a running server: its own cluster is stopped (`pg_ctl stop -m
//! fast`) while requests keep coming, and started again. Requests that need the database
//! get 503 fast instead of waiting on the pool, the probes say so, `/livez` does not care,
//! and the server notices the database's return quickly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};

use crate::cluster::Cluster;
use crate::harness::{all_areas_token, exchange, in_ci, notice, Reply, Server, SECRET};

/// How long requests are sent while the database is down.
const OUTAGE: Duration = Duration::from_secs(4);
/// The first 503 of each kind comes within this of the stop; every answer within this too.
const FAIL_FAST: Duration = Duration::from_secs(1);
/// The REST list answers 200 within this of the start.
const RECOVERY: Duration = Duration::from_secs(2);

const GRAPHQL_PROBE: &str = r#"{"query":"query Probe { tickets(first: 1) { nodes { id } } }"}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Probe {
    Rest,
    Graphql,
    Readyz,
    Healthz,
    Livez,
}

impl Probe {
    async fn send(self, addr: std::net::SocketAddr, token: &str) -> Result<Reply, String> {
        let limit = Duration::from_secs(5);
        match self {
            Self::Rest => {
                exchange(
                    addr,
                    "GET",
                    "/v2/support_tickets?page_size=1",
                    Some(token),
                    &[],
                    None,
                    limit,
                )
                .await
            }
            Self::Graphql => {
                exchange(
                    addr,
                    "POST",
                    "/graphql",
                    Some(token),
                    &[("content-type", "application/json")],
                    Some(GRAPHQL_PROBE),
                    limit,
                )
                .await
            }
            Self::Readyz => exchange(addr, "GET", "/readyz", None, &[], None, limit).await,
            Self::Healthz => exchange(addr, "GET", "/healthz", None, &[], None, limit).await,
            Self::Livez => exchange(addr, "GET", "/livez", None, &[], None, limit).await,
        }
    }

    /// What the answer must be while the database is down; `Err` says how it is not.
    fn check_down(self, reply: &Reply) -> Result<(), String> {
        let want = if self == Self::Livez { 200 } else { 503 };
        if reply.status != want {
            return Err(format!(
                "{} instead of {want}: {}",
                reply.status, reply.text
            ));
        }
        match self {
            Self::Rest | Self::Readyz if !reply.is_problem_json() => Err(format!(
                "not problem+json: {:?}",
                reply.header("content-type")
            )),
            Self::Rest | Self::Readyz if reply.body["status"] != 503 => {
                Err(format!("problem status: {}", reply.text))
            }
            Self::Graphql
                if reply.body["errors"][0]["extensions"]["code"] != "SERVICE_UNAVAILABLE" =>
            {
                Err(format!("GraphQL error code: {}", reply.text))
            }
            _ => Ok(()),
        }
    }
}

/// One exchange during the outage, timed from the moment the stop returned.
struct Sample {
    probe: Probe,
    /// When the answer (or the failure) arrived, since the stop returned.
    at: Duration,
    latency: Duration,
    status: Option<u16>,
    problem: Option<String>,
}

/// Sends `probes` in turn, again and again, until `until`.
async fn probe_loop(
    addr: std::net::SocketAddr,
    token: Arc<String>,
    probes: Vec<Probe>,
    stopped: Instant,
    until: Instant,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    while Instant::now() < until {
        for &probe in &probes {
            let sent = Instant::now();
            let result = probe.send(addr, &token).await;
            let (latency, status, problem) = match &result {
                Ok(reply) => (
                    reply.latency,
                    Some(reply.status),
                    probe.check_down(reply).err(),
                ),
                Err(e) => (sent.elapsed(), None, Some(e.clone())),
            };
            let problem = problem
                .or_else(|| (latency >= FAIL_FAST).then(|| format!("answered after {latency:?}")));
            samples.push(Sample {
                probe,
                at: stopped.elapsed(),
                latency,
                status,
                problem,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_outage_is_answered_503_within_a_second_and_recovery_is_quick() {
    if let Err(why) = Cluster::can_run().await {
        assert!(
            !in_ci(),
            "the outage test needs its own PostgreSQL under CI: {why}"
        );
        notice(&format!("outage test skipped: {why}"));
        return;
    }
    let mut cluster = match Cluster::start().await {
        Ok(c) => c,
        Err(why) => {
            assert!(
                !in_ci(),
                "the outage test needs its own PostgreSQL under CI: {why}"
            );
            notice(&format!(
                "outage test skipped: cannot run a PostgreSQL cluster: {why}"
            ));
            return;
        }
    };
    let admin = Database::connect(cluster.url("postgres").as_str())
        .await
        .expect("connect to the test's cluster");
    admin
        .execute_unprepared("CREATE DATABASE gateway")
        .await
        .expect("create the database");
    let _ = admin.close().await;

    let server = Server::start(&[
        ("DATABASE_URL", &cluster.url("gateway")),
        ("JWT_SECRET", SECRET),
        ("LOG_FORMAT", "json"),
    ])
    .await;
    let token = Arc::new(all_areas_token());
    let ready = Instant::now();
    loop {
        let reply = server.get("/readyz", None).await;
        if reply.status == 200 {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(10),
            "/readyz never answered 200: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for probe in [Probe::Rest, Probe::Graphql, Probe::Healthz] {
        let reply = probe.send(server.addr, &token).await.expect("a reply");
        assert_eq!(
            reply.status, 200,
            "{probe:?} before the outage: {}",
            reply.text
        );
    }

    cluster.stop_fast().await.expect("pg_ctl stop -m fast");
    let stopped = Instant::now();
    let until = stopped + OUTAGE;
    // One client per kind, each sending its requests one after the other; two more send
    // REST and GraphQL requests beside them.
    let workers = [
        vec![Probe::Rest],
        vec![Probe::Graphql],
        vec![Probe::Readyz],
        vec![Probe::Healthz],
        vec![Probe::Livez],
        vec![Probe::Rest, Probe::Graphql],
        vec![Probe::Graphql, Probe::Rest],
    ]
    .into_iter()
    .map(|probes| {
        tokio::spawn(probe_loop(
            server.addr,
            token.clone(),
            probes,
            stopped,
            until,
        ))
    })
    .collect::<Vec<_>>();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.expect("a probe loop"));
    }

    cluster.start_again().await.expect("pg_ctl start");
    let restarted = Instant::now();
    let mut polls = 0;
    let recovered = loop {
        polls += 1;
        let reply = Probe::Rest.send(server.addr, &token).await;
        if reply.as_ref().is_ok_and(|r| r.status == 200) {
            break restarted.elapsed();
        }
        if restarted.elapsed() > RECOVERY + Duration::from_secs(8) {
            break restarted.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let ready_again = loop {
        let reply = server.get("/readyz", None).await;
        if reply.status == 200 || restarted.elapsed() > Duration::from_secs(10) {
            break restarted.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };

    // What was measured, for whoever reads the test's output.
    let mut by_probe: BTreeMap<Probe, Vec<&Sample>> = BTreeMap::new();
    for s in &samples {
        by_probe.entry(s.probe).or_default().push(s);
    }
    let mut first_503 = BTreeMap::new();
    eprintln!("PostgreSQL outage, times since `pg_ctl stop -m fast` returned:");
    for (probe, list) in &by_probe {
        let first = list
            .iter()
            .filter(|s| s.status == Some(503))
            .map(|s| s.at)
            .min();
        first_503.insert(*probe, first);
        let max = list.iter().map(|s| s.latency).max().unwrap_or_default();
        let mut latencies: Vec<Duration> = list.iter().map(|s| s.latency).collect();
        latencies.sort();
        let median = latencies[latencies.len() / 2];
        let wrong = list.iter().filter(|s| s.problem.is_some()).count();
        let first = match (probe, first) {
            (Probe::Livez, _) => String::new(),
            (_, Some(at)) => format!(", first 503 at {at:?}"),
            (_, None) => ", never 503".into(),
        };
        eprintln!(
            "  {probe:?}: {} requests{first}, latency median {median:?} max {max:?}, {wrong} \
             not as expected",
            list.len()
        );
    }
    eprintln!(
        "  after `pg_ctl start` returned: REST list 200 after {recovered:?} ({polls} polls), \
         /readyz 200 after {ready_again:?}"
    );

    let mut failures = Vec::new();
    for probe in [Probe::Rest, Probe::Graphql, Probe::Readyz, Probe::Healthz] {
        match first_503.get(&probe).copied().flatten() {
            Some(at) if at <= FAIL_FAST => {}
            other => failures.push(format!(
                "{probe:?}: first 503 at {other:?}, not within {FAIL_FAST:?} of the stop"
            )),
        }
    }
    let wrong: Vec<&Sample> = samples.iter().filter(|s| s.problem.is_some()).collect();
    for s in wrong.iter().take(10) {
        failures.push(format!(
            "{:?} at {:?} (latency {:?}, status {:?}): {}",
            s.probe,
            s.at,
            s.latency,
            s.status,
            s.problem.as_deref().unwrap_or_default()
        ));
    }
    if wrong.len() > 10 {
        failures.push(format!(
            "… and {} more answers not as expected",
            wrong.len() - 10
        ));
    }
    if recovered > RECOVERY {
        failures.push(format!(
            "the REST list answered 200 only {recovered:?} after `pg_ctl start` returned, not \
             within {RECOVERY:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} answers during the outage were not as expected:\n{}",
        wrong.len(),
        samples.len(),
        failures.join("\n")
    );
}
