//! The per-resolver OAuth scope guard. Row visibility is not decided here but in SQL.

use async_graphql::{Context, Guard, Result};

use crate::auth::{OAuthScope, Principal};
use crate::error::AppError;

/// Requires an authenticated caller whose token grants the scope.
pub struct Needs(pub OAuthScope);

impl Guard for Needs {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        principal(ctx)?.require(self.0).map_err(Into::into)
    }
}

/// The caller of this request, or UNAUTHENTICATED.
pub fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal, AppError> {
    ctx.data_opt::<Principal>().ok_or_else(|| {
        AppError::Unauthenticated("Authentication credentials were not provided.".into())
    })
}
