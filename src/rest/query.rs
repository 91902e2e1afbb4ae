//! Query strings of the `/v2` operations into the product's own types: the filter
//! parameters into [`TicketFilter`] / [`MessageFilter`], plus `expand` and the page
//! parameters. The tables here also drive the parameters of the OpenAPI document, so the
//! document lists exactly what the parser accepts.

use async_graphql::ID;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{Category, MessageType, Subcategory};

use crate::error::{AppError, FieldError};
use crate::filter::{
    list_too_long, CategoryFilter, DateTimeFilter, IntFilter, MessageFilter, MessageTypeFilter,
    StringFilter, SubcategoryFilter, TagsFilter, TicketFilter, UserRefFilter,
};
use crate::ids::UserId;

/// The decoded `name=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Every non-empty value of `name`. An empty value counts as absent, as legacy
    /// clients send `?status=` to mean "no filter".
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last non-empty value of `name`: a repeated single-valued parameter takes the last.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.all(name).pop()
    }

    /// The pairs, without the named parameters.
    pub fn without(&self, names: &[&str]) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(n, _)| !names.contains(&n.as_str()))
            .cloned()
            .collect()
    }
}

/// What a filter parameter does to its field; the suffix of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `field=value`
    Exact,
    /// `field__in=a,b`
    In,
    /// `field__isnull=true|false`
    IsNull,
    /// `field__gte=value`
    Gte,
    /// `field__lte=value`
    Lte,
    /// `field__range=start,end`
    Range,
}

impl Op {
    pub fn suffix(self) -> &'static str {
        match self {
            Op::Exact => "",
            Op::In => "__in",
            Op::IsNull => "__isnull",
            Op::Gte => "__gte",
            Op::Lte => "__lte",
            Op::Range => "__range",
        }
    }
}

/// The filterable fields of a ticket, as the list parameters name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketField {
    ExternalTicketId,
    HumanVerifiedCategory,
    HumanVerifiedSubcategory,
    AiGeneratedCategory,
    AiGeneratedSubcategory,
    Status,
    Priority,
    Source,
    CreatedAt,
    ResolvedAt,
    TicketUpdatedAt,
    User,
    Tags,
}

/// The value a parameter takes, for parsing and for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    /// Comma-separated values.
    List,
    Boolean,
    DateTime,
    /// `start,end`.
    DateTimeRange,
    /// A user id or a user URL.
    UserRef,
    Integer,
}

impl TicketField {
    pub fn name(self) -> &'static str {
        match self {
            Self::ExternalTicketId => "external_ticket_id",
            Self::HumanVerifiedCategory => "human_verified_category",
            Self::HumanVerifiedSubcategory => "human_verified_subcategory",
            Self::AiGeneratedCategory => "ai_generated_category",
            Self::AiGeneratedSubcategory => "ai_generated_subcategory",
            Self::Status => "status",
            Self::Priority => "priority",
            Self::Source => "source",
            Self::CreatedAt => "created_at",
            Self::ResolvedAt => "resolved_at",
            Self::TicketUpdatedAt => "ticket_updated_at",
            Self::User => "user",
            Self::Tags => "tags",
        }
    }

    fn is_date(self) -> bool {
        matches!(
            self,
            Self::CreatedAt | Self::ResolvedAt | Self::TicketUpdatedAt
        )
    }
}

/// One filter parameter of a list operation.
#[derive(Debug, Clone, Copy)]
pub struct FilterParam<F> {
    pub field: F,
    pub op: Op,
    /// For the OpenAPI document.
    pub doc: &'static str,
}

impl FilterParam<TicketField> {
    pub fn name(&self) -> String {
        format!("{}{}", self.field.name(), self.op.suffix())
    }

    pub fn kind(&self) -> ValueKind {
        match (self.field, self.op) {
            (_, Op::IsNull) => ValueKind::Boolean,
            (_, Op::In) => ValueKind::List,
            (_, Op::Range) => ValueKind::DateTimeRange,
            (f, _) if f.is_date() => ValueKind::DateTime,
            (TicketField::User, _) => ValueKind::UserRef,
            _ => ValueKind::Text,
        }
    }
}

