//! The change log that live updates read: one row per ticket created, categorized or
//! otherwise updated, and per message added, written by triggers in the same transaction as
//! the change, whoever the writer is (the gateway, a script, `psql`).
//!
//! Rows carry ids and versions only. On PostgreSQL each row is also announced with `NOTIFY
//! ticket_gateway_changes`, so every gateway instance hears of it at once; the log lets an
//! instance whose `LISTEN` connection dropped catch up on what it missed. On SQLite (one
//! process) the gateway reads the log by `seq`. Rows older than an hour are pruned by the
//! gateway.
//!
//! Bulk loads (the `seed` command) skip the log: on PostgreSQL by `SET LOCAL
//! ticket_gateway.bulk_load = 'on'`, on SQLite by a row in `change_log_pause` that exists only
//! inside the loading transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The categorization columns: a change to any of them (or to `version`) is CATEGORIZED.
const CATEGORIZATION: [&str; 4] = [
    "human_verified_category",
    "human_verified_subcategory",
    "ai_generated_category",
    "ai_generated_subcategory",
];

/// The other columns a client sees: a change to any of them alone is UPDATED. The kept
/// `first_agent_response_at` is not one: a message added already says so.
const OTHER: [&str; 14] = [
    "user_id",
    "external_ticket_id",
    "subject",
    "status",
    "priority",
    "source",
    "type_deprecated",
    "tags",
    "conversation_summary",
    "custom_fields",
    "attributes",
    "created_at",
    "ticket_updated_at",
    "resolved_at",
];

/// The columns whose update may be news (`UPDATE OF` these): a write of the kept
/// `first_agent_response_at` alone, which every agent message causes, does not even run the
/// trigger.
fn watched() -> String {
    ["version"]
        .iter()
        .chain(CATEGORIZATION.iter())
        .chain(OTHER.iter())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NEW.a IS DISTINCT FROM OLD.a OR ...` in the dialect's spelling of "is distinct from".
fn any_changed(columns: &[&str], distinct: &str) -> String {
    columns
        .iter()
        .map(|c| format!("NEW.{c} {distinct} OLD.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE change_log (
                       seq bigserial PRIMARY KEY,
                       at timestamptz NOT NULL DEFAULT clock_timestamp(),
                       kind text NOT NULL,
                       ticket_id text NOT NULL,
                       message_id text,
                       version bigint
                     )",
                )
                .await?;
                db.execute_unprepared("CREATE INDEX idx_change_log_at ON change_log (at)")
                    .await?;
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION ticket_gateway_ticket_changed() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     DECLARE
                       change_kind text;
                       change_seq bigint;
                     BEGIN
                       IF current_setting('ticket_gateway.bulk_load', true) = 'on' THEN
                         RETURN NULL;
                       END IF;
                       IF TG_OP = 'INSERT' THEN
                         change_kind := 'CREATED';
                       ELSIF NEW.version IS DISTINCT FROM OLD.version OR {categorized} THEN
                         change_kind := 'CATEGORIZED';
                       ELSIF {updated} THEN
                         change_kind := 'UPDATED';
                       ELSE
                         RETURN NULL;
                       END IF;
                       INSERT INTO change_log (kind, ticket_id, version)
                         VALUES (change_kind, NEW.id, NEW.version)
                         RETURNING seq INTO change_seq;
                       PERFORM pg_notify('ticket_gateway_changes', json_build_object(
                         's', change_seq, 'k', change_kind, 't', NEW.id, 'v', NEW.version)::text);
                       RETURN NULL;
                     END $$",
                    categorized = any_changed(&CATEGORIZATION, "IS DISTINCT FROM"),
                    updated = any_changed(&OTHER, "IS DISTINCT FROM"),
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_changed
                     AFTER INSERT OR UPDATE OF {watched} ON support_ticket
                     FOR EACH ROW EXECUTE FUNCTION ticket_gateway_ticket_changed()",
                    watched = watched(),
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE FUNCTION ticket_gateway_message_added() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     DECLARE
                       change_seq bigint;
                     BEGIN
                       IF current_setting('ticket_gateway.bulk_load', true) = 'on' THEN
                         RETURN NULL;
                       END IF;
                       INSERT INTO change_log (kind, ticket_id, message_id)
                         VALUES ('MESSAGE_ADDED', NEW.ticket_id, NEW.id)
                         RETURNING seq INTO change_seq;
                       PERFORM pg_notify('ticket_gateway_changes', json_build_object(
                         's', change_seq, 'k', 'MESSAGE_ADDED', 't', NEW.ticket_id,
                         'm', NEW.id)::text);
                       RETURN NULL;
                     END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER support_ticket_message_added
                     AFTER INSERT ON support_ticket_message
                     FOR EACH ROW EXECUTE FUNCTION ticket_gateway_message_added()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE change_log (
                       seq integer PRIMARY KEY AUTOINCREMENT,
                       at text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
                       kind text NOT NULL,
                       ticket_id text NOT NULL,
                       message_id text,
                       version bigint
                     )",
                )
                .await?;
                db.execute_unprepared("CREATE INDEX idx_change_log_at ON change_log (at)")
                    .await?;
                db.execute_unprepared("CREATE TABLE change_log_pause (paused integer NOT NULL)")
                    .await?;
                let live = "NOT EXISTS (SELECT 1 FROM change_log_pause)";
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_created AFTER INSERT ON support_ticket
                     WHEN {live}
                     BEGIN
                       INSERT INTO change_log (kind, ticket_id, version)
                         VALUES ('CREATED', NEW.id, NEW.version);
                     END"
                ))
                .await?;
                let categorized = format!(
                    "NEW.version IS NOT OLD.version OR {}",
                    any_changed(&CATEGORIZATION, "IS NOT")
                );
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_categorized AFTER UPDATE OF {watched} ON support_ticket
                     WHEN {live} AND ({categorized})
                     BEGIN
                       INSERT INTO change_log (kind, ticket_id, version)
                         VALUES ('CATEGORIZED', NEW.id, NEW.version);
                     END",
                    watched = watched(),
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_updated AFTER UPDATE OF {watched} ON support_ticket
                     WHEN {live} AND NOT ({categorized}) AND ({updated})
                     BEGIN
                       INSERT INTO change_log (kind, ticket_id, version)
                         VALUES ('UPDATED', NEW.id, NEW.version);
                     END",
                    updated = any_changed(&OTHER, "IS NOT"),
                    watched = watched(),
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_message_added
                     AFTER INSERT ON support_ticket_message
                     WHEN {live}
                     BEGIN
                       INSERT INTO change_log (kind, ticket_id, message_id)
                         VALUES ('MESSAGE_ADDED', NEW.ticket_id, NEW.id);
                     END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for statement in [
                    "DROP TRIGGER IF EXISTS support_ticket_changed ON support_ticket",
                    "DROP TRIGGER IF EXISTS support_ticket_message_added ON support_ticket_message",
                    "DROP FUNCTION IF EXISTS ticket_gateway_ticket_changed()",
                    "DROP FUNCTION IF EXISTS ticket_gateway_message_added()",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => {
                for trigger in [
                    "support_ticket_created",
                    "support_ticket_categorized",
                    "support_ticket_updated",
                    "support_ticket_message_added",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                        .await?;
                }
                db.execute_unprepared("DROP TABLE IF EXISTS change_log_pause")
                    .await?;
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS change_log")
            .await?;
        Ok(())
    }
}
