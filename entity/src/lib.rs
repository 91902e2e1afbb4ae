//! SeaORM entities of the support-ticket domain, and the enums of the Support Tickets contract.

pub mod categorization_change;
pub mod category;
pub mod gateway_setting;
pub mod message_type;
pub mod organization;
pub mod support_ticket;
pub mod support_ticket_message;
pub mod user;

pub use category::{Category, Subcategory};
pub use message_type::MessageType;

/// Declares a string enum stored as its contract value (`CHARGER`), exposed to GraphQL and
/// serde under that same value, and carrying a human-readable label.
#[macro_export]
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $value:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            sea_orm::EnumIter, sea_orm::DeriveActiveEnum, async_graphql::Enum,
            serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $(
                #[doc = $label]
                #[sea_orm(string_value = $value)]
                #[graphql(name = $value)]
                #[serde(rename = $value)]
                $variant,
            )*
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The contract value, e.g. `USABILITY_UX`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $value,)* }
            }

            /// The human-readable label, e.g. `Usability/UX`.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)* }
            }

            /// Parses a contract value; `None` for anything else (case-sensitive, as the contract).
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($value => Some(Self::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
