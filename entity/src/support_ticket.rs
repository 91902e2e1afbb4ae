//! A support ticket imported from the support system, with its categorization.

use sea_orm::entity::prelude::*;

use crate::{Category, Subcategory};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_ticket")]
pub struct Model {
    /// `tick` + ULID.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Null for tickets from channels without an account (web forms, pre-signup).
    pub user_id: Option<String>,
    pub external_ticket_id: String,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub source: Option<String>,
    pub human_verified_category: Option<Category>,
    pub human_verified_subcategory: Option<Subcategory>,
    pub ai_generated_category: Option<Category>,
    pub ai_generated_subcategory: Option<Subcategory>,
    pub type_deprecated: Option<String>,
    /// JSON array of strings.
    pub tags: Json,
    pub conversation_summary: Option<String>,
    /// JSON object.
    pub custom_fields: Json,
    /// JSON object.
    pub attributes: Json,
    pub created_at: DateTimeUtc,
    pub ticket_updated_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    /// Bumped by every categorization change; the optimistic-concurrency token.
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
    #[sea_orm(has_many = "super::support_ticket_message::Entity")]
    Message,
    #[sea_orm(has_many = "super::categorization_change::Entity")]
    CategorizationChange,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::support_ticket_message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl Related<super::categorization_change::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CategorizationChange.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// The four categorization fields, as one value: what a categorization change reads and writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Categorization {
    pub human_verified_category: Option<Category>,
    pub human_verified_subcategory: Option<Subcategory>,
    pub ai_generated_category: Option<Category>,
    pub ai_generated_subcategory: Option<Subcategory>,
}

impl Model {
    /// The ticket's current categorization.
    pub fn categorization(&self) -> Categorization {
        Categorization {
            human_verified_category: self.human_verified_category,
            human_verified_subcategory: self.human_verified_subcategory,
            ai_generated_category: self.ai_generated_category,
            ai_generated_subcategory: self.ai_generated_subcategory,
        }
    }
}
