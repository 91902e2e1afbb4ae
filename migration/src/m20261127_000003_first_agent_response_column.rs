//! Each ticket's first agent response, kept on the ticket: `first_agent_response_at` is the
//! `created_at` of its earliest HUMAN_AGENT_RESPONSE or AI_AGENT_RESPONSE message, or NULL.
//! Triggers on messages keep it in the same transaction as any write, whoever the writer is
//! (the gateway, a script, `psql`), so the first-response statistic reads tickets alone
//! instead of every agent message. Existing tickets are backfilled here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The earliest agent message of the ticket `ticket` (an SQL expression naming its id): one
/// descent of `idx_message_first_agent_response`, whose predicate this repeats word for word.
fn first_of(ticket: &str) -> String {
    format!(
        "(SELECT MIN(m.created_at) FROM support_ticket_message AS m WHERE m.ticket_id = {ticket} \
         AND m.message_type IN ('HUMAN_AGENT_RESPONSE', 'AI_AGENT_RESPONSE'))"
    )
}

const AGENT: &str = "('HUMAN_AGENT_RESPONSE', 'AI_AGENT_RESPONSE')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("support_ticket"))
                    .add_column(
                        ColumnDef::new(Alias::new("first_agent_response_at"))
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION support_ticket_first_agent_response() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     BEGIN
                       IF TG_OP <> 'INSERT' AND OLD.message_type IN {AGENT} THEN
                         UPDATE support_ticket SET first_agent_response_at = {old}
                         WHERE id = OLD.ticket_id;
                       END IF;
                       IF TG_OP <> 'DELETE' AND NEW.message_type IN {AGENT} THEN
                         UPDATE support_ticket SET first_agent_response_at = {new}
                         WHERE id = NEW.ticket_id;
                       END IF;
                       RETURN NULL;
                     END $$",
                    old = first_of("OLD.ticket_id"),
                    new = first_of("NEW.ticket_id"),
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER support_ticket_first_agent_response
                     AFTER INSERT OR UPDATE OR DELETE ON support_ticket_message
                     FOR EACH ROW EXECUTE FUNCTION support_ticket_first_agent_response()",
                )
                .await?;
            }
            _ => {
                // SQLite: one trigger per event; each recomputes the tickets the row was and is in.
                let old = format!(
                    "UPDATE support_ticket SET first_agent_response_at = {} WHERE id = OLD.ticket_id;",
                    first_of("OLD.ticket_id")
                );
                let new = format!(
                    "UPDATE support_ticket SET first_agent_response_at = {} WHERE id = NEW.ticket_id;",
                    first_of("NEW.ticket_id")
                );
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_first_agent_response_insert
                     AFTER INSERT ON support_ticket_message WHEN NEW.message_type IN {AGENT}
                     BEGIN {new} END"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_first_agent_response_delete
                     AFTER DELETE ON support_ticket_message WHEN OLD.message_type IN {AGENT}
                     BEGIN {old} END"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER support_ticket_first_agent_response_update
                     AFTER UPDATE ON support_ticket_message
                     WHEN OLD.message_type IN {AGENT} OR NEW.message_type IN {AGENT}
                     BEGIN {old} {new} END"
                ))
                .await?;
            }
        }
        db.execute_unprepared(&format!(
            "UPDATE support_ticket SET first_agent_response_at = {}",
            first_of("support_ticket.id")
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS support_ticket_first_agent_response ON support_ticket_message",
                )
                .await?;
                db.execute_unprepared(
                    "DROP FUNCTION IF EXISTS support_ticket_first_agent_response()",
                )
                .await?;
            }
            _ => {
                for event in ["insert", "delete", "update"] {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS support_ticket_first_agent_response_{event}"
                    ))
                    .await?;
                }
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("support_ticket"))
                    .drop_column(Alias::new("first_agent_response_at"))
                    .to_owned(),
            )
            .await
    }
}
