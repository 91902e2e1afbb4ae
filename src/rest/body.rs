//! The JSON bodies of the `/v2` operations, in the contract's shapes: snake_case fields,
//! absolute `url`s, references as URLs unless expanded. Their schemas in the OpenAPI
//! document are derived from these same types.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{support_ticket, support_ticket_message, user, Category, MessageType, Subcategory};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema;
use crate::data::stats;

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

// ---- statistics ----

/// The key under which a breakdown counts the tickets with no value. The contract's keys are
/// strings, so the no-value bucket (a null `value` in GraphQL) is listed under this one.
pub const NO_VALUE: &str = "(none)";

/// Sankey diagram data: human-verified category to subcategory flows.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicketStatsSankey)]
pub struct SankeyBody {
    /// Categories (`category:<label>`), then subcategories (`subcategory:<label>`).
    #[schema(inline, required = false)]
    pub nodes: Vec<SankeyNodeBody>,
    /// Flows from a category to a subcategory, largest first.
    #[schema(inline, required = false)]
    pub links: Vec<SankeyLinkBody>,
}

/// A category or subcategory node.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyNodeBody {
    /// `category:<label>` or `subcategory:<label>`; tickets with a category and no
    /// subcategory flow to `subcategory:No subcategory`.
    pub id: String,
    /// For display.
    pub label: String,
}

/// Tickets flowing from a category to a subcategory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyLinkBody {
    /// Id of the category node.
    pub source: String,
    /// Id of the subcategory node.
    pub target: String,
    /// Number of tickets.
    #[schema(schema_with = schema::integer)]
    pub value: u64,
}

impl SankeyBody {
    pub fn new(sankey: stats::Sankey) -> Self {
        Self {
            nodes: sankey
                .nodes
                .into_iter()
                .map(|n| SankeyNodeBody {
                    id: n.id,
                    label: n.label,
                })
                .collect(),
            links: sankey
                .links
                .into_iter()
                .map(|l| SankeyLinkBody {
                    source: l.source,
                    target: l.target,
                    value: l.value,
                })
                .collect(),
        }
    }
}

/// Tickets created per period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicketStatsVolume)]
pub struct VolumeBody {
    /// Periods, oldest first; those with no tickets between the first and the last count 0.
    #[schema(inline, required = false)]
    pub time_series: Vec<VolumePointBody>,
}

/// Tickets created in one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VolumePointBody {
    /// First day of the period (UTC; weeks start on Monday).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Number of tickets created in the period.
    #[schema(schema_with = schema::integer)]
    pub count: u64,
}

impl VolumeBody {
    pub fn new(points: Vec<stats::VolumePoint>) -> Self {
        Self {
            time_series: points
                .into_iter()
                .map(|p| VolumePointBody {
                    date: p.date,
                    count: p.count,
                })
                .collect(),
        }
    }
}

/// Resolution metrics. Times are in hours, from `created_at` to `resolved_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicketStatsResolution)]
pub struct ResolutionBody {
    /// Resolved share of the tickets, 0-1 (0 when there are none).
    #[schema(format = Float)]
    pub resolution_rate: f64,
    /// Mean resolution time; null when no ticket is resolved.
    #[schema(format = Float, required = false)]
    pub avg_resolution_time_hours: Option<f64>,
    /// Median resolution time (interpolated between the two middle values of an even
    /// count); null when no ticket is resolved.
    #[schema(format = Float, required = false)]
    pub median_resolution_time_hours: Option<f64>,
    /// Tickets with a `resolved_at`.
    #[schema(schema_with = schema::integer)]
    pub total_resolved: u64,
    /// Tickets without a `resolved_at`.
    #[schema(schema_with = schema::integer)]
    pub total_unresolved: u64,
}

impl ResolutionBody {
    pub fn new(r: stats::Resolution) -> Self {
        Self {
            resolution_rate: r.resolution_rate,
            avg_resolution_time_hours: r.times.average_hours,
            median_resolution_time_hours: r.times.median_hours,
            total_resolved: r.total_resolved,
            total_unresolved: r.total_unresolved,
        }
    }
}

