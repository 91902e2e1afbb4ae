//! The one filter language of the product. GraphQL takes these types as arguments, the
//! REST shims parse query strings into them, and the data layer turns them into SQL.

use async_graphql::{InputObject, ID};
use chrono::{DateTime, Utc};
use entity::{support_ticket, support_ticket_message, Category, MessageType, Subcategory};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{Condition, DbBackend};

use crate::error::{AppError, FieldError};
use crate::ids::UserId;

/// Adds a condition in place (sea-query's `add` takes and returns by value).
trait AddMut {
    fn add_mut<C: sea_orm::sea_query::IntoCondition>(&mut self, c: C);
}

impl AddMut for Condition {
    fn add_mut<C: sea_orm::sea_query::IntoCondition>(&mut self, c: C) {
        let taken = std::mem::replace(self, Condition::all());
        *self = taken.add(c);
    }
}

/// Deepest `and` / `or` / `not` nesting accepted in one filter.
pub const MAX_FILTER_NESTING: usize = 8;

macro_rules! value_filter {
    ($(#[$meta:meta])* $name:ident, $ty:ty) => {
        $(#[$meta])*
        #[derive(InputObject, Debug, Clone, Default, PartialEq)]
        pub struct $name {
            /// Equal to this value.
            pub eq: Option<$ty>,
            /// Equal to one of these values.
            #[graphql(name = "in")]
            pub in_: Option<Vec<$ty>>,
            /// `true`: no value; `false`: any value.
            pub is_null: Option<bool>,
        }

        impl $name {
            fn push(&self, col: SimpleExpr, out: &mut Condition) {
                if let Some(v) = &self.eq {
                    out.add_mut(Expr::expr(col.clone()).eq(to_value(v)));
                }
                if let Some(list) = &self.in_ {
                    out.add_mut(Expr::expr(col.clone()).is_in(list.iter().map(to_value)));
                }
                if let Some(is_null) = self.is_null {
                    out.add_mut(if is_null { Expr::expr(col).is_null() } else { Expr::expr(col).is_not_null() });
                }
            }
        }
    };
}

trait ToSqlValue {
    fn sql_value(&self) -> sea_orm::Value;
}
impl ToSqlValue for String {
    fn sql_value(&self) -> sea_orm::Value {
        self.clone().into()
    }
}
impl ToSqlValue for Category {
    fn sql_value(&self) -> sea_orm::Value {
        self.as_str().into()
    }
}
impl ToSqlValue for Subcategory {
    fn sql_value(&self) -> sea_orm::Value {
        self.as_str().into()
    }
}
fn to_value<T: ToSqlValue>(v: &T) -> sea_orm::Value {
    v.sql_value()
}

value_filter!(
    /// Matches a text field exactly.
    StringFilter, String
);
value_filter!(
    /// Matches a category field.
    CategoryFilter, Category
);
value_filter!(
    /// Matches a subcategory field.
    SubcategoryFilter, Subcategory
);

/// Matches a timestamp: `gte` and `lte` together form an inclusive range.
#[derive(InputObject, Debug, Clone, Default, PartialEq)]
pub struct DateTimeFilter {
    /// At or after this instant.
    pub gte: Option<DateTime<Utc>>,
    /// At or before this instant.
    pub lte: Option<DateTime<Utc>>,
    /// `true`: no value; `false`: any value.
    pub is_null: Option<bool>,
}

/// Matches the ticket's tags.
#[derive(InputObject, Debug, Clone, Default, PartialEq)]
pub struct TagsFilter {
    /// Has this tag.
    pub contains: Option<String>,
    /// Has every one of these tags.
    pub contains_all: Option<Vec<String>>,
    /// Has at least one of these tags.
    pub contains_any: Option<Vec<String>>,
}

/// Matches the ticket's user, by user id (or user URL).
#[derive(InputObject, Debug, Clone, Default, PartialEq)]
pub struct UserRefFilter {
    /// Belongs to this user.
    pub eq: Option<ID>,
    /// Belongs to one of these users.
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
    /// `true`: tickets with no user; `false`: tickets with a user.
    pub is_null: Option<bool>,
}

/// Selects tickets. All the fields given must match; `and`, `or` and `not` compose filters.
#[derive(InputObject, Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    /// The id in the external support system.
    pub external_ticket_id: Option<StringFilter>,
    /// Status name, e.g. `Open`.
    pub status: Option<StringFilter>,
    /// Priority name, e.g. `High`.
    pub priority: Option<StringFilter>,
    /// Source name, e.g. `Email`.
    pub source: Option<StringFilter>,
    /// Human-verified category.
    pub human_verified_category: Option<CategoryFilter>,
    /// Human-verified subcategory.
    pub human_verified_subcategory: Option<SubcategoryFilter>,
    /// AI-generated category.
    pub ai_generated_category: Option<CategoryFilter>,
    /// AI-generated subcategory.
    pub ai_generated_subcategory: Option<SubcategoryFilter>,
    /// When the ticket was created.
    pub created_at: Option<DateTimeFilter>,
    /// When the ticket was resolved; `isNull: true` selects unresolved tickets.
    pub resolved_at: Option<DateTimeFilter>,
    /// When the ticket was last updated in the support system.
    pub ticket_updated_at: Option<DateTimeFilter>,
    /// Tags of the ticket.
    pub tags: Option<TagsFilter>,
    /// The ticket's user.
    pub user: Option<UserRefFilter>,
    /// Every one of these filters matches.
    pub and: Option<Vec<TicketFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<TicketFilter>>,
    /// This filter does not match.
    pub not: Option<Box<TicketFilter>>,
}

fn col(c: support_ticket::Column) -> SimpleExpr {
    Expr::col((support_ticket::Entity, c))
}

impl TicketFilter {
    /// The SQL condition on `support_ticket`, or BAD_USER_INPUT naming each bad field.
    pub fn condition(&self, backend: DbBackend) -> Result<Condition, AppError> {
        let mut errors = Vec::new();
        let condition = self.build(backend, "filter", 0, &mut errors);
        if errors.is_empty() {
            Ok(condition)
        } else {
            Err(AppError::bad_fields(errors))
        }
    }

    fn build(
        &self,
        backend: DbBackend,
        path: &str,
        depth: usize,
        errors: &mut Vec<FieldError>,
    ) -> Condition {
        use support_ticket::Column as C;
        let mut out = Condition::all();
        if depth > MAX_FILTER_NESTING {
            errors.push(FieldError::new(
                path,
                format!("filters nest at most {MAX_FILTER_NESTING} levels deep"),
            ));
            return out;
        }
        if let Some(f) = &self.external_ticket_id {
            f.push(col(C::ExternalTicketId), &mut out);
        }
        if let Some(f) = &self.status {
            f.push(col(C::Status), &mut out);
        }
        if let Some(f) = &self.priority {
            f.push(col(C::Priority), &mut out);
        }
        if let Some(f) = &self.source {
            f.push(col(C::Source), &mut out);
        }
        if let Some(f) = &self.human_verified_category {
            f.push(col(C::HumanVerifiedCategory), &mut out);
        }
        if let Some(f) = &self.human_verified_subcategory {
            f.push(col(C::HumanVerifiedSubcategory), &mut out);
        }
        if let Some(f) = &self.ai_generated_category {
            f.push(col(C::AiGeneratedCategory), &mut out);
        }
        if let Some(f) = &self.ai_generated_subcategory {
            f.push(col(C::AiGeneratedSubcategory), &mut out);
        }
        for (name, column, filter) in [
            ("createdAt", C::CreatedAt, &self.created_at),
            ("resolvedAt", C::ResolvedAt, &self.resolved_at),
            (
                "ticketUpdatedAt",
                C::TicketUpdatedAt,
                &self.ticket_updated_at,
            ),
        ] {
            let Some(f) = filter else { continue };
            if let (Some(gte), Some(lte)) = (f.gte, f.lte) {
                if gte > lte {
                    errors.push(FieldError::new(
                        format!("{path}.{name}"),
                        "the range starts after it ends (gte > lte)",
                    ));
                }
            }
            if let Some(gte) = f.gte {
                out.add_mut(Expr::expr(col(column)).gte(gte));
            }
            if let Some(lte) = f.lte {
                out.add_mut(Expr::expr(col(column)).lte(lte));
            }
            if let Some(is_null) = f.is_null {
                out.add_mut(if is_null {
                    Expr::expr(col(column)).is_null()
                } else {
                    Expr::expr(col(column)).is_not_null()
                });
            }
        }
        if let Some(tags) = &self.tags {
            if let Some(tag) = &tags.contains {
                out.add_mut(has_tag(backend, tag));
            }
            if let Some(all) = &tags.contains_all {
                for tag in all {
                    out.add_mut(has_tag(backend, tag));
                }
            }
            if let Some(any) = &tags.contains_any {
                let mut either = Condition::any();
                for tag in any {
                    either = either.add(has_tag(backend, tag));
                }
                out.add_mut(either);
            }
        }
        if let Some(user) = &self.user {
            let parse = |id: &ID, errors: &mut Vec<FieldError>| match UserId::parse_id_or_url(id) {
                Ok(u) => Some(u.into_string()),
                Err(e) => {
                    errors.push(FieldError::new(format!("{path}.user"), e.to_string()));
                    None
                }
            };
            if let Some(id) = &user.eq {
                if let Some(u) = parse(id, errors) {
                    out.add_mut(Expr::expr(col(C::UserId)).eq(u));
                }
            }
            if let Some(ids) = &user.in_ {
                let parsed: Vec<String> = ids.iter().filter_map(|id| parse(id, errors)).collect();
                out.add_mut(Expr::expr(col(C::UserId)).is_in(parsed));
            }
            if let Some(is_null) = user.is_null {
                out.add_mut(if is_null {
                    Expr::expr(col(C::UserId)).is_null()
                } else {
                    Expr::expr(col(C::UserId)).is_not_null()
                });
            }
        }
        if let Some(all) = &self.and {
            for (i, f) in all.iter().enumerate() {
                out.add_mut(f.build(backend, &format!("{path}.and[{i}]"), depth + 1, errors));
            }
        }
        if let Some(any) = &self.or {
            let mut either = Condition::any();
            for (i, f) in any.iter().enumerate() {
                either =
                    either.add(f.build(backend, &format!("{path}.or[{i}]"), depth + 1, errors));
            }
            // An empty `or` matches nothing, as an empty disjunction should.
            out.add_mut(either);
        }
        if let Some(not) = &self.not {
            out.add_mut(
                not.build(backend, &format!("{path}.not"), depth + 1, errors)
                    .not(),
            );
        }
        out
    }
}

/// `tags` holds a JSON array of strings: jsonb containment on PostgreSQL (GIN-indexed),
/// `json_each` on SQLite.
fn has_tag(backend: DbBackend, tag: &str) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            r#""support_ticket"."tags" @> CAST($1 AS jsonb)"#,
            [sea_orm::Value::Json(Some(Box::new(serde_json::json!([
                tag
            ]))))],
        ),
        _ => Expr::cust_with_values(
            r#"EXISTS (SELECT 1 FROM json_each("support_ticket"."tags") WHERE json_each.value = ?)"#,
            [sea_orm::Value::from(tag.to_owned())],
        ),
    }
}

