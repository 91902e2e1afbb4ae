//! The GraphQL object types. Each wraps a row; nested objects resolve through the
//! request's DataLoaders.
//!
//! The row types resolve their fields one after another (`serial`): every field answers at
//! once from the row or from loaders primed ahead, so nothing waits longer for it, the executor
//! spares a task per field, and the fields come out in the order they were requested.

use std::sync::Arc;

use async_graphql::{Context, Interface, Json, Object, Result, SimpleObject, Value, ID};
use chrono::{DateTime, Utc};
use entity::{categorization_change, organization, support_ticket, support_ticket_message, user};
use entity::{Category, MessageType, Subcategory};

use super::fast::{self, Fast, Plain};
use super::loaders::{loader_error, Loaders, MessagesKey};
use crate::filter::MessageFilter;

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

/// Anything with a global id: tickets (`tick…`), messages (`tmsg…`) and users (`user…`).
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The global id."))]
pub enum Node {
    Ticket(Ticket),
    Message(Message),
    User(User),
}

/// A support ticket from the customer support system.
pub struct Ticket(pub Arc<support_ticket::Model>);

#[Object(serial)]
impl Ticket {
    /// Unique identifier: `tick` followed by a ULID, so ids sort by creation time.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The ticket's id in the external support system (e.g. Freshdesk).
    async fn external_ticket_id(&self) -> &str {
        &self.0.external_ticket_id
    }

    /// The subject or title of the ticket.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// Status name, e.g. `Open`, `Resolved`, `Closed`.
    async fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }

    /// Priority name, e.g. `Low`, `Medium`, `High`, `Urgent`.
    async fn priority(&self) -> Option<&str> {
        self.0.priority.as_deref()
    }

    /// Source name, e.g. `Email`, `Phone`, `Feedback Widget`.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// Category set by a person.
    async fn human_verified_category(&self) -> Option<Category> {
        self.0.human_verified_category
    }

    /// Subcategory set by a person.
    async fn human_verified_subcategory(&self) -> Option<Subcategory> {
        self.0.human_verified_subcategory
    }

    /// Category suggested by the classifier.
    async fn ai_generated_category(&self) -> Option<Category> {
        self.0.ai_generated_category
    }

    /// Subcategory suggested by the classifier.
    async fn ai_generated_subcategory(&self) -> Option<Subcategory> {
        self.0.ai_generated_subcategory
    }

    /// Legacy ticket type, from before categories and subcategories.
    async fn type_deprecated(&self) -> Option<&str> {
        self.0.type_deprecated.as_deref()
    }

    /// Tags, e.g. `ai-categorised`, `escalated`. Entries that are not strings are skipped.
    async fn tags(&self) -> Vec<&str> {
        self.tag_list().collect()
    }

    /// An AI-generated summary of the conversation.
    async fn conversation_summary(&self) -> Option<&str> {
        self.0.conversation_summary.as_deref()
    }

    /// Custom fields from the support system (e.g. `car_manufacturer`), as a JSON object.
    async fn custom_fields(&self) -> Json<&serde_json::Value> {
        Json(&self.0.custom_fields)
    }

    /// Information about the user and their hardware, as a JSON object.
    async fn attributes(&self) -> Json<&serde_json::Value> {
        Json(&self.0.attributes)
    }

    /// When the ticket was created in the support system.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the ticket was last updated in the support system.
    async fn ticket_updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.ticket_updated_at
    }

    /// When the ticket was resolved; null while it is unresolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }

    /// Increases with every categorization change. Pass it as `expectedVersion` to
    /// `categorizeTicket` to make sure nobody changed the ticket since you read it.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// The user who raised the ticket; null for tickets from channels without an account.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<Fast<User>>> {
        let Some(id) = &self.0.user_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?
            .users
            .load_one(id.clone())
            .await
            .map_err(loader_error)?;
        Ok(found.map(|user| Fast(User(user))))
    }

    /// The conversation, ordered by position (0 is the first message).
    async fn messages(
        &self,
        ctx: &Context<'_>,
        filter: Option<MessageFilter>,
    ) -> Result<Vec<Fast<Message>>> {
        let filter = filter.unwrap_or_default();
        filter.condition()?;
        let key = MessagesKey {
            ticket_id: self.0.id.clone(),
            filter,
        };
        let found = loaders(ctx)?
            .messages
            .load_one(key)
            .await
            .map_err(loader_error)?;
        Ok(found
            .map(|list| list.iter().map(|m| Fast(Message(m.clone()))).collect())
            .unwrap_or_default())
    }

    /// One message of this ticket, by id; null when it is not a message of this ticket.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Fast<Message>>> {
        let key = MessagesKey {
            ticket_id: self.0.id.clone(),
            filter: MessageFilter::default(),
        };
        let found = loaders(ctx)?
            .messages
            .load_one(key)
            .await
            .map_err(loader_error)?;
        Ok(found.and_then(|list| {
            list.iter()
                .find(|m| m.id == id.as_str())
                .map(|m| Fast(Message(m.clone())))
        }))
    }

    /// Every change of this ticket's categorization, oldest first.
    async fn categorization_history(&self, ctx: &Context<'_>) -> Result<Vec<CategorizationChange>> {
        let found = loaders(ctx)?
            .history
            .load_one(self.0.id.clone())
            .await
            .map_err(loader_error)?;
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .map(CategorizationChange)
            .collect())
    }
}

