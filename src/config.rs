//! Configuration from the environment (and the equivalent command-line flags).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::graphql::Manifest;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://ticket-gateway.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// A read replica of the PostgreSQL database for statistics (`postgres://...`); unset:
    /// everything reads from `DATABASE_URL`.
    #[arg(long, env = "DATABASE_REPLICA_URL", global = true)]
    pub database_replica_url: Option<String>,
}

/// How tokens are verified (and, with a shared secret, minted).
#[derive(Debug, Clone, Default, Args)]
pub struct JwtSettings {
    /// HS256 shared secret. Without it and without a public key, a development secret
    /// kept in the database is used and a warning is logged.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key for RS256, ES256 or EdDSA tokens.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Pins the algorithm for a public key (RS256, ES256, EdDSA); inferred from the key when unset.
    #[arg(long, env = "JWT_ALGORITHM", global = true)]
    pub jwt_algorithm: Option<String>,
    /// When set, tokens must carry this `iss`.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
}

/// Limits and switches of the GraphQL endpoint.
#[derive(Debug, Clone, Args)]
pub struct GraphqlSettings {
    /// Deepest selection nesting accepted.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 12)]
    pub graphql_max_depth: usize,
    /// Most points one operation may cost (the cost model is in the README).
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 5000)]
    pub graphql_max_complexity: usize,
    /// Points each client may spend on GraphQL operations per hour, refilled smoothly;
    /// 0 switches the budget off.
    #[arg(long, env = "GRAPHQL_POINTS_PER_HOUR", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(0..=100_000_000))]
    pub graphql_points_per_hour: u32,
    /// A JSON file of id to GraphQL document: when set, only these documents run.
    #[arg(long, env = "PERSISTED_QUERIES_MANIFEST")]
    pub persisted_queries_manifest: Option<PathBuf>,
    /// Most aliases in one operation.
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value_t = 30)]
    pub graphql_max_aliases: usize,
    /// Most directives on one field.
    #[arg(long, env = "GRAPHQL_MAX_DIRECTIVES", default_value_t = 5)]
    pub graphql_max_directives: usize,
    /// Most operations in one batched request.
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value_t = 10)]
    pub graphql_max_batch: usize,
    /// Largest request body in bytes (GraphQL and REST).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Milliseconds a DataLoader gathers keys that nothing loaded ahead (lists and lookups
    /// load their nested levels ahead, so few requests ever wait for it).
    #[arg(long, env = "GRAPHQL_LOADER_DELAY_MS", default_value_t = 5)]
    pub graphql_loader_delay_ms: u64,
    /// Serve schema introspection.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphql_introspection: bool,
    /// Serve the GraphiQL playground on `GET /graphql`.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,
    /// Most GraphQL WebSocket connections open at once (each may run 100 subscriptions).
    #[arg(long, env = "SUBSCRIPTIONS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub subscriptions_max_connections: usize,
}

impl Default for GraphqlSettings {
    fn default() -> Self {
        Self {
            graphql_max_depth: 12,
            graphql_max_complexity: 5000,
            graphql_points_per_hour: 5000,
            persisted_queries_manifest: None,
            graphql_max_aliases: 30,
            graphql_max_directives: 5,
            graphql_max_batch: 10,
            graphql_loader_delay_ms: 5,
            max_body_bytes: 64 * 1024,
            graphql_introspection: true,
            graphiql: true,
            subscriptions_max_connections: 10_000,
        }
    }
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    /// Base of the absolute `url` fields in REST bodies; defaults to `http://BIND_ADDR`.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Fill an empty database with demo data at start.
    #[arg(long, env = "DEMO_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,
    #[command(flatten)]
    pub graphql: GraphqlSettings,
    #[command(flatten)]
    pub edge: EdgeSettings,
}

