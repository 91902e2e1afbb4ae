//! The JSON bodies of the `/v2` operations, in the contract's shapes: snake_case fields,
//! absolute `url`s, references as URLs unless expanded. Their schemas in the OpenAPI
//! document are derived from these same types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{support_ticket, support_ticket_message, user, Category, MessageType, Subcategory};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema;

/// Builds the absolute URLs of resources from `PUBLIC_BASE_URL`.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

impl Urls {
    /// `base` has no trailing slash (the configuration normalizes it).
    pub fn new(base: &str) -> Self {
        Self {
            base: format!("{}/v2", base.trim_end_matches('/')),
        }
    }

    pub fn tickets(&self) -> String {
        format!("{}/support_tickets", self.base)
    }

    pub fn ticket(&self, id: &str) -> String {
        format!("{}/support_tickets/{id}", self.base)
    }

    pub fn message(&self, ticket_id: &str, id: &str) -> String {
        format!("{}/support_tickets/{ticket_id}/messages/{id}", self.base)
    }

    pub fn user(&self, id: &str) -> String {
        format!("{}/users/{id}", self.base)
    }
}

/// A support ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicket)]
pub struct TicketBody {
    /// The ticket's id.
    #[schema(pattern = r"tick[A-Z\d]{26}", read_only)]
    pub id: String,
    /// This ticket's address.
    #[schema(format = "uri", read_only)]
    pub url: String,
    /// The user's URL (the user itself with `expand=user`), or null for tickets that came
    /// from channels without an account.
    #[schema(schema_with = schema::user_reference)]
    pub user: Option<UserRef>,
    /// The id in the external support system.
    #[schema(read_only)]
    pub external_ticket_id: String,
    /// Subject line.
    #[schema(read_only)]
    pub subject: Option<String>,
    /// Status name, e.g. `Open`.
    #[schema(read_only)]
    pub status: Option<String>,
    /// Priority name, e.g. `High`.
    #[schema(read_only)]
    pub priority: Option<String>,
    /// Source name, e.g. `Email`.
    #[schema(read_only)]
    pub source: Option<String>,
    /// Category set by a person.
    #[schema(schema_with = schema::nullable_category)]
    pub human_verified_category: Option<Category>,
    /// Subcategory set by a person.
    #[schema(schema_with = schema::nullable_subcategory)]
    pub human_verified_subcategory: Option<Subcategory>,
    /// Category suggested by the classifier.
    #[schema(schema_with = schema::nullable_category)]
    pub ai_generated_category: Option<Category>,
    /// Subcategory suggested by the classifier.
    #[schema(schema_with = schema::nullable_subcategory)]
    pub ai_generated_subcategory: Option<Subcategory>,
    /// Ticket type of the former classification.
    #[schema(read_only)]
    pub type_deprecated: Option<String>,
    /// Tags of the ticket.
    #[schema(required = false, read_only)]
    pub tags: Vec<String>,
    /// Message URLs, or the messages themselves with `expand=messages`.
    #[schema(schema_with = schema::message_references, required = false)]
    pub messages: MessageRefs,
    /// Summary of the conversation.
    #[schema(read_only)]
    pub conversation_summary: Option<String>,
    /// Extra fields from the support system.
    #[schema(schema_with = schema::free_object, required = false)]
    pub custom_fields: serde_json::Value,
    /// Extra facts about the user and their hardware.
    #[schema(schema_with = schema::free_object, required = false)]
    pub attributes: serde_json::Value,
    /// When the ticket was created in the support system.
    #[schema(value_type = String, format = DateTime, read_only)]
    pub created_at: DateTime<Utc>,
    /// When the ticket was last updated in the support system.
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub ticket_updated_at: Option<DateTime<Utc>>,
    /// When the ticket was resolved.
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The `user` of a ticket: a URL, or the user when expanded.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum UserRef {
    Url(String),
    Expanded(UserBody),
}

/// The `messages` of a ticket: URLs, or the messages when expanded.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum MessageRefs {
    Urls(Vec<String>),
    Expanded(Vec<MessageBody>),
}

/// A message of a ticket's conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicketMessage)]
pub struct MessageBody {
    /// The message's id.
    #[schema(pattern = "tmsg[A-Z0-9]{26}", read_only)]
    pub id: String,
    /// Place in the conversation; 0 is the first message.
    #[schema(schema_with = schema::integer)]
    pub position: i32,
    /// Who wrote it.
    #[schema(schema_with = schema::message_type)]
    pub message_type: MessageType,
    /// The text as received.
    #[schema(read_only)]
    pub message: String,
    /// The text without quoted replies, signatures and the like.
    #[schema(read_only)]
    pub message_clean: Option<String>,
    /// When it was written.
    #[schema(value_type = String, format = DateTime, read_only)]
    pub created_at: DateTime<Utc>,
}