impl Ticket {
    fn tag_list(&self) -> impl Iterator<Item = &str> {
        self.0
            .tags
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
    }
}

impl Plain for Ticket {
    fn plain(&self, field: &str) -> Option<Value> {
        let t = &*self.0;
        Some(match field {
            "id" => fast::string(&t.id),
            "externalTicketId" => fast::string(&t.external_ticket_id),
            "subject" => fast::maybe_string(t.subject.as_deref()),
            "status" => fast::maybe_string(t.status.as_deref()),
            "priority" => fast::maybe_string(t.priority.as_deref()),
            "source" => fast::maybe_string(t.source.as_deref()),
            "humanVerifiedCategory" => fast::maybe_enum(t.human_verified_category),
            "humanVerifiedSubcategory" => fast::maybe_enum(t.human_verified_subcategory),
            "aiGeneratedCategory" => fast::maybe_enum(t.ai_generated_category),
            "aiGeneratedSubcategory" => fast::maybe_enum(t.ai_generated_subcategory),
            "typeDeprecated" => fast::maybe_string(t.type_deprecated.as_deref()),
            "tags" => Value::List(self.tag_list().map(fast::string).collect()),
            "conversationSummary" => fast::maybe_string(t.conversation_summary.as_deref()),
            "customFields" => fast::json(&t.custom_fields),
            "attributes" => fast::json(&t.attributes),
            "createdAt" => fast::date_time(t.created_at),
            "ticketUpdatedAt" => fast::maybe_date_time(t.ticket_updated_at),
            "resolvedAt" => fast::maybe_date_time(t.resolved_at),
            "version" => Value::from(t.version),
            _ => return None,
        })
    }
}

/// A message within a support ticket conversation.
pub struct Message(pub Arc<support_ticket_message::Model>);

#[Object(serial)]
impl Message {
    /// Unique identifier: `tmsg` followed by a ULID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The id of the ticket this message belongs to.
    async fn ticket_id(&self) -> ID {
        ID(self.0.ticket_id.clone())
    }

    /// Position in the conversation; 0 is the first message.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// Who wrote the message.
    async fn message_type(&self) -> MessageType {
        self.0.message_type
    }

    /// The message as written.
    async fn message(&self) -> &str {
        &self.0.message
    }

    /// The message with signatures, quotes and boilerplate removed.
    async fn message_clean(&self) -> Option<&str> {
        self.0.message_clean.as_deref()
    }

    /// When the message was created in the support system.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl Plain for Message {
    fn plain(&self, field: &str) -> Option<Value> {
        let m = &*self.0;
        Some(match field {
            "id" => fast::string(&m.id),
            "ticketId" => fast::string(&m.ticket_id),
            "position" => Value::from(m.position),
            "messageType" => fast::maybe_enum(Some(m.message_type)),
            "message" => fast::string(&m.message),
            "messageClean" => fast::maybe_string(m.message_clean.as_deref()),
            "createdAt" => fast::date_time(m.created_at),
            _ => return None,
        })
    }
}

/// A customer.
pub struct User(pub user::Model);

#[Object(serial)]
impl User {
    /// Unique identifier: `user` followed by a ULID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The user's email address.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The user's full name.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }

    /// When the user joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }

    /// The organization the user belongs to, if any.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Fast<Organization>>> {
        let Some(id) = &self.0.organization_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?
            .organizations
            .load_one(id.clone())
            .await
            .map_err(loader_error)?;
        Ok(found.map(|organization| Fast(Organization(organization))))
    }
}

impl Plain for User {
    fn plain(&self, field: &str) -> Option<Value> {
        let u = &self.0;
        Some(match field {
            "id" => fast::string(&u.id),
            "email" => fast::string(&u.email),
            "fullName" => fast::string(&u.full_name),
            "joinedAt" => fast::date_time(u.joined_at),
            _ => return None,
        })
    }
}

/// An organization of users.
pub struct Organization(pub organization::Model);

#[Object(serial)]
impl Organization {
    /// Unique identifier: `orgn` followed by a ULID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The organization's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
}