const fn tp(field: TicketField, op: Op, doc: &'static str) -> FilterParam<TicketField> {
    FilterParam { field, op, doc }
}

/// The ticket filter parameters of the contract, in its order. The list operation and the
/// statistics operations take all of them.
pub const TICKET_FILTER_PARAMS: &[FilterParam<TicketField>] = {
    use Op::*;
    use TicketField::*;
    &[
        tp(
            ExternalTicketId,
            Exact,
            "Tickets with this id in the external support system.",
        ),
        tp(
            HumanVerifiedCategory,
            Exact,
            "Tickets with this human-verified category (a category value).",
        ),
        tp(
            HumanVerifiedSubcategory,
            Exact,
            "Tickets with this human-verified subcategory (a subcategory value).",
        ),
        tp(
            AiGeneratedCategory,
            Exact,
            "Tickets with this AI-generated category (a category value).",
        ),
        tp(
            AiGeneratedSubcategory,
            Exact,
            "Tickets with this AI-generated subcategory (a subcategory value).",
        ),
        tp(
            HumanVerifiedCategory,
            IsNull,
            "`true`: tickets without a human-verified category; `false`: with one.",
        ),
        tp(
            HumanVerifiedSubcategory,
            IsNull,
            "`true`: tickets without a human-verified subcategory; `false`: with one.",
        ),
        tp(
            AiGeneratedCategory,
            IsNull,
            "`true`: tickets without an AI-generated category; `false`: with one.",
        ),
        tp(
            AiGeneratedSubcategory,
            IsNull,
            "`true`: tickets without an AI-generated subcategory; `false`: with one.",
        ),
        tp(Status, Exact, "Tickets with this status, e.g. `Open`."),
        tp(
            Status,
            In,
            "Tickets with one of these statuses, comma-separated.",
        ),
        tp(Priority, Exact, "Tickets with this priority, e.g. `High`."),
        tp(
            Priority,
            In,
            "Tickets with one of these priorities, comma-separated.",
        ),
        tp(
            Priority,
            IsNull,
            "`true`: tickets without a priority; `false`: with one.",
        ),
        tp(CreatedAt, Gte, "Tickets created at or after this instant."),
        tp(CreatedAt, Lte, "Tickets created at or before this instant."),
        tp(
            CreatedAt,
            Range,
            "Tickets created within `start,end` (inclusive).",
        ),
        tp(User, Exact, "Tickets of this user, by id or URL."),
        tp(
            User,
            IsNull,
            "`true`: tickets without a user; `false`: with one.",
        ),
        tp(
            Tags,
            Exact,
            "Tickets carrying this tag; repeat the parameter to require several.",
        ),
        tp(Source, Exact, "Tickets from this source, e.g. `Email`."),
        tp(
            Source,
            In,
            "Tickets from one of these sources, comma-separated.",
        ),
        tp(
            ResolvedAt,
            Gte,
            "Tickets resolved at or after this instant.",
        ),
        tp(
            ResolvedAt,
            Lte,
            "Tickets resolved at or before this instant.",
        ),
        tp(
            ResolvedAt,
            Range,
            "Tickets resolved within `start,end` (inclusive).",
        ),
        tp(
            ResolvedAt,
            IsNull,
            "`true`: unresolved tickets; `false`: resolved tickets.",
        ),
        tp(
            TicketUpdatedAt,
            Gte,
            "Tickets updated at or after this instant.",
        ),
        tp(
            TicketUpdatedAt,
            Lte,
            "Tickets updated at or before this instant.",
        ),
        tp(
            TicketUpdatedAt,
            Range,
            "Tickets updated within `start,end` (inclusive).",
        ),
        tp(
            TicketUpdatedAt,
            IsNull,
            "`true`: tickets never updated; `false`: updated ones.",
        ),
    ]
};

