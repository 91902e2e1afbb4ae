//! The mutation root: categorization, the one thing clients may change.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID};
use entity::{Category, Subcategory};

use super::connection::Ahead;
use super::guard::{principal, Needs};
use super::types::Ticket;
use super::{db, scope};
use crate::auth::OAuthScope;
use crate::data::tickets::{self, CategorizationUpdate};
use crate::error::AppError;
use crate::ids::TicketId;

#[derive(Default)]
pub struct Mutation;

/// Which categorization fields to change: leave a field out to keep it, pass null to clear it.
#[derive(InputObject, Debug, Default)]
pub struct CategorizeTicketInput {
    /// Category set by a person.
    pub human_verified_category: MaybeUndefined<Category>,
    /// Subcategory set by a person.
    pub human_verified_subcategory: MaybeUndefined<Subcategory>,
    /// Category suggested by the classifier.
    pub ai_generated_category: MaybeUndefined<Category>,
    /// Subcategory suggested by the classifier.
    pub ai_generated_subcategory: MaybeUndefined<Subcategory>,
    /// The `version` you read; if the ticket has changed since, nothing is written and the
    /// mutation fails with CONFLICT.
    pub expected_version: Option<i64>,
}

fn change<T: Copy>(value: &MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(*v)),
    }
}

impl CategorizeTicketInput {
    pub fn update(&self) -> CategorizationUpdate {
        CategorizationUpdate {
            human_verified_category: change(&self.human_verified_category),
            human_verified_subcategory: change(&self.human_verified_subcategory),
            ai_generated_category: change(&self.ai_generated_category),
            ai_generated_subcategory: change(&self.ai_generated_subcategory),
        }
    }
}

/// The result of `categorizeTicket`.
#[derive(SimpleObject)]
pub struct CategorizeTicketPayload {
    /// The ticket as it is after the change.
    pub ticket: Ticket,
}

#[Object]
impl Mutation {
    /// Sets or clears a ticket's categorization. Needs `support:write`. A ticket that does not
    /// exist or is outside the token's scope is NOT_FOUND, and nothing is written. Every
    /// change is recorded in the ticket's `categorizationHistory`.
    #[graphql(guard = "Needs(OAuthScope::Write)")]
    async fn categorize_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CategorizeTicketInput,
    ) -> Result<CategorizeTicketPayload> {
        let id = TicketId::parse(&id).map_err(|_| AppError::NotFound)?;
        let who = principal(ctx)?.subject.clone();
        let scope = scope(ctx)?;
        let updated = tickets::categorize(
            db(ctx)?,
            &scope,
            &id,
            &input.update(),
            input.expected_version,
            &who,
        )
        .await?;
        let payload = ctx.look_ahead().field("ticket");
        Ahead::of(&[payload])
            .load(ctx, &scope, std::slice::from_ref(&updated))
            .await?;
        Ok(CategorizeTicketPayload {
            ticket: Ticket(updated.into()),
        })
    }
}