impl Plain for Organization {
    fn plain(&self, field: &str) -> Option<Value> {
        let o = &self.0;
        Some(match field {
            "id" => fast::string(&o.id),
            "name" => fast::string(&o.name),
            _ => return None,
        })
    }
}

/// A ticket's four categorization fields at one moment.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(serial)]
pub struct CategorizationSnapshot {
    /// Category set by a person.
    pub human_verified_category: Option<Category>,
    /// Subcategory set by a person.
    pub human_verified_subcategory: Option<Subcategory>,
    /// Category suggested by the classifier.
    pub ai_generated_category: Option<Category>,
    /// Subcategory suggested by the classifier.
    pub ai_generated_subcategory: Option<Subcategory>,
}

impl From<support_ticket::Categorization> for CategorizationSnapshot {
    fn from(c: support_ticket::Categorization) -> Self {
        Self {
            human_verified_category: c.human_verified_category,
            human_verified_subcategory: c.human_verified_subcategory,
            ai_generated_category: c.ai_generated_category,
            ai_generated_subcategory: c.ai_generated_subcategory,
        }
    }
}

/// One recorded change of a ticket's categorization.
pub struct CategorizationChange(pub categorization_change::Model);

fn snapshot(value: &serde_json::Value) -> CategorizationSnapshot {
    serde_json::from_value::<support_ticket::Categorization>(value.clone())
        .map(Into::into)
        .unwrap_or_default()
}

#[Object(serial)]
impl CategorizationChange {
    /// Who made the change (the token's subject).
    async fn changed_by(&self) -> &str {
        &self.0.changed_by
    }

    /// When the change was made.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at
    }

    /// The categorization before the change.
    async fn before(&self) -> CategorizationSnapshot {
        snapshot(&self.0.before)
    }

    /// The categorization after the change.
    async fn after(&self) -> CategorizationSnapshot {
        snapshot(&self.0.after)
    }

    /// The ticket version this change produced.
    async fn version(&self) -> i64 {
        self.0.version
    }
}

/// A category value with its display label.
#[derive(SimpleObject, Debug, Clone)]
pub struct CategoryOption {
    /// The enum value, for programs.
    pub value: Category,
    /// The human-readable label, for display.
    pub label: String,
}

/// A subcategory value with its display label.
#[derive(SimpleObject, Debug, Clone)]
pub struct SubcategoryOption {
    /// The enum value, for programs.
    pub value: Subcategory,
    /// The human-readable label, for display.
    pub label: String,
}

/// Every category and subcategory a ticket can carry.
#[derive(SimpleObject, Debug, Clone)]
pub struct Categories {
    /// All categories, in the contract's order.
    pub categories: Vec<CategoryOption>,
    /// All subcategories, in the contract's order.
    pub subcategories: Vec<SubcategoryOption>,
}

impl Categories {
    pub fn all() -> Self {
        Self {
            categories: Category::ALL
                .iter()
                .map(|&c| CategoryOption {
                    value: c,
                    label: c.label().to_owned(),
                })
                .collect(),
            subcategories: Subcategory::ALL
                .iter()
                .map(|&c| SubcategoryOption {
                    value: c,
                    label: c.label().to_owned(),
                })
                .collect(),
        }
    }
}

/// The kind of access a token grants.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// One user's tickets.
    User,
    /// The tickets of one organization's users.
    Organization,
    /// Every ticket, including tickets with no user.
    AllAreas,
}

/// What the calling token may do.
#[derive(SimpleObject, Debug, Clone)]
pub struct Viewer {
    /// The kind of access.
    pub access: AccessKind,
    /// The user (for user access) or organization (for organization access) id.
    pub access_id: Option<ID>,
    /// The user the request is narrowed to by the `EvEnergy-User` header, if any.
    pub acting_user_id: Option<ID>,
    /// The OAuth scopes granted, e.g. `support:read`.
    pub oauth_scopes: Vec<String>,
    /// Whether the token may read tickets (`support:read`).
    pub can_read: bool,
    /// Whether the token may change categorizations (`support:write`).
    pub can_write: bool,
}

/// Where a page sits in the whole list.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(serial)]
pub struct PageInfo {
    /// More items follow this page.
    pub has_next_page: bool,
    /// Items precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page.
    pub end_cursor: Option<String>,
}

/// A client's GraphQL budget, in points per hour (the README explains what operations cost).
/// It refills smoothly: a point comes back every hour / `limit`.
#[derive(SimpleObject, Clone)]
pub struct RateLimit {
    /// What the current operation costs (already taken from `remaining`).
    pub cost: u64,
    /// Points per hour.
    pub limit: u64,
    /// Points left after this operation.
    pub remaining: u64,
    /// When the whole budget is back if nothing more is spent.
    pub reset_at: DateTime<Utc>,
}
