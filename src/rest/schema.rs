//! Schemas of the OpenAPI document that derives cannot express: enums listed from the
//! entity enums themselves, nullable references, and the URL-or-object fields.

use entity::{Category, MessageType, Subcategory};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder,
    Ref, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Names of the enum components, as the contract names them.
pub const CATEGORY: &str = "SupportTicketCategoryEnum";
pub const SUBCATEGORY: &str = "SupportTicketSubcategoryEnum";
pub const MESSAGE_TYPE: &str = "SupportTicketMessageTypeEnum";

fn string_enum<'a>(title: &str, values: impl Iterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .title(Some(title))
        .enum_values(Some(values))
        .into()
}

/// The category enum component.
pub struct CategoryEnum;
impl PartialSchema for CategoryEnum {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "Support Ticket Category",
            Category::ALL.iter().map(|c| c.as_str()),
        )
    }
}
impl ToSchema for CategoryEnum {
    fn name() -> std::borrow::Cow<'static, str> {
        CATEGORY.into()
    }
}

/// The subcategory enum component.
pub struct SubcategoryEnum;
impl PartialSchema for SubcategoryEnum {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "Support Ticket Subcategory",
            Subcategory::ALL.iter().map(|c| c.as_str()),
        )
    }
}
impl ToSchema for SubcategoryEnum {
    fn name() -> std::borrow::Cow<'static, str> {
        SUBCATEGORY.into()
    }
}

/// The message type enum component.
pub struct MessageTypeEnum;
impl PartialSchema for MessageTypeEnum {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "Support Ticket Message Type",
            MessageType::ALL.iter().map(|c| c.as_str()),
        )
    }
}
impl ToSchema for MessageTypeEnum {
    fn name() -> std::borrow::Cow<'static, str> {
        MESSAGE_TYPE.into()
    }
}

fn null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

fn uri() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uri".into())))
}

pub fn category() -> Ref {
    Ref::from_schema_name(CATEGORY)
}

pub fn subcategory() -> Ref {
    Ref::from_schema_name(SUBCATEGORY)
}

pub fn message_type() -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(Ref::from_schema_name(MESSAGE_TYPE))
        .into()
}

pub fn nullable_category() -> RefOr<Schema> {
    OneOfBuilder::new().item(category()).item(null()).into()
}

pub fn nullable_subcategory() -> RefOr<Schema> {
    OneOfBuilder::new().item(subcategory()).item(null()).into()
}

/// A ticket's `user`: its URL, the user when expanded, or null.
pub fn user_reference() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(uri())
        .item(Ref::from_schema_name("User"))
        .item(null())
        .into()
}

/// A ticket's `messages`: URLs, or the messages when expanded. `anyOf`, because an empty
/// list is both.
pub fn message_references() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ArrayBuilder::new().items(uri()))
        .item(ArrayBuilder::new().items(Ref::from_schema_name("SupportTicketMessage")))
        .into()
}

/// A whole number, of no particular width (as the contract leaves it).
pub fn integer() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .read_only(Some(true))
        .into()
}

/// A JSON object with any members.
pub fn free_object() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
        .read_only(Some(true))
        .into()
}

/// The problem body of every error (RFC 9457), with the bad fields of bad input.
pub fn problem() -> RefOr<Schema> {
    let field_error = ObjectBuilder::new()
        .property("field", ObjectBuilder::new().schema_type(Type::String))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("field")
        .required("message");
    ObjectBuilder::new()
        .title(Some("RFC 9457 Problem Detail"))
        .schema_type(Type::Object)
        .property("type", uri())
        .property("status", ObjectBuilder::new().schema_type(Type::Number))
        .property("title", ObjectBuilder::new().schema_type(Type::String))
        .property("detail", ObjectBuilder::new().schema_type(Type::String))
        .property("instance", uri())
        .property(
            "field_errors",
            ArrayBuilder::new().items(field_error).description(Some(
                "Each bad parameter or field, with what is wrong with it.",
            )),
        )
        .required("title")
        .required("detail")
        .into()
}

/// `EvEnergy-Version`: the number 2.
pub fn version() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .enum_values(Some([2]))
        .into()
}
