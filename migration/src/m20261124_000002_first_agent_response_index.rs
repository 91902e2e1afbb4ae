//! A partial index for the first-response statistic: per ticket, its agent messages by time,
//! so "earliest agent message of this ticket" is one index descent instead of a read of all
//! its messages.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_message_first_agent_response";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The predicate must match the statistic's `message_type IN (...)` word for word for
        // the planner to use it. The same SQL works on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {INDEX} ON support_ticket_message (ticket_id, created_at) \
                 WHERE message_type IN ('HUMAN_AGENT_RESPONSE', 'AI_AGENT_RESPONSE')"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
            .await?;
        Ok(())
    }
}