/// The filterable fields of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageField {
    MessageType,
    Position,
}

impl FilterParam<MessageField> {
    pub fn name(&self) -> String {
        let field = match self.field {
            MessageField::MessageType => "message_type",
            MessageField::Position => "position",
        };
        format!("{field}{}", self.op.suffix())
    }

    pub fn kind(&self) -> ValueKind {
        match (self.field, self.op) {
            (_, Op::In) => ValueKind::List,
            (MessageField::Position, _) => ValueKind::Integer,
            _ => ValueKind::Text,
        }
    }
}

/// The message filter parameters of the contract, in its order.
pub const MESSAGE_FILTER_PARAMS: &[FilterParam<MessageField>] = &[
    FilterParam {
        field: MessageField::MessageType,
        op: Op::Exact,
        doc: "Messages of this type, e.g. `CUSTOMER_RESPONSE`.",
    },
    FilterParam {
        field: MessageField::MessageType,
        op: Op::In,
        doc: "Messages of one of these types, comma-separated.",
    },
    FilterParam {
        field: MessageField::Position,
        op: Op::Exact,
        doc: "The message at this position (0 is the first).",
    },
    FilterParam {
        field: MessageField::Position,
        op: Op::Gte,
        doc: "Messages at or after this position.",
    },
    FilterParam {
        field: MessageField::Position,
        op: Op::Lte,
        doc: "Messages at or before this position.",
    },
];

fn list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// An `__in` list, at most [`MAX_LIST_VALUES`](crate::filter::MAX_LIST_VALUES) long.
fn bounded_list(value: &str) -> Result<Vec<&str>, String> {
    let values = list(value);
    match list_too_long(values.len()) {
        Some(message) => Err(message),
        None => Ok(values),
    }
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("`{}` is not `true` or `false`", clip(value))),
    }
}

/// An RFC 3339 instant, or a bare date meaning its midnight UTC. A `+` of an offset that
/// was not percent-encoded arrives as a space; it is read back as `+`.
fn instant(value: &str) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    let repaired = value.replace(' ', "+");
    for candidate in [value, repaired.as_str()] {
        if let Ok(t) = DateTime::parse_from_rfc3339(candidate) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "`{}` is not a date-time such as 2024-01-15T09:30:00Z",
        clip(value)
    ))
}

fn range(value: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let parts: Vec<&str> = value.split(',').collect();
    let [start, end] = parts.as_slice() else {
        return Err("expects two date-times separated by a comma: start,end".into());
    };
    let (start, end) = (instant(start)?, instant(end)?);
    if start > end {
        return Err("the range starts after it ends".into());
    }
    Ok((start, end))
}

fn category(value: &str) -> Result<Category, String> {
    Category::parse(value).ok_or_else(|| {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "`{}` is not a category; expected one of {}",
            clip(value),
            all.join(", ")
        )
    })
}

fn subcategory(value: &str) -> Result<Subcategory, String> {
    Subcategory::parse(value).ok_or_else(|| {
        format!(
            "`{}` is not a subcategory (see /v2/support_tickets/categories)",
            clip(value)
        )
    })
}

fn message_type(value: &str) -> Result<MessageType, String> {
    MessageType::parse(value).ok_or_else(|| {
        let all: Vec<&str> = MessageType::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "`{}` is not a message type; expected one of {}",
            clip(value),
            all.join(", ")
        )
    })
}

fn integer(value: &str) -> Result<i32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a whole number", clip(value)))
}

/// Echoes of client input stay short.
pub(crate) fn clip(value: &str) -> String {
    value.chars().take(64).collect()
}

fn all_of<T>(value: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    bounded_list(value)?.into_iter().map(parse).collect()
}

fn text_slot(f: &mut TicketFilter, field: TicketField) -> Option<&mut Option<StringFilter>> {
    Some(match field {
        TicketField::ExternalTicketId => &mut f.external_ticket_id,
        TicketField::Status => &mut f.status,
        TicketField::Priority => &mut f.priority,
        TicketField::Source => &mut f.source,
        _ => return None,
    })
}

