//! ticket-gateway: a GraphQL gateway over support tickets, with REST shims for the
//! documented ev.energy v2 Support Tickets paths, over SQLite or PostgreSQL.

pub mod accept;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod data;
pub mod db;
pub mod edge;
pub mod error;
pub mod filter;
pub mod graphql;
pub mod ids;
pub mod limit;
pub mod live;
pub mod redis_link;
pub mod rest;
pub mod seed;
pub mod startup;
pub mod state;