/// What the server does at its edge: CORS, metrics access, timeouts, shutdown.
#[derive(Debug, Clone, Args)]
pub struct EdgeSettings {
    /// Origins browser apps may call from, comma-separated and exact
    /// (`https://app.example.com,http://localhost:3000`), or `*` for any (then without
    /// credentials). Unset: no CORS headers at all.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds a request may run before it is cancelled (its SQL too) and answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's headers, counted from the connection
    /// opening or from the end of the previous response (so idle keep-alive connections
    /// close after it too).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,
    /// On SIGTERM or Ctrl-C, seconds to keep serving with `/readyz` answering 503, so load
    /// balancers stop sending traffic before the listener closes.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_drain_secs: u64,
    /// Seconds requests in flight get to finish once the listener has closed.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout_secs: u64,
    /// Requests each client may make to each REST operation per hour, refilled smoothly;
    /// 0 switches REST limits off.
    #[arg(long, env = "RATE_LIMIT_PER_HOUR", default_value_t = DEFAULT_RATE_LIMIT_PER_HOUR, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    pub rate_limit_per_hour: u32,
    /// Where rate limit budgets and persisted GraphQL documents are kept, shared by every
    /// instance on the same Redis (`redis://host:6379`). Unset: in this process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Addresses or networks of the proxies in front of the gateway, comma-separated
    /// (`10.0.0.0/8,127.0.0.1`): for a request that comes from one of them, the client is the
    /// address it appended to `X-Forwarded-For`. Unset: the peer is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

/// The contract's default budget of a client per operation and hour.
pub const DEFAULT_RATE_LIMIT_PER_HOUR: u32 = 1000;

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            cors_allowed_origins: Vec::new(),
            metrics_token: None,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            shutdown_drain_secs: 0,
            shutdown_timeout_secs: 30,
            rate_limit_per_hour: DEFAULT_RATE_LIMIT_PER_HOUR,
            redis_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

impl EdgeSettings {
    /// `REQUEST_TIMEOUT_SECS`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// `HEADER_READ_TIMEOUT_SECS`.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    /// `SHUTDOWN_DRAIN_SECS`.
    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_secs(self.shutdown_drain_secs)
    }

    /// `SHUTDOWN_TIMEOUT_SECS`.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// What the application needs at run time, whatever door it is built for.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Absolute base for REST `url` fields, without a trailing slash (e.g. `http://127.0.0.1:8080`).
    pub public_base_url: String,
    pub graphql: GraphqlSettings,
    pub edge: EdgeSettings,
    /// The trusted documents of `PERSISTED_QUERIES_MANIFEST`, read at start.
    pub manifest: Option<Arc<Manifest>>,
    /// The networks of `TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl AppConfig {
    /// Validates and normalizes a public base URL.
    pub fn new(public_base_url: &str, graphql: GraphqlSettings) -> Result<Self, String> {
        let parsed = url::Url::parse(public_base_url)
            .map_err(|e| format!("PUBLIC_BASE_URL `{public_base_url}` is not a valid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "PUBLIC_BASE_URL `{public_base_url}` must be an http or https URL"
            ));
        }
        let manifest = match &graphql.persisted_queries_manifest {
            Some(path) => Some(Arc::new(Manifest::load(path)?)),
            None => None,
        };
        Ok(Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            graphql,
            edge: EdgeSettings::default(),
            manifest,
            trusted_proxies: Vec::new(),
        })
    }

    /// These edge settings, once checked.
    pub fn with_edge(mut self, edge: EdgeSettings) -> Result<Self, String> {
        let origins: Vec<String> = edge
            .cors_allowed_origins
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &origins {
            crate::edge::check_origin(origin).map_err(|e| format!("CORS_ALLOWED_ORIGINS: {e}"))?;
        }
        let redis_url = edge
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned);
        if let Some(url) = &redis_url {
            redis::Client::open(url.as_str()).map_err(|e| format!("REDIS_URL: {e}"))?;
        }
        let mut proxies = Vec::new();
        for entry in edge
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            let net = match entry.parse::<ipnet::IpNet>() {
                Ok(net) => net,
                Err(_) => entry
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
                    .map_err(|_| {
                        format!("TRUSTED_PROXIES: `{entry}` is neither an IP address nor a network")
                    })?,
            };
            proxies.push(net);
        }
        self.trusted_proxies = proxies;
        self.edge = EdgeSettings {
            cors_allowed_origins: origins,
            redis_url,
            ..edge
        };
        Ok(self)
    }
}
