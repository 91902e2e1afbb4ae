//! Indexes the statistics read instead of the table: over a million tickets a statistic of
//! every ticket reads a narrow index (an index-only scan) rather than every row's pages.
//!
//! - `idx_ticket_times` (created_at) carries `resolved_at` and `first_agent_response_at`
//!   (INCLUDE on PostgreSQL, trailing columns on SQLite): volume, resolution and first
//!   response read it alone. It is the narrowest index with `created_at` (the keyset index
//!   also holds each ticket's id), so it is also what counting by day reads.
//! - `idx_ticket_categorization` holds all four categorization columns: top categories,
//!   agreement and the sankey read it alone. It starts with the human-verified pair, so it
//!   replaces `idx_ticket_human_category`.
//! - On PostgreSQL, extended statistics of what the statistics group by: the UTC day of
//!   `created_at` (volume), and the combinations of the four categorization columns (top
//!   categories, agreement). Without them the planner expects about one group per ticket and
//!   aggregates without parallel workers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let times = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "CREATE INDEX idx_ticket_times ON support_ticket (created_at) \
                 INCLUDE (resolved_at, first_agent_response_at)"
            }
            _ => {
                "CREATE INDEX idx_ticket_times ON support_ticket \
                 (created_at, resolved_at, first_agent_response_at)"
            }
        };
        for statement in [
            times,
            "CREATE INDEX idx_ticket_categorization ON support_ticket \
             (human_verified_category, human_verified_subcategory, \
             ai_generated_category, ai_generated_subcategory)",
            "DROP INDEX IF EXISTS idx_ticket_human_category",
        ] {
            db.execute_unprepared(statement).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE STATISTICS st_ticket_created_day \
                 ON (CAST(created_at AT TIME ZONE 'UTC' AS date)) FROM support_ticket",
            )
            .await?;
            db.execute_unprepared(
                "CREATE STATISTICS st_ticket_categorization (ndistinct) \
                 ON human_verified_category, human_verified_subcategory, \
                 ai_generated_category, ai_generated_subcategory FROM support_ticket",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP STATISTICS IF EXISTS st_ticket_created_day, st_ticket_categorization",
            )
            .await?;
        }
        for statement in [
            "CREATE INDEX idx_ticket_human_category ON support_ticket \
             (human_verified_category, human_verified_subcategory)",
            "DROP INDEX IF EXISTS idx_ticket_categorization",
            "DROP INDEX IF EXISTS idx_ticket_times",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
