//! Objects made of rows, resolved without a future per field.
//!
//! async-graphql resolves every field of an object as a boxed future of its own and gathers
//! the answers in a map grown one field at a time. For a page of tickets with their messages
//! that is about a thousand futures for fields that only copy a column. A [`Fast`] object
//! answers those fields ([`Plain::plain`]) straight from its row, in requested order, into a
//! map sized once; fields that need more (arguments, loaders) still go through the object's
//! own resolvers, one after another. Any selection it does not read as a plain list of fields
//! (fragments, directives, a response key given twice) is resolved by async-graphql as usual.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{enum_value, ContainerType, EnumType};
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ScalarType, ServerResult, Value};
use chrono::{DateTime, Utc};

/// An object whose fields without arguments that read only its row can be answered at once.
pub trait Plain: ContainerType {
    /// The value of the field named `field` (its schema name), exactly as the object's
    /// resolver would give it; `None` for fields it leaves to the resolver.
    fn plain(&self, field: &str) -> Option<Value>;
}

/// `T`, resolved as described in the module's documentation. The schema sees `T`.
pub struct Fast<T>(pub T);

impl<T: Plain> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if !is_plain(ctx) {
            return self.0.resolve(ctx, field).await;
        }
        let items = &ctx.item.node.items;
        let mut object = IndexMap::with_capacity(items.len());
        for item in items {
            let Selection::Field(field) = &item.node else {
                continue; // `is_plain` saw none
            };
            let key = field.node.response_key().node.clone();
            let name = field.node.name.node.as_str();
            let plain = if name == "__typename" {
                Some(Value::String(self.0.introspection_type_name().into_owned()))
            } else if field.node.arguments.is_empty() {
                self.0.plain(name)
            } else {
                None
            };
            let value = match plain {
                Some(value) => value,
                // As async-graphql does: a field that fails is left out, its error recorded.
                None => match self.0.resolve_field(&ctx.with_field(field)).await {
                    Ok(value) => value.unwrap_or_default(),
                    Err(error) => {
                        ctx.add_error(error);
                        continue;
                    }
                },
            };
            object.insert(key, value);
        }
        Ok(if object.is_empty() {
            Value::Null
        } else {
            Value::Object(object)
        })
    }
}

/// Whether the selection is a plain list of fields: no fragments, no directives, and every
/// response key once. (The schema has no extensions, which async-graphql would call around each
/// field; see [`build_schema`](super::build_schema).)
fn is_plain(ctx: &ContextSelectionSet<'_>) -> bool {
    let items = &ctx.item.node.items;
    items.iter().enumerate().all(|(i, item)| {
        let Selection::Field(field) = &item.node else {
            return false;
        };
        let key = field.node.response_key().node.as_str();
        field.node.directives.is_empty()
            && !items[..i].iter().any(|earlier| {
                matches!(&earlier.node, Selection::Field(f) if f.node.response_key().node.as_str() == key)
            })
    })
}

/// A string field.
pub fn string(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// A nullable string field.
pub fn maybe_string(value: Option<&str>) -> Value {
    value.map(string).unwrap_or(Value::Null)
}

/// A date-time field, as async-graphql writes `DateTime<Utc>`.
pub fn date_time(value: DateTime<Utc>) -> Value {
    ScalarType::to_value(&value)
}

/// A nullable date-time field.
pub fn maybe_date_time(value: Option<DateTime<Utc>>) -> Value {
    value.map(date_time).unwrap_or(Value::Null)
}

/// A nullable enum field.
pub fn maybe_enum<E: EnumType>(value: Option<E>) -> Value {
    value.map(enum_value).unwrap_or(Value::Null)
}

/// A `JSON` field, as async-graphql's `Json` writes it.
pub fn json(value: &serde_json::Value) -> Value {
    async_graphql::to_value(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::Name;

    /// The helpers write values as async-graphql's own types write them.
    #[test]
    fn values_are_written_as_the_executor_writes_them() {
        let at = DateTime::parse_from_rfc3339("2024-03-01T10:20:30.123456Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        assert_eq!(
            maybe_date_time(at),
            Value::String("2024-03-01T10:20:30.123456+00:00".into())
        );
        assert_eq!(maybe_date_time(None), Value::Null);
        let json_value = serde_json::json!({ "a": [1, "x", null], "b": { "c": true } });
        let expected = Value::from_json(json_value.clone()).unwrap_or_default();
        assert_eq!(json(&json_value), expected);
        assert_eq!(maybe_string(Some("s")), Value::String("s".into()));
        assert_eq!(maybe_string(None), Value::Null);
        assert_eq!(
            maybe_enum(Some(entity::Category::MobileApp)),
            Value::Enum(Name::new("MOBILE_APP"))
        );
    }
}
