//! The command line: `serve` (default), `migrate`, `seed`, `token`, `schema`.

use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use entity::{support_ticket, user};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::{Access, JwtKeys};
use crate::config::{AppConfig, DatabaseSettings, JwtSettings, LogFormat, ServeSettings};
use crate::ids::{OrgId, UserId};
use crate::startup::{self, AppState, Application};
use crate::{db, graphql, seed};

#[derive(Debug, Parser)]
#[command(
    name = "ticket-gateway",
    version,
    about = "GraphQL gateway and v2 REST shims over support tickets"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub jwt: JwtSettings,
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default): migrates, loads demo data into an empty database.
    Serve(ServeSettings),
    /// Apply pending migrations and exit.
    Migrate,
    /// Load deterministic synthetic data.
    Seed(SeedArgs),
    /// Mint a token for local use; prints the token alone.
    Token(TokenArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many tickets to generate.
    #[arg(long, default_value_t = 1000)]
    pub tickets: usize,
    /// Random seed: the same seed gives the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Exactly one kind of access per token.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct TokenAccess {
    /// A token for this user's tickets.
    #[arg(long)]
    pub user: Option<String>,
    /// A token for the tickets of this organization's users.
    #[arg(long)]
    pub org: Option<String>,
    /// A token for every ticket, including tickets with no user.
    #[arg(long)]
    pub all_areas: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub access: TokenAccess,
    /// OAuth scopes, space-separated.
    #[arg(long, default_value = "support:read support:write")]
    pub scope: String,
    /// Lifetime, e.g. `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

/// Parses the process arguments and runs the command.
pub async fn run() -> Result<(), String> {
    let mut cli = Cli::parse();
    let command = match cli.command.take() {
        Some(c) => c,
        // No subcommand: `serve`, with its settings read from the environment.
        None => match Cli::parse_from(["ticket-gateway", "serve"]).command {
            Some(c) => c,
            None => return Err("cannot read the serve settings".into()),
        },
    };
    match command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            crate::edge::init_logs(cli.log_format);
            let db = connect_migrated(&cli.database).await?;
            db.close().await.ok();
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed(args) => {
            crate::edge::init_logs(cli.log_format);
            let db = connect_migrated(&cli.database).await?;
            run_seed(&db, &args).await
        }
        Command::Token(args) => {
            let access = if let Some(u) = &args.access.user {
                Access::User(UserId::parse(u).map_err(|e| format!("--user: {e}"))?)
            } else if let Some(o) = &args.access.org {
                Access::Org(OrgId::parse(o).map_err(|e| format!("--org: {e}"))?)
            } else {
                Access::AllAreas
            };
            let keys = keys(&cli.jwt, &cli.database).await?;
            println!("{}", keys.mint(&access, &args.scope, args.ttl)?);
            Ok(())
        }
        Command::Serve(settings) => {
            crate::edge::init_logs(cli.log_format);
            serve(&cli, settings).await
        }
    }
}

async fn connect_migrated(settings: &DatabaseSettings) -> Result<DatabaseConnection, String> {
    connect_migrated_with(settings, None).await
}

