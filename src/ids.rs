//! Prefixed identifiers: a 4-letter kind followed by a 26-character ULID (`tick01HN...`).
//! Parsing is strict so that a malformed id never reaches a query.

use std::fmt;

use ulid::Ulid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a valid {kind} id (expected `{prefix}` followed by 26 characters A-Z or 0-9)"
)]
pub struct InvalidId {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for something created now.
            pub fn generate() -> Self {
                Self::from_ulid(Ulid::new())
            }

            pub fn from_ulid(ulid: Ulid) -> Self {
                Self(format!("{}{}", $prefix, ulid))
            }

            /// Accepts exactly the contract's pattern: prefix + 26 of `[A-Z0-9]`.
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                let ok = value.len() == 30
                    && value.starts_with($prefix)
                    && value[4..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if ok {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(InvalidId { kind: $kind, prefix: $prefix, value: value.chars().take(64).collect() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

prefixed_id!(
    /// A support ticket id, `tick` + ULID.
    TicketId, "tick", "ticket"
);
prefixed_id!(
    /// A ticket message id, `tmsg` + ULID.
    MessageId, "tmsg", "message"
);
prefixed_id!(
    /// A user id, `user` + ULID.
    UserId, "user", "user"
);
prefixed_id!(
    /// An organization id, `orgn` + ULID.
    OrgId, "orgn", "organization"
);
prefixed_id!(
    /// A categorization change id, `ccat` + ULID.
    ChangeId, "ccat", "categorization change"
);

impl UserId {
    /// Accepts a bare user id or a user URL whose last path segment is one
    /// (`https://host/v2/users/user01...`), as the contract allows for `user` filters.
    pub fn parse_id_or_url(value: &str) -> Result<Self, InvalidId> {
        let trimmed = value.trim().trim_end_matches('/');
        let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
        Self::parse(last).map_err(|mut e| {
            e.value = value.chars().take(64).collect();
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = TicketId::generate();
        assert_eq!(TicketId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn ids_with_the_wrong_prefix_length_or_case_are_rejected() {
        for bad in [
            "tick",
            "user01HN2NJ9NMRZBXT1H6FT9N7735",
            "tick01hn2nj9nmrzbxt1h6ft9n7735",
            "tick01HN2NJ9NMRZBXT1H6FT9N773",
            "tick01HN2NJ9NMRZBXT1H6FT9N77355",
            "tick01HN2NJ9NMRZBXT1H6FT9N773!",
            "",
        ] {
            assert!(TicketId::parse(bad).is_err(), "{bad}");
        }
        assert!(TicketId::parse("tick01HN2NJ9NMRZBXT1H6FT9N7735").is_ok());
    }

    #[test]
    fn user_ids_may_be_given_as_urls() {
        let id = "user01HN2NJ9NMRZBXT1H6FT9N7735";
        assert_eq!(
            UserId::parse_id_or_url(&format!("https://api.example/v2/users/{id}/"))
                .unwrap()
                .as_str(),
            id
        );
        assert_eq!(UserId::parse_id_or_url(id).unwrap().as_str(), id);
        assert!(UserId::parse_id_or_url("https://api.example/v2/users/").is_err());
    }
}
