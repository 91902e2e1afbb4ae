//! API tests: every test runs through the router, on SQLite and (with `TEST_DATABASE_URL`)
//! on PostgreSQL.

mod access;
mod edge;
mod foundation;
mod graphql;
mod graphql_http;
mod graphql_limits;
mod helpers;
mod lists;
mod playground;
mod rate_limits;
mod rest;
mod rest_stats;
mod stats;
mod subscriptions;
#[path = "../support/ws_client.rs"]
mod ws_client;
