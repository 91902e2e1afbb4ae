//! Schema migrations for SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_tables;
mod m20261124_000002_first_agent_response_index;
mod m20261127_000003_first_agent_response_column;
mod m20261128_000004_change_log;
mod m20261128_000005_statistics_indexes;
mod m20261128_000006_created_day_column;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_tables::Migration),
            Box::new(m20261124_000002_first_agent_response_index::Migration),
            Box::new(m20261127_000003_first_agent_response_column::Migration),
            Box::new(m20261128_000004_change_log::Migration),
            Box::new(m20261128_000005_statistics_indexes::Migration),
            Box::new(m20261128_000006_created_day_column::Migration),
        ]
    }
}