/// A user, as far as the support-ticket paths know one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserBody {
    /// The user's id.
    #[schema(pattern = r"user[A-Z\d]{26}", read_only)]
    pub id: String,
    /// The user's address.
    #[schema(format = "uri", read_only)]
    pub url: String,
    /// Email address.
    #[schema(format = "email", required = false)]
    pub email: String,
    /// Full name.
    #[schema(required = false, read_only)]
    pub full_name: String,
    /// When the user joined.
    #[schema(value_type = String, format = DateTime, required = false, read_only)]
    pub joined_at: DateTime<Utc>,
}

/// One category or subcategory value with its label.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryOption {
    /// The value, as the API takes and returns it.
    #[schema(schema_with = schema::category)]
    pub value: Category,
    /// For display.
    pub label: &'static str,
}

/// One subcategory value with its label.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubcategoryOption {
    /// The value, as the API takes and returns it.
    #[schema(schema_with = schema::subcategory)]
    pub value: Subcategory,
    /// For display.
    pub label: &'static str,
}

/// Every category and subcategory with its label.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Categories {
    /// All categories.
    #[schema(required = false)]
    pub categories: Vec<CategoryOption>,
    /// All subcategories.
    #[schema(required = false)]
    pub subcategories: Vec<SubcategoryOption>,
}

impl Categories {
    pub fn all() -> Self {
        Self {
            categories: Category::ALL
                .iter()
                .map(|&value| CategoryOption {
                    value,
                    label: value.label(),
                })
                .collect(),
            subcategories: Subcategory::ALL
                .iter()
                .map(|&value| SubcategoryOption {
                    value,
                    label: value.label(),
                })
                .collect(),
        }
    }
}

impl UserBody {
    pub fn new(user: user::Model, urls: &Urls) -> Self {
        Self {
            url: urls.user(&user.id),
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            joined_at: user.joined_at,
        }
    }
}

impl MessageBody {
    pub fn new(message: support_ticket_message::Model) -> Self {
        Self {
            id: message.id,
            position: message.position,
            message_type: message.message_type,
            message: message.message,
            message_clean: message.message_clean,
            created_at: message.created_at,
        }
    }
}

/// What a ticket body inlines: its messages always (as URLs unless expanded), its user
/// when expanded.
pub struct Related {
    pub messages: HashMap<String, Vec<support_ticket_message::Model>>,
    /// `Some` when `expand=user`.
    pub users: Option<HashMap<String, user::Model>>,
    pub expand_messages: bool,
}

impl TicketBody {
    pub fn new(ticket: support_ticket::Model, related: &mut Related, urls: &Urls) -> Self {
        let messages = related.messages.remove(&ticket.id).unwrap_or_default();
        let messages = if related.expand_messages {
            MessageRefs::Expanded(messages.into_iter().map(MessageBody::new).collect())
        } else {
            MessageRefs::Urls(
                messages
                    .iter()
                    .map(|m| urls.message(&ticket.id, &m.id))
                    .collect(),
            )
        };
        let user = ticket.user_id.as_ref().map(|id| {
            match related.users.as_ref().and_then(|users| users.get(id)) {
                Some(user) => UserRef::Expanded(UserBody::new(user.clone(), urls)),
                // Not expanded (or, in theory, not visible): the reference alone.
                None => UserRef::Url(urls.user(id)),
            }
        });
        let tags = match ticket.tags {
            serde_json::Value::Array(items) => items
                .into_iter()
                .filter_map(|t| match t {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let object = |v: serde_json::Value| match v {
            serde_json::Value::Object(_) => v,
            _ => serde_json::Value::Object(Default::default()),
        };
        Self {
            url: urls.ticket(&ticket.id),
            id: ticket.id,
            user,
            external_ticket_id: ticket.external_ticket_id,
            subject: ticket.subject,
            status: ticket.status,
            priority: ticket.priority,
            source: ticket.source,
            human_verified_category: ticket.human_verified_category,
            human_verified_subcategory: ticket.human_verified_subcategory,
            ai_generated_category: ticket.ai_generated_category,
            ai_generated_subcategory: ticket.ai_generated_subcategory,
            type_deprecated: ticket.type_deprecated,
            tags,
            messages,
            conversation_summary: ticket.conversation_summary,
            custom_fields: object(ticket.custom_fields),
            attributes: object(ticket.attributes),
            created_at: ticket.created_at,
            ticket_updated_at: ticket.ticket_updated_at,
            resolved_at: ticket.resolved_at,
        }
    }
}