fn category_slot(f: &mut TicketFilter, field: TicketField) -> Option<&mut Option<CategoryFilter>> {
    Some(match field {
        TicketField::HumanVerifiedCategory => &mut f.human_verified_category,
        TicketField::AiGeneratedCategory => &mut f.ai_generated_category,
        _ => return None,
    })
}

fn subcategory_slot(
    f: &mut TicketFilter,
    field: TicketField,
) -> Option<&mut Option<SubcategoryFilter>> {
    Some(match field {
        TicketField::HumanVerifiedSubcategory => &mut f.human_verified_subcategory,
        TicketField::AiGeneratedSubcategory => &mut f.ai_generated_subcategory,
        _ => return None,
    })
}

fn date_slot(f: &mut TicketFilter, field: TicketField) -> Option<&mut Option<DateTimeFilter>> {
    Some(match field {
        TicketField::CreatedAt => &mut f.created_at,
        TicketField::ResolvedAt => &mut f.resolved_at,
        TicketField::TicketUpdatedAt => &mut f.ticket_updated_at,
        _ => return None,
    })
}

/// Applies one parameter's value(s) to the filter.
fn apply_ticket_param(
    f: &mut TicketFilter,
    param: &FilterParam<TicketField>,
    values: &[&str],
) -> Result<(), String> {
    let Some(&value) = values.last() else {
        return Ok(());
    };
    let field = param.field;
    if let Some(slot) = text_slot(f, field) {
        let s = slot.get_or_insert_with(Default::default);
        match param.op {
            Op::Exact => s.eq = Some(value.to_owned()),
            Op::In => s.in_ = Some(all_of(value, |v| Ok(v.to_owned()))?),
            Op::IsNull => s.is_null = Some(boolean(value)?),
            _ => {}
        }
    } else if let Some(slot) = category_slot(f, field) {
        let s = slot.get_or_insert_with(Default::default);
        match param.op {
            Op::Exact => s.eq = Some(category(value)?),
            Op::In => s.in_ = Some(all_of(value, category)?),
            Op::IsNull => s.is_null = Some(boolean(value)?),
            _ => {}
        }
    } else if let Some(slot) = subcategory_slot(f, field) {
        let s = slot.get_or_insert_with(Default::default);
        match param.op {
            Op::Exact => s.eq = Some(subcategory(value)?),
            Op::In => s.in_ = Some(all_of(value, subcategory)?),
            Op::IsNull => s.is_null = Some(boolean(value)?),
            _ => {}
        }
    } else if field.is_date() {
        match param.op {
            Op::Range => {
                // A range lives beside `__gte` / `__lte` of the same field, not over them.
                let (start, end) = range(value)?;
                let mut only = TicketFilter::default();
                if let Some(slot) = date_slot(&mut only, field) {
                    *slot = Some(DateTimeFilter {
                        gte: Some(start),
                        lte: Some(end),
                        is_null: None,
                    });
                }
                f.and.get_or_insert_with(Vec::new).push(only);
            }
            op => {
                if let Some(slot) = date_slot(f, field) {
                    let s = slot.get_or_insert_with(Default::default);
                    match op {
                        Op::Gte => s.gte = Some(instant(value)?),
                        Op::Lte => s.lte = Some(instant(value)?),
                        Op::IsNull => s.is_null = Some(boolean(value)?),
                        _ => {}
                    }
                }
            }
        }
    } else if field == TicketField::User {
        let s = f.user.get_or_insert_with(UserRefFilter::default);
        match param.op {
            Op::Exact => {
                let id = UserId::parse_id_or_url(value).map_err(|e| e.to_string())?;
                s.eq = Some(ID(id.into_string()));
            }
            Op::IsNull => s.is_null = Some(boolean(value)?),
            _ => {}
        }
    } else if field == TicketField::Tags {
        // Each `tags` given must be present.
        if let Some(message) = list_too_long(values.len()) {
            return Err(message);
        }
        f.tags = Some(TagsFilter {
            contains_all: Some(values.iter().map(|v| (*v).to_owned()).collect()),
            ..TagsFilter::default()
        });
    }
    Ok(())
}

