//! The data-access layer: plain async functions over a connection and the caller's
//! [`Scope`]. GraphQL resolvers and REST handlers are thin callers of these.

pub mod changes;
pub mod messages;
pub mod replica;
mod rows;
pub mod scope;
pub mod stats;
pub mod tickets;
pub mod users;

use chrono::{DateTime, SubsecRound, Utc};
pub use scope::Scope;
use sea_orm::sea_query::extension::postgres::PgFunc;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::DbBackend;

/// Now, at the precision both backends store (microseconds), so that a value written and
/// read back compares equal, which cursors rely on.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `column IN ids`, with the whole list bound as one value: `= ANY($1)` on PostgreSQL,
/// `IN (SELECT value FROM json_each(?))` on SQLite. One statement text for every list length,
/// so it is prepared once and cached, and no list is too long for the SQL parser.
pub(crate) fn one_of<S: AsRef<str>>(
    column: SimpleExpr,
    ids: &[S],
    backend: DbBackend,
) -> SimpleExpr {
    let owned = || {
        ids.iter()
            .map(|id| id.as_ref().to_owned())
            .collect::<Vec<String>>()
    };
    match backend {
        DbBackend::Postgres => column.eq(PgFunc::any(Expr::val(owned()))),
        _ => {
            let list = serde_json::Value::from(owned()).to_string();
            column.in_subquery(
                Query::select()
                    .column(Alias::new("value"))
                    .from_function(Func::cust("json_each").arg(list), Alias::new("ids"))
                    .to_owned(),
            )
        }
    }
}