/// Matches the message type.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MessageTypeFilter {
    /// Equal to this type.
    pub eq: Option<MessageType>,
    /// One of these types.
    #[graphql(name = "in")]
    pub in_: Option<Vec<MessageType>>,
}

/// Matches a whole number.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IntFilter {
    /// Equal to this number.
    pub eq: Option<i32>,
    /// At least this number.
    pub gte: Option<i32>,
    /// At most this number.
    pub lte: Option<i32>,
}

/// Selects messages of a ticket.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MessageFilter {
    /// Who wrote the message.
    pub message_type: Option<MessageTypeFilter>,
    /// Position in the conversation; 0 is the first message.
    pub position: Option<IntFilter>,
}

impl MessageFilter {
    /// The SQL condition on `support_ticket_message`.
    pub fn condition(&self) -> Result<Condition, AppError> {
        use support_ticket_message::Column as C;
        let c = |column: C| Expr::col((support_ticket_message::Entity, column));
        let mut out = Condition::all();
        if let Some(t) = &self.message_type {
            if let Some(eq) = t.eq {
                out.add_mut(c(C::MessageType).eq(eq.as_str()));
            }
            if let Some(list) = &t.in_ {
                out.add_mut(c(C::MessageType).is_in(list.iter().map(|t| t.as_str())));
            }
        }
        if let Some(p) = &self.position {
            if let (Some(gte), Some(lte)) = (p.gte, p.lte) {
                if gte > lte {
                    return Err(AppError::bad_field(
                        "filter.position",
                        "the range starts after it ends (gte > lte)",
                    ));
                }
            }
            if let Some(eq) = p.eq {
                out.add_mut(c(C::Position).eq(eq));
            }
            if let Some(gte) = p.gte {
                out.add_mut(c(C::Position).gte(gte));
            }
            if let Some(lte) = p.lte {
                out.add_mut(c(C::Position).lte(lte));
            }
        }
        Ok(out)
    }
}
