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

/// Most values in one list of a filter: `in`, `containsAll`, `containsAny` (and in REST, an
/// `__in` list or the repeated `tags`). Long lists are bound as one JSON value, so the SQL does
/// not grow with them; the bound keeps one request's work in proportion.
pub const MAX_LIST_VALUES: usize = 1000;

/// Lists up to this long are written into the statement value by value, which both databases
/// plan best (measured on 100k tickets: a two-value `in` 1.7 times as fast on PostgreSQL, a
/// two-tag `containsAll` 1.6 times on SQLite). Longer lists are bound as one JSON value. With
/// [`MAX_COMBINED_FILTERS`], a filter binds fewer than 18 000 values, under both databases'
/// limits (32 766 and 65 535).
const INLINE_LIST_VALUES: usize = 16;

/// Most filters one filter combines through `and`, `or` and `not`, all levels together. SQLite
/// refuses expressions nested more than 1000 deep, and every combined filter nests its
/// conditions one level deeper.
pub const MAX_COMBINED_FILTERS: usize = 100;

/// The error of a list longer than [`MAX_LIST_VALUES`], or `None`.
pub fn list_too_long(len: usize) -> Option<String> {
    (len > MAX_LIST_VALUES)
        .then(|| format!("takes at most {MAX_LIST_VALUES} values; {len} were given"))
}

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
            /// `path` names the field in errors, e.g. `filter.or[1].status`.
            fn push(&self, backend: DbBackend, col: SimpleExpr, path: &str, errors: &mut Vec<FieldError>, out: &mut Condition) {
                if let Some(v) = &self.eq {
                    out.add_mut(Expr::expr(col.clone()).eq(v.sql_text()));
                }
                if let Some(list) = &self.in_ {
                    match list_too_long(list.len()) {
                        Some(message) => errors.push(FieldError::new(format!("{path}.in"), message)),
                        None => out.add_mut(one_of(backend, col.clone(), list.iter().map(|v| v.sql_text()))),
                    }
                }
                if let Some(is_null) = self.is_null {
                    out.add_mut(if is_null { Expr::expr(col).is_null() } else { Expr::expr(col).is_not_null() });
                }
            }
        }
    };
}

/// How a filter value is stored: every filterable column is text.
trait SqlText {
    fn sql_text(&self) -> &str;
}
impl SqlText for String {
    fn sql_text(&self) -> &str {
        self
    }
}
impl SqlText for Category {
    fn sql_text(&self) -> &str {
        self.as_str()
    }
}
impl SqlText for Subcategory {
    fn sql_text(&self) -> &str {
        self.as_str()
    }
}

/// `col` equals one of `values`: a plain `IN` list for a short list, so the planner sees the
/// values; a long one bound as one value, as the data layer binds id lists (see
/// [`INLINE_LIST_VALUES`]).
fn one_of<'a>(
    backend: DbBackend,
    col: SimpleExpr,
    values: impl ExactSizeIterator<Item = &'a str>,
) -> SimpleExpr {
    if values.len() <= INLINE_LIST_VALUES {
        return Expr::expr(col).is_in(values);
    }
    crate::data::one_of(col, &values.collect::<Vec<_>>(), backend)
}

