//! Organizations, users, tickets, messages and categorization changes, with the indexes the
//! API's queries use: scope (user, organization), cursor pages (created_at, id), filters.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
    OrganizationId,
    Email,
    FullName,
    JoinedAt,
}

#[derive(DeriveIden)]
enum SupportTicket {
    Table,
    Id,
    UserId,
    ExternalTicketId,
    Subject,
    Status,
    Priority,
    Source,
    HumanVerifiedCategory,
    HumanVerifiedSubcategory,
    AiGeneratedCategory,
    AiGeneratedSubcategory,
    TypeDeprecated,
    Tags,
    ConversationSummary,
    CustomFields,
    Attributes,
    CreatedAt,
    TicketUpdatedAt,
    ResolvedAt,
    Version,
}

#[derive(DeriveIden)]
enum SupportTicketMessage {
    Table,
    Id,
    TicketId,
    Position,
    MessageType,
    Message,
    MessageClean,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GatewaySetting {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum CategorizationChange {
    Table,
    Id,
    TicketId,
    ChangedBy,
    ChangedAt,
    Before,
    After,
    Version,
}

fn id_col<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(30)
        .not_null()
        .primary_key()
        .to_owned()
}

fn index<T: IntoIden>(table: T, name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(id_col(Organization::Id))
                    .col(ColumnDef::new(Organization::Name).string().not_null())
                    .col(
                        ColumnDef::new(Organization::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .col(id_col(User::Id))
                    .col(ColumnDef::new(User::OrganizationId).string_len(30).null())
                    .col(ColumnDef::new(User::Email).string().not_null())
                    .col(ColumnDef::new(User::FullName).string().not_null())
                    .col(
                        ColumnDef::new(User::JoinedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(User::Table, User::OrganizationId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SupportTicket::Table)
                    .col(id_col(SupportTicket::Id))
                    .col(ColumnDef::new(SupportTicket::UserId).string_len(30).null())
                    .col(
                        ColumnDef::new(SupportTicket::ExternalTicketId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SupportTicket::Subject).text().null())
                    .col(ColumnDef::new(SupportTicket::Status).string().null())
                    .col(ColumnDef::new(SupportTicket::Priority).string().null())
                    .col(ColumnDef::new(SupportTicket::Source).string().null())
                    .col(
                        ColumnDef::new(SupportTicket::HumanVerifiedCategory)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::HumanVerifiedSubcategory)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::AiGeneratedCategory)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::AiGeneratedSubcategory)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::TypeDeprecated)
                            .string()
                            .null(),
                    )
                    .col(ColumnDef::new(SupportTicket::Tags).json_binary().not_null())
                    .col(
                        ColumnDef::new(SupportTicket::ConversationSummary)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::CustomFields)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::Attributes)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::TicketUpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicket::Version)
                            .big_integer()
                            .not_null()
                            .default(1),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SupportTicket::Table, SupportTicket::UserId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SupportTicketMessage::Table)
                    .col(id_col(SupportTicketMessage::Id))
                    .col(
                        ColumnDef::new(SupportTicketMessage::TicketId)
                            .string_len(30)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicketMessage::Position)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicketMessage::MessageType)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicketMessage::Message)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicketMessage::MessageClean)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupportTicketMessage::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SupportTicketMessage::Table, SupportTicketMessage::TicketId)
                            .to(SupportTicket::Table, SupportTicket::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CategorizationChange::Table)
                    .col(id_col(CategorizationChange::Id))
                    .col(
                        ColumnDef::new(CategorizationChange::TicketId)
                            .string_len(30)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CategorizationChange::ChangedBy)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CategorizationChange::ChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CategorizationChange::Before)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CategorizationChange::After)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CategorizationChange::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CategorizationChange::Table, CategorizationChange::TicketId)
                            .to(SupportTicket::Table, SupportTicket::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Small key/value store for the gateway itself (the development signing secret).
        manager
            .create_table(
                Table::create()
                    .table(GatewaySetting::Table)
                    .col(
                        ColumnDef::new(GatewaySetting::Key)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(GatewaySetting::Value).text().not_null())
                    .to_owned(),
            )
            .await?;

        let indexes = [
            index(
                User::Table,
                "idx_user_organization",
                &["organization_id", "id"],
            ),
            // Scope by user, newest first: the list query of user tokens.
            index(
                SupportTicket::Table,
                "idx_ticket_user_created",
                &["user_id", "created_at", "id"],
            ),
            // Cursor pages over everything (all-areas tokens).
            index(
                SupportTicket::Table,
                "idx_ticket_created",
                &["created_at", "id"],
            ),
            index(
                SupportTicket::Table,
                "idx_ticket_external_id",
                &["external_ticket_id"],
            ),
            index(SupportTicket::Table, "idx_ticket_status", &["status"]),
            index(SupportTicket::Table, "idx_ticket_priority", &["priority"]),
            index(SupportTicket::Table, "idx_ticket_source", &["source"]),
            index(
                SupportTicket::Table,
                "idx_ticket_human_category",
                &["human_verified_category", "human_verified_subcategory"],
            ),
            index(
                SupportTicket::Table,
                "idx_ticket_ai_category",
                &["ai_generated_category", "ai_generated_subcategory"],
            ),
            index(
                SupportTicket::Table,
                "idx_ticket_resolved",
                &["resolved_at"],
            ),
            index(
                SupportTicket::Table,
                "idx_ticket_updated",
                &["ticket_updated_at"],
            ),
            index(
                CategorizationChange::Table,
                "idx_categorization_change_ticket",
                &["ticket_id", "changed_at"],
            ),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        manager
            .create_index(
                index(
                    SupportTicketMessage::Table,
                    "ux_message_ticket_position",
                    &["ticket_id", "position"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // `tags @> '["x"]'` filters use this; SQLite scans json_each instead.
            manager
                .get_connection()
                .execute_unprepared("CREATE INDEX idx_ticket_tags ON support_ticket USING GIN (tags jsonb_path_ops)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewaySetting::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CategorizationChange::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SupportTicketMessage::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SupportTicket::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(User::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organization::Table).to_owned())
            .await?;
        Ok(())
    }
}