/// A breakdown body and its bucket, keyed by the name of the ticket field.
macro_rules! breakdown_body {
    ($body:ident as $name:ident, $bucket:ident, $key:ident, $key_doc:tt, $what:tt, $one:tt) => {
        #[doc = $what]
        #[derive(Debug, Clone, Serialize, ToSchema)]
        #[schema(as = $name)]
        pub struct $body {
            /// Values with their tickets, largest first.
            #[schema(inline, required = false)]
            pub breakdown: Vec<$bucket>,
        }

        #[doc = $one]
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $bucket {
            #[doc = $key_doc]
            pub $key: String,
            /// Number of tickets.
            #[schema(schema_with = schema::integer)]
            pub count: u64,
            /// Share of the tickets, 0-1.
            #[schema(format = Float)]
            pub percentage: f64,
        }

        impl $body {
            pub fn new(buckets: Vec<stats::Bucket>) -> Self {
                Self {
                    breakdown: buckets
                        .into_iter()
                        .map(|b| $bucket {
                            $key: b.value.unwrap_or_else(|| NO_VALUE.to_owned()),
                            count: b.count,
                            percentage: b.percentage,
                        })
                        .collect(),
                }
            }
        }
    };
}

breakdown_body!(
    StatusBreakdownBody as SupportTicketStatsStatus,
    StatusBucket,
    status,
    "Status value, e.g. `Open`; `(none)` for the tickets with no status.",
    "Tickets per status.",
    "Tickets with one status."
);
breakdown_body!(
    PriorityBreakdownBody as SupportTicketStatsPriority,
    PriorityBucket,
    priority,
    "Priority value, e.g. `High`; `(none)` for the tickets with no priority.",
    "Tickets per priority.",
    "Tickets with one priority."
);
breakdown_body!(
    SourceBreakdownBody as SupportTicketStatsSource,
    SourceBucket,
    source,
    "Source value, e.g. `Email`; `(none)` for the tickets with no source.",
    "Tickets per source.",
    "Tickets with one source."
);

/// The most frequent human-verified categories and subcategories.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SupportTicketStatsTopCategories)]
pub struct TopCategoriesBody {
    /// Categories, largest first.
    #[schema(inline, required = false)]
    pub categories: Vec<CategoryCountBody>,
    /// Subcategories with the category they were recorded under, largest first.
    #[schema(inline, required = false)]
    pub subcategories: Vec<SubcategoryCountBody>,
}

/// Tickets of one category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryCountBody {
    /// The category.
    #[schema(schema_with = schema::category)]
    pub category: Category,
    /// Number of tickets.
    #[schema(schema_with = schema::integer)]
    pub count: u64,
    /// Share of the tickets, 0-1.
    #[schema(format = Float)]
    pub percentage: f64,
}

/// Tickets of one subcategory under one category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubcategoryCountBody {
    /// The subcategory.
    #[schema(schema_with = schema::subcategory)]
    pub subcategory: Subcategory,
    /// The category it was recorded under.
    #[schema(schema_with = schema::category)]
    pub category: Category,
    /// Number of tickets.
    #[schema(schema_with = schema::integer)]
    pub count: u64,
    /// Share of the tickets, 0-1.
    #[schema(format = Float)]
    pub percentage: f64,
}

impl TopCategoriesBody {
    pub fn new(top: stats::TopCategories) -> Self {
        Self {
            categories: top
                .categories
                .into_iter()
                .map(|c| CategoryCountBody {
                    category: c.category,
                    count: c.count,
                    percentage: c.percentage,
                })
                .collect(),
            subcategories: top
                .subcategories
                .into_iter()
                .map(|s| SubcategoryCountBody {
                    subcategory: s.subcategory,
                    category: s.category,
                    count: s.count,
                    percentage: s.percentage,
                })
                .collect(),
        }
    }
}