/// A list of strings as one JSON value: `jsonb` on PostgreSQL, JSON text for SQLite's
/// `json_each`.
fn json_list<'a>(values: impl IntoIterator<Item = &'a str>) -> sea_orm::Value {
    let list: Vec<serde_json::Value> = values.into_iter().map(Into::into).collect();
    sea_orm::Value::Json(Some(Box::new(serde_json::Value::Array(list))))
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
        let mut combined = 0;
        let condition = self.build(backend, "filter", 0, &mut combined, &mut errors);
        if errors.is_empty() {
            Ok(condition)
        } else {
            Err(AppError::bad_fields(errors))
        }
    }

    /// `combined` counts the filters met so far through `and`, `or` and `not`.
    fn build(
        &self,
        backend: DbBackend,
        path: &str,
        depth: usize,
        combined: &mut usize,
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
        let field = |name: &str| format!("{path}.{name}");
        for (name, column, filter) in [
            (
                "externalTicketId",
                C::ExternalTicketId,
                &self.external_ticket_id,
            ),
            ("status", C::Status, &self.status),
            ("priority", C::Priority, &self.priority),
            ("source", C::Source, &self.source),
        ] {
            if let Some(f) = filter {
                f.push(backend, col(column), &field(name), errors, &mut out);
            }
        }
        for (name, column, filter) in [
            (
                "humanVerifiedCategory",
                C::HumanVerifiedCategory,
                &self.human_verified_category,
            ),
            (
                "aiGeneratedCategory",
                C::AiGeneratedCategory,
                &self.ai_generated_category,
            ),
        ] {
            if let Some(f) = filter {
                f.push(backend, col(column), &field(name), errors, &mut out);
            }
        }
        for (name, column, filter) in [
            (
                "humanVerifiedSubcategory",
                C::HumanVerifiedSubcategory,
                &self.human_verified_subcategory,
            ),
            (
                "aiGeneratedSubcategory",
                C::AiGeneratedSubcategory,
                &self.ai_generated_subcategory,
            ),
        ] {
            if let Some(f) = filter {
                f.push(backend, col(column), &field(name), errors, &mut out);
            }
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
                out.add_mut(has_tags(backend, std::iter::once(tag.as_str())));
            }
            if let Some(all) = &tags.contains_all {
                match list_too_long(all.len()) {
                    Some(message) => {
                        errors.push(FieldError::new(field("tags.containsAll"), message))
                    }
                    None => out.add_mut(has_tags(backend, all.iter().map(String::as_str))),
                }
            }
            if let Some(any) = &tags.contains_any {
                match list_too_long(any.len()) {
                    Some(message) => {
                        errors.push(FieldError::new(field("tags.containsAny"), message))
                    }
                    None => out.add_mut(has_any_tag(backend, any.iter().map(String::as_str))),
                }
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
                if let Some(message) = list_too_long(ids.len()) {
                    errors.push(FieldError::new(field("user.in"), message));
                } else {
                    let parsed: Vec<String> =
                        ids.iter().filter_map(|id| parse(id, errors)).collect();
                    out.add_mut(one_of(
                        backend,
                        col(C::UserId),
                        parsed.iter().map(String::as_str),
                    ));
                }
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
            let list = format!("{path}.and");
            let each = all
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("{list}[{i}]"), f));
            for c in Self::build_each(each, &list, backend, depth, combined, errors) {
                out.add_mut(c);
            }
        }
        if let Some(any) = &self.or {
            let list = format!("{path}.or");
            let mut either = Condition::any();
            let each = any
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("{list}[{i}]"), f));
            for c in Self::build_each(each, &list, backend, depth, combined, errors) {
                either = either.add(c);
            }
            // An empty `or` matches nothing, as an empty disjunction should.
            out.add_mut(either);
        }
        if let Some(not) = &self.not {
            let list = format!("{path}.not");
            let each = [(list.clone(), not.as_ref())];
            for c in Self::build_each(each, &list, backend, depth, combined, errors) {
                out.add_mut(c.not());
            }
        }
        out
    }

    /// The conditions of the filters under `and`, `or` or `not` (`list`), each with its path
    /// and counted against [`MAX_COMBINED_FILTERS`].
    fn build_each<'f>(
        filters: impl IntoIterator<Item = (String, &'f TicketFilter)>,
        list: &str,
        backend: DbBackend,
        depth: usize,
        combined: &mut usize,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Condition> {
        let mut out = Vec::new();
        for (path, f) in filters {
            *combined += 1;
            if *combined > MAX_COMBINED_FILTERS {
                // Said once, where the budget ran out.
                if *combined == MAX_COMBINED_FILTERS + 1 {
                    errors.push(FieldError::new(
                        list,
                        format!(
                            "one filter combines at most {MAX_COMBINED_FILTERS} filters through and, or and not"
                        ),
                    ));
                }
                break;
            }
            out.push(f.build(backend, &path, depth + 1, combined, errors));
        }
        out
    }
}

/// `tags` holds a JSON array of strings; it has every one of `wanted`. PostgreSQL: jsonb
/// containment of the whole list (GIN-indexed). SQLite: an `EXISTS` per tag of a short list;
/// for a long one, one check that no wanted tag is missing.
fn has_tags<'a>(backend: DbBackend, wanted: impl ExactSizeIterator<Item = &'a str>) -> Condition {
    let one = |sql: &'static str, value: sea_orm::Value| {
        Condition::all().add(Expr::cust_with_values(sql, [value]))
    };
    match backend {
        DbBackend::Postgres => one(
            r#""support_ticket"."tags" @> CAST($1 AS jsonb)"#,
            json_list(wanted),
        ),
        // An empty list adds no condition: every ticket has all of no tags.
        _ if wanted.len() <= INLINE_LIST_VALUES => wanted.fold(Condition::all(), |all, tag| {
            all.add(Expr::cust_with_values(
                r#"EXISTS (SELECT 1 FROM json_each("support_ticket"."tags") WHERE json_each.value = ?)"#,
                [tag.to_owned()],
            ))
        }),
        _ => one(
            r#"NOT EXISTS (SELECT 1 FROM json_each(?) AS wanted WHERE NOT EXISTS (SELECT 1 FROM json_each("support_ticket"."tags") AS tag WHERE tag.value = wanted.value))"#,
            json_list(wanted),
        ),
    }
}

/// `tags` has at least one of `wanted`. On PostgreSQL one containment per wanted tag, which the
/// GIN index answers.
fn has_any_tag<'a>(backend: DbBackend, wanted: impl IntoIterator<Item = &'a str>) -> SimpleExpr {
    let wanted = json_list(wanted);
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            r#""support_ticket"."tags" @> ANY(ARRAY(SELECT jsonb_build_array(value) FROM jsonb_array_elements_text(CAST($1 AS jsonb))))"#,
            [wanted],
        ),
        _ => Expr::cust_with_values(
            r#"EXISTS (SELECT 1 FROM json_each("support_ticket"."tags") AS tag WHERE tag.value IN (SELECT value FROM json_each(?)))"#,
            [wanted],
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
                if let Some(message) = list_too_long(list.len()) {
                    return Err(AppError::bad_field("filter.messageType.in", message));
                }
                // At most four distinct values, so a plain IN list stays small.
                let distinct: std::collections::BTreeSet<&str> =
                    list.iter().map(|t| t.as_str()).collect();
                out.add_mut(c(C::MessageType).is_in(distinct));
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
