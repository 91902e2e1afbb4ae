//! The data-access layer: plain async functions over a connection and the caller's
//! [`Scope`]. GraphQL resolvers and REST handlers are thin callers of these.

pub mod messages;
pub mod scope;
pub mod stats;
pub mod tickets;
pub mod users;

use chrono::{DateTime, SubsecRound, Utc};
pub use scope::Scope;

/// Now, at the precision both backends store (microseconds), so that a value written and
/// read back compares equal, which cursors rely on.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
