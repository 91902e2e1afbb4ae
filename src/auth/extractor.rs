//! The axum side of authentication: `Authorization: Bearer` and `EvEnergy-User` into a
//! [`Principal`]. Distinguishes "no token" from "bad token"; both are 401, never 400.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::{JwtKeys, Principal};
use crate::error::AppError;
use crate::ids::UserId;

/// Narrows an organization or all-areas token to one user.
pub const ACTING_USER_HEADER: &str = "evenergy-user";

/// The caller, if the request carried credentials. A request with a bad token never gets
/// this far: the extractor answers 401 itself.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl MaybePrincipal {
    /// The principal, or 401 when the request carried no token.
    pub fn required(self) -> Result<Principal, AppError> {
        self.0.ok_or_else(|| {
            AppError::Unauthenticated("Authentication credentials were not provided.".into())
        })
    }
}

/// Reads and verifies the credentials of a request.
pub fn authenticate(keys: &JwtKeys, headers: &HeaderMap) -> Result<Option<Principal>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = |why: &str| AppError::Unauthenticated(why.to_owned());
    let value = value
        .to_str()
        .map_err(|_| bad("The Authorization header is not valid text."))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("The Authorization header must be `Bearer <token>`."))?;
    let mut principal = keys
        .verify(token)
        .map_err(|e| AppError::Unauthenticated(e.0))?;
    if let Some(acting) = headers.get(ACTING_USER_HEADER) {
        let raw = acting
            .to_str()
            .map_err(|_| AppError::bad_field("EvEnergy-User", "must be a user id or URL"))?;
        let user = UserId::parse_id_or_url(raw)
            .map_err(|e| AppError::bad_field("EvEnergy-User", e.to_string()))?;
        principal.acting_user = Some(user);
    }
    crate::edge::record_caller(&principal);
    Ok(Some(principal))
}

impl<S> FromRequestParts<S> for MaybePrincipal
where
    S: Send + Sync,
    std::sync::Arc<JwtKeys>: axum::extract::FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Verified already in front of the handler (by the rate limiter), when it could be.
        if let Some(verified) = parts.extensions.get::<MaybePrincipal>() {
            return Ok(verified.clone());
        }
        let keys = <std::sync::Arc<JwtKeys> as axum::extract::FromRef<S>>::from_ref(state);
        authenticate(&keys, &parts.headers).map(MaybePrincipal)
    }
}