async fn connect_migrated_with(
    settings: &DatabaseSettings,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, String> {
    let db = db::connect(&settings.database_url).await?;
    db::migrate(&db).await?;
    if statement_timeout.is_none() {
        return Ok(db);
    }
    // Migrations (an index build, say) may run longer than any request: they ran without
    // the limit; the connections that serve requests have it.
    db.close()
        .await
        .map_err(|e| format!("closing the migration connection failed: {e}"))?;
    db::connect_with(&settings.database_url, statement_timeout).await
}

fn uses_shared_secret(jwt: &JwtSettings) -> bool {
    jwt.jwt_secret.is_some() || jwt.jwt_public_key_file.is_some()
}

/// The configured keys; the development secret of the database when nothing is configured.
async fn keys(jwt: &JwtSettings, database: &DatabaseSettings) -> Result<JwtKeys, String> {
    if uses_shared_secret(jwt) {
        return JwtKeys::from_settings(jwt, None);
    }
    let db = connect_migrated(database).await?;
    let secret = db::development_secret(&db).await?;
    JwtKeys::from_settings(jwt, Some(&secret))
}

async fn run_seed(db: &DatabaseConnection, args: &SeedArgs) -> Result<(), String> {
    let started = Instant::now();
    let step = (args.tickets / 20).max(1000);
    let mut next_report = step;
    let summary = seed::seed(db, args.tickets, args.seed, |done, total| {
        if done >= next_report || done == total {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprintln!("seeded {done}/{total} tickets ({rate:.0} tickets/s)");
            next_report = done + step;
        }
    })
    .await?;
    eprintln!(
        "seeded {} organizations, {} users, {} tickets, {} messages in {:.1}s",
        summary.organizations,
        summary.users,
        summary.tickets,
        summary.messages,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Number of demo tickets loaded into an empty database.
const DEMO_TICKETS: usize = 300;

async fn serve(cli: &Cli, settings: ServeSettings) -> Result<(), String> {
    // A request cancelled for running too long takes its SQL with it: the server stops the
    // statement at the same limit.
    let db = connect_migrated_with(&cli.database, Some(settings.edge.request_timeout())).await?;
    let keys = if uses_shared_secret(&cli.jwt) {
        JwtKeys::from_settings(&cli.jwt, None)?
    } else {
        let secret = db::development_secret(&db).await?;
        JwtKeys::from_settings(&cli.jwt, Some(&secret))?
    };
    if keys.is_development() {
        tracing::warn!(
            "DEVELOPMENT MODE: no JWT_SECRET or JWT_PUBLIC_KEY_FILE is set; tokens are signed with a development \
             secret stored in the database. Do not run like this in production."
        );
    }
    // One row is enough to know the database is not empty; counting millions is not.
    let empty = settings.demo_data
        && support_ticket::Entity::find()
            .select_only()
            .column(support_ticket::Column::Id)
            .limit(1)
            .into_tuple::<String>()
            .one(&db)
            .await
            .map_err(|e| format!("reading the database failed: {e}"))?
            .is_none();
    if empty {
        tracing::info!("empty database: loading {DEMO_TICKETS} demo tickets");
        seed::seed(&db, DEMO_TICKETS, 42, |_, _| {}).await?;
    }
    // Bound first, so that with port 0 the URLs name the port actually taken.
    let listener = startup::listen(settings.bind_addr).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let config =
        AppConfig::new(&base, settings.graphql.clone())?.with_edge(settings.edge.clone())?;
    let mut state = AppState::new(db.clone(), keys.clone(), config);
    if let Some(url) = &cli.database.database_replica_url {
        let timeout = Some(settings.edge.request_timeout());
        state = state.with_replica(db::connect_replica(url, timeout).await?);
        tracing::info!(replica = %db::redacted(url), "statistics read from the replica");
    }
    let app = Application::on(listener, state);
    tracing::info!("listening on http://{addr}");
    tracing::info!(
        "GraphiQL: http://{addr}/graphql   dashboard: http://{addr}/dashboard   REST: {base}/v2/support_tickets"
    );
    if keys.is_development() {
        log_demo_tokens(&db, &keys).await;
    }
    app.run_until_stopped().await
}

/// One ready-to-use token per kind of access, for people trying the gateway out.
async fn log_demo_tokens(db: &DatabaseConnection, keys: &JwtKeys) {
    let first_user = user::Entity::find()
        .filter(user::Column::OrganizationId.is_not_null())
        .inner_join(support_ticket::Entity)
        .order_by_asc(user::Column::Id)
        .one(db)
        .await
        .ok()
        .flatten();
    let mut accesses = vec![("access_all_areas", Access::AllAreas)];
    if let Some(u) = first_user {
        if let Some(org) = u
            .organization_id
            .as_deref()
            .and_then(|o| OrgId::parse(o).ok())
        {
            accesses.insert(0, ("organization", Access::Org(org)));
        }
        if let Ok(id) = UserId::parse(&u.id) {
            accesses.insert(0, ("user", Access::User(id)));
        }
    }
    for (kind, access) in accesses {
        match keys.mint_demo(&access) {
            Ok(token) => tracing::info!("demo token ({kind}, valid 24h): {token}"),
            Err(e) => tracing::warn!("cannot mint a demo token: {e}"),
        }
    }
}
