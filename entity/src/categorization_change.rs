//! The audit record of one change to a ticket's categorization: who, when, before and after.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "categorization_change")]
pub struct Model {
    /// `ccat` + ULID.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ticket_id: String,
    /// The token subject that made the change (`sub` claim, else a description of the access).
    pub changed_by: String,
    pub changed_at: DateTimeUtc,
    /// `Categorization` before the change, as JSON.
    pub before: Json,
    /// `Categorization` after the change, as JSON.
    pub after: Json,
    /// The ticket version the change produced.
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::support_ticket::Entity",
        from = "Column::TicketId",
        to = "super::support_ticket::Column::Id"
    )]
    SupportTicket,
}

impl Related<super::support_ticket::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SupportTicket.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
