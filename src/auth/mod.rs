//! Who is calling and what they may see: the token's access claim becomes a [`Scope`]
//! (which rows), its `scope` claim becomes OAuth scopes (which operations).

mod extractor;
pub mod jwt;

pub use extractor::{authenticate, MaybePrincipal, ACTING_USER_HEADER};
pub use jwt::JwtKeys;

use crate::data::Scope;
use crate::error::AppError;
use crate::ids::{OrgId, UserId};

/// The one access claim of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `user`: that user's tickets.
    User(UserId),
    /// `org`: tickets of the organization's users.
    Org(OrgId),
    /// `access_all_areas: true`: every ticket, including tickets with no user.
    AllAreas,
}

/// An operation-level permission from the token's `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthScope {
    Read,
    Write,
}

impl OAuthScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "support:read",
            Self::Write => "support:write",
        }
    }
}

/// The verified caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub access: Access,
    /// The OAuth scopes granted, as given in the token.
    pub oauth_scopes: Vec<String>,
    /// Who to record as the author of changes: the `sub` claim, else the access claim.
    pub subject: String,
    /// The `client_id` claim (RFC 9068): the OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// Set by `EvEnergy-User`: narrows the access to one user.
    pub acting_user: Option<UserId>,
    /// The `exp` claim (seconds since the epoch): a WebSocket is closed at that moment.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// The row-level scope every data query of this request takes.
    pub fn scope(&self) -> Scope {
        Scope::new(self.access.clone(), self.acting_user.clone())
    }

    pub fn has(&self, scope: OAuthScope) -> bool {
        self.oauth_scopes.iter().any(|s| s == scope.as_str())
    }

    /// 403 unless the token grants `scope`.
    pub fn require(&self, scope: OAuthScope) -> Result<(), AppError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "You do not have permission to perform this action: the token lacks the `{}` scope.",
                scope.as_str()
            )))
        }
    }
}
