//! One message of a ticket's conversation; `position` 0 is the first.

use sea_orm::entity::prelude::*;

use crate::MessageType;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_ticket_message")]
pub struct Model {
    /// `tmsg` + ULID.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ticket_id: String,
    /// Unique per ticket.
    pub position: i32,
    pub message_type: MessageType,
    pub message: String,
    pub message_clean: Option<String>,
    pub created_at: DateTimeUtc,
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
