//! Each ticket's UTC day of creation, kept by PostgreSQL as a stored generated column and
//! indexed: volume counts tickets per day by reading that small index in order (a date per
//! entry, deduplicated), instead of converting a million timestamps and hashing the results.
//! SQLite cuts the day out of its text timestamps instead (see `data::stats`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "ALTER TABLE support_ticket ADD COLUMN created_day date \
             GENERATED ALWAYS AS (CAST(created_at AT TIME ZONE 'UTC' AS date)) STORED",
            "CREATE INDEX idx_ticket_created_day ON support_ticket (created_day)",
            // The column has statistics of its own now.
            "DROP STATISTICS IF EXISTS st_ticket_created_day",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "DROP INDEX IF EXISTS idx_ticket_created_day",
            "ALTER TABLE support_ticket DROP COLUMN IF EXISTS created_day",
            "CREATE STATISTICS st_ticket_created_day \
             ON (CAST(created_at AT TIME ZONE 'UTC' AS date)) FROM support_ticket",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