/// The ticket filter of a query string, or every bad parameter with what is wrong with it.
/// Parameters that are not filters are ignored.
pub fn ticket_filter(params: &QueryParams) -> Result<TicketFilter, Vec<FieldError>> {
    let mut filter = TicketFilter::default();
    let mut errors = Vec::new();
    for param in TICKET_FILTER_PARAMS {
        let name = param.name();
        let values = params.all(&name);
        if let Err(message) = apply_ticket_param(&mut filter, param, &values) {
            errors.push(FieldError::new(name, message));
        }
    }
    // An inverted `__gte` / `__lte` pair names both parameters.
    for field in [
        TicketField::CreatedAt,
        TicketField::ResolvedAt,
        TicketField::TicketUpdatedAt,
    ] {
        let Some(Some(DateTimeFilter {
            gte: Some(gte),
            lte: Some(lte),
            ..
        })) = date_slot(&mut filter, field).map(|s| s.clone())
        else {
            continue;
        };
        if gte > lte {
            for op in [Op::Gte, Op::Lte] {
                errors.push(FieldError::new(
                    format!("{}{}", field.name(), op.suffix()),
                    format!("{}__gte is after {}__lte", field.name(), field.name()),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(errors)
    }
}

/// The ticket filter of a raw query string, or 400 naming every bad parameter: for
/// operations that take the filters and nothing else to validate alongside them.
pub fn ticket_filter_of(raw: Option<&str>) -> Result<TicketFilter, AppError> {
    ticket_filter(&QueryParams::parse(raw)).map_err(AppError::bad_fields)
}

/// The message filter of a query string, or every bad parameter.
pub fn message_filter(params: &QueryParams) -> Result<MessageFilter, Vec<FieldError>> {
    let mut filter = MessageFilter::default();
    let mut errors = Vec::new();
    for param in MESSAGE_FILTER_PARAMS {
        let name = param.name();
        let Some(value) = params.last(&name) else {
            continue;
        };
        let applied = match (param.field, param.op) {
            (MessageField::MessageType, Op::Exact) => message_type(value).map(|t| {
                filter
                    .message_type
                    .get_or_insert_with(MessageTypeFilter::default)
                    .eq = Some(t)
            }),
            (MessageField::MessageType, Op::In) => all_of(value, message_type).map(|t| {
                filter
                    .message_type
                    .get_or_insert_with(MessageTypeFilter::default)
                    .in_ = Some(t)
            }),
            (MessageField::Position, op) => integer(value).map(|n| {
                let p = filter.position.get_or_insert_with(IntFilter::default);
                match op {
                    Op::Gte => p.gte = Some(n),
                    Op::Lte => p.lte = Some(n),
                    _ => p.eq = Some(n),
                }
            }),
            _ => Ok(()),
        };
        if let Err(message) = applied {
            errors.push(FieldError::new(name, message));
        }
    }
    if let Some(IntFilter {
        gte: Some(gte),
        lte: Some(lte),
        ..
    }) = filter.position
    {
        if gte > lte {
            for name in ["position__gte", "position__lte"] {
                errors.push(FieldError::new(
                    name,
                    "position__gte is after position__lte",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(errors)
    }
}

/// Which references of a ticket to inline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expand {
    pub user: bool,
    pub messages: bool,
}

/// The values `expand` takes.
pub const EXPAND_VALUES: &[&str] = &["user", "messages"];

/// `expand=user&expand=messages` or `expand=user,messages`.
pub fn expand(params: &QueryParams) -> Result<Expand, FieldError> {
    let mut out = Expand::default();
    for value in params.all("expand").into_iter().flat_map(list) {
        match value {
            "user" => out.user = true,
            "messages" => out.messages = true,
            other => {
                return Err(FieldError::new(
                    "expand",
                    format!(
                        "`{}` cannot be expanded; expected user or messages",
                        clip(other)
                    ),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        QueryParams::parse(Some(s))
    }

    #[test]
    fn each_suffix_lands_in_the_right_place() {
        let f = ticket_filter(&q("status__in=Open,%20Closed&priority__isnull=true&human_verified_category=CHARGER&ai_generated_subcategory__isnull=false&created_at__gte=2024-01-01T00:00:00Z&resolved_at__range=2024-01-01,2024-02-01T00:00:00%2B01:00&user=https://x/v2/users/user01HN2NJ9NMRZBXT1H6FT9N7735&tags=a&tags=b&unknown=1")).unwrap();
        let status = f.status.unwrap();
        assert_eq!(
            status.in_,
            Some(vec!["Open".to_owned(), "Closed".to_owned()])
        );
        assert_eq!(f.priority.unwrap().is_null, Some(true));
        assert_eq!(
            f.human_verified_category.unwrap().eq,
            Some(Category::Charger)
        );
        assert_eq!(f.ai_generated_subcategory.unwrap().is_null, Some(false));
        assert!(f.created_at.unwrap().gte.is_some());
        let and = f.and.unwrap();
        assert_eq!(and.len(), 1);
        let range = and[0].resolved_at.clone().unwrap();
        assert_eq!(range.lte.unwrap().to_rfc3339(), "2024-01-31T23:00:00+00:00");
        assert_eq!(
            f.user.unwrap().eq,
            Some(ID("user01HN2NJ9NMRZBXT1H6FT9N7735".into()))
        );
        assert_eq!(
            f.tags.unwrap().contains_all,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let errors = ticket_filter(&q("human_verified_category=NOPE&priority__isnull=maybe&created_at__gte=yesterday&resolved_at__range=2024-02-01,2024-01-01&user=nobody&status=ok")).unwrap_err();
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "human_verified_category",
                "priority__isnull",
                "created_at__gte",
                "user",
                "resolved_at__range"
            ]
        );
        let inverted =
            ticket_filter(&q("created_at__gte=2024-02-01&created_at__lte=2024-01-01")).unwrap_err();
        assert_eq!(inverted.len(), 2);
    }

    #[test]
    fn empty_values_are_absent_and_an_unencoded_plus_is_repaired() {
        assert_eq!(
            ticket_filter(&q("status=&user=")).unwrap(),
            TicketFilter::default()
        );
        let f = ticket_filter(&q("created_at__gte=2024-01-01T10:00:00+02:00")).unwrap();
        assert_eq!(
            f.created_at.unwrap().gte.unwrap().to_rfc3339(),
            "2024-01-01T08:00:00+00:00"
        );
    }

    #[test]
    fn message_filters_and_expand_parse() {
        let f = message_filter(&q(
            "message_type__in=AI_AGENT_RESPONSE,CUSTOMER_RESPONSE&position__gte=1",
        ))
        .unwrap();
        assert_eq!(f.message_type.unwrap().in_.unwrap().len(), 2);
        assert_eq!(f.position.unwrap().gte, Some(1));
        let errors = message_filter(&q("message_type=x&position=one")).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            expand(&q("expand=user,messages")).unwrap(),
            Expand {
                user: true,
                messages: true
            }
        );
        assert_eq!(
            expand(&q("expand=messages&expand=user")).unwrap(),
            Expand {
                user: true,
                messages: true
            }
        );
        assert!(expand(&q("expand=org")).is_err());
    }

    #[test]
    fn the_ticket_parameters_are_unique_and_follow_the_suffix_rules() {
        let names: std::collections::BTreeSet<String> =
            TICKET_FILTER_PARAMS.iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), TICKET_FILTER_PARAMS.len());
        for p in TICKET_FILTER_PARAMS {
            assert_eq!(p.op == Op::Range, p.kind() == ValueKind::DateTimeRange);
        }
    }
}
