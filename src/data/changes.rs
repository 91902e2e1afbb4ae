//! The change log (see the `change_log` migration): what live updates read. Triggers write it
//! in the same transaction as every ticket and message change; these functions read it,
//! prune it, and let bulk loads skip it.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, TransactionTrait,
};

use crate::error::AppResult;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The ticket was created.
    Created,
    /// Its categorization changed (its `version` went up).
    Categorized,
    /// Another field changed (status, subject, dates, tags, ...).
    Updated,
    /// A message was added to it.
    MessageAdded,
}

impl ChangeKind {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "CREATED" => Self::Created,
            "CATEGORIZED" => Self::Categorized,
            "UPDATED" => Self::Updated,
            "MESSAGE_ADDED" => Self::MessageAdded,
            _ => return None,
        })
    }
}

/// One row of the change log: ids and a version, never the data itself, which subscribers
/// read afresh in their own scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the log.
    pub seq: i64,
    pub kind: ChangeKind,
    pub ticket_id: String,
    /// The message added, for [`ChangeKind::MessageAdded`].
    pub message_id: Option<String>,
    /// The ticket's version after the change (ticket changes only).
    pub version: Option<i64>,
}

#[derive(FromQueryResult)]
struct Row {
    seq: i64,
    kind: String,
    ticket_id: String,
    message_id: Option<String>,
    version: Option<i64>,
}

impl Row {
    fn into_change(self) -> Option<Change> {
        Some(Change {
            seq: self.seq,
            kind: ChangeKind::parse(&self.kind)?,
            ticket_id: self.ticket_id,
            message_id: self.message_id,
            version: self.version,
        })
    }
}

/// How many rows one read of the log returns at most.
pub const READ_BATCH: u64 = 1000;

const COLUMNS: &str = "seq, kind, ticket_id, message_id, version";

async fn read(db: &DatabaseConnection, statement: Statement) -> AppResult<Vec<Change>> {
    Ok(Row::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .filter_map(Row::into_change)
        .collect())
}

/// The changes after `seq`, oldest first, at most [`READ_BATCH`].
pub async fn after(db: &DatabaseConnection, seq: i64) -> AppResult<Vec<Change>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            format!("SELECT {COLUMNS} FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        }
        _ => format!("SELECT {COLUMNS} FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?"),
    };
    read(
        db,
        Statement::from_sql_and_values(backend, sql, [seq.into(), (READ_BATCH as i64).into()]),
    )
    .await
}

/// Every change after `seq`, oldest first.
pub async fn all_after(db: &DatabaseConnection, seq: i64) -> AppResult<Vec<Change>> {
    let mut all = Vec::new();
    let mut last = seq;
    loop {
        let batch = after(db, last).await?;
        let full = batch.len() as u64 == READ_BATCH;
        if let Some(change) = batch.last() {
            last = change.seq;
        }
        all.extend(batch);
        if !full {
            return Ok(all);
        }
    }
}

/// Every change logged in the last `seconds` by the database's clock, oldest first: what a
/// listener whose connection dropped may have missed. PostgreSQL only.
pub async fn logged_within(db: &DatabaseConnection, seconds: u64) -> AppResult<Vec<Change>> {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    read(
        db,
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT {COLUMNS} FROM change_log \
                 WHERE at >= now() - make_interval(secs => $1) ORDER BY seq"
            ),
            [seconds.into()],
        ),
    )
    .await
}

/// `NOTIFY channel, payload` (PostgreSQL).
pub async fn notify(db: &DatabaseConnection, channel: &str, payload: &str) -> AppResult<()> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// The last position in the log (0 when it is empty).
pub async fn last_seq(db: &DatabaseConnection) -> AppResult<i64> {
    #[derive(FromQueryResult)]
    struct Last {
        seq: Option<i64>,
    }
    let backend = db.get_database_backend();
    let last = Last::find_by_statement(Statement::from_string(
        backend,
        "SELECT MAX(seq) AS seq FROM change_log",
    ))
    .one(db)
    .await?;
    Ok(last.and_then(|l| l.seq).unwrap_or(0))
}

/// Deletes the rows older than an hour: a listener that was away longer has lost more than
/// the log can tell anyway.
pub async fn prune(db: &DatabaseConnection) -> AppResult<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "DELETE FROM change_log WHERE at < now() - interval '1 hour'",
        _ => "DELETE FROM change_log WHERE at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour')",
    };
    db.execute_unprepared(sql).await?;
    Ok(())
}

/// Reads a `NOTIFY ticket_gateway_changes` payload.
pub fn from_notification(payload: &str) -> Option<Change> {
    #[derive(serde::Deserialize)]
    struct Payload {
        s: i64,
        k: String,
        t: String,
        m: Option<String>,
        v: Option<i64>,
    }
    let p: Payload = serde_json::from_str(payload).ok()?;
    Some(Change {
        seq: p.s,
        kind: ChangeKind::parse(&p.k)?,
        ticket_id: p.t,
        message_id: p.m,
        version: p.v,
    })
}

/// Makes the rest of `txn` skip the change log (bulk loads). Call [`end_bulk_load`] before
/// committing.
pub async fn begin_bulk_load<C: ConnectionTrait + TransactionTrait>(txn: &C) -> AppResult<()> {
    match txn.get_database_backend() {
        DbBackend::Postgres => {
            txn.execute_unprepared("SET LOCAL ticket_gateway.bulk_load = 'on'")
                .await?;
        }
        _ => {
            txn.execute_unprepared("INSERT INTO change_log_pause (paused) VALUES (1)")
                .await?;
        }
    }
    Ok(())
}

/// Ends what [`begin_bulk_load`] began (on PostgreSQL the transaction's end does it).
pub async fn end_bulk_load<C: ConnectionTrait + TransactionTrait>(txn: &C) -> AppResult<()> {
    if txn.get_database_backend() != DbBackend::Postgres {
        txn.execute_unprepared("DELETE FROM change_log_pause")
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_read_and_garbage_is_not() {
        let change =
            from_notification(r#"{"s":7,"k":"CATEGORIZED","t":"tick01","v":3}"#).expect("reads");
        assert_eq!(change.seq, 7);
        assert_eq!(change.kind, ChangeKind::Categorized);
        assert_eq!(change.version, Some(3));
        assert_eq!(change.message_id, None);
        let added = from_notification(r#"{"s":8,"k":"MESSAGE_ADDED","t":"tick01","m":"msg01"}"#)
            .expect("reads");
        assert_eq!(added.message_id.as_deref(), Some("msg01"));
        assert_eq!(from_notification(r#"{"s":9,"k":"EXPLODED","t":"x"}"#), None);
        assert_eq!(from_notification("not json"), None);
    }
}
