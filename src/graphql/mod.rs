//! The GraphQL door: schema, limits and the HTTP handlers of `/graphql`.

mod connection;
mod cost;
mod documents;
mod fast;
pub mod graphiql;
mod guard;
mod http;
mod loaders;
mod mutation;
mod order;
mod over_http;
mod persisted;
mod query;
mod shape;
mod stats;
mod subscription;
pub mod types;
mod ws;

use async_graphql::{Context, Schema};
use sea_orm::DatabaseConnection;

pub use connection::{page_spec, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use documents::Documents;
pub use http::{graphql_get, graphql_post, refusal};
pub use loaders::Loaders;
pub use mutation::Mutation;
pub use persisted::{sha256_hex, Manifest, PersistedQueries, KEY_PREFIX as PERSISTED_KEY_PREFIX};
pub use query::Query;
pub use subscription::Subscription;
pub use ws::{Sockets, MAX_SUBSCRIPTIONS};

use crate::config::GraphqlSettings;
use crate::data::Scope;
use crate::error::AppError;

pub type GatewaySchema = Schema<Query, Mutation, Subscription>;

/// The schema with the configured limits.
pub fn build_schema(settings: &GraphqlSettings) -> GatewaySchema {
    // Depth and cost are limited in `http::precheck`: depth without introspection's `ofType`,
    // cost by the model of `cost`, which also spends the hourly budget. No extensions: the
    // plain fields of `fast` objects are answered without calling any around them.
    let mut builder = Schema::build(Query::default(), Mutation, Subscription)
        .limit_directives(settings.graphql_max_directives);
    if !settings.graphql_introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL, as `ticket-gateway schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(&GraphqlSettings::default()).sdl()
}

/// The cost model of the schema (the same whatever the settings).
fn cost_model() -> &'static cost::CostModel {
    static MODEL: std::sync::OnceLock<cost::CostModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        // The SDL is this binary's own: it parses, or the unit tests say so.
        cost::CostModel::from_sdl(&sdl()).unwrap_or_default()
    })
}

fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection, AppError> {
    ctx.data::<DatabaseConnection>()
        .map_err(|e| AppError::Internal(e.message))
}

fn scope(ctx: &Context<'_>) -> Result<Scope, AppError> {
    guard::principal(ctx).map(|p| p.scope())
}
