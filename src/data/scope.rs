//! Row-level access as SQL. This is the one place where "who sees which tickets" is decided;
//! every query of tickets, messages, users and statistics ANDs one of these conditions.

use entity::{support_ticket, user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

use crate::auth::Access;
use crate::ids::UserId;

/// The rows a request may see: the token's access, optionally narrowed to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    access: Access,
    acting_user: Option<UserId>,
}

impl Scope {
    pub fn new(access: Access, acting_user: Option<UserId>) -> Self {
        Self {
            access,
            acting_user,
        }
    }

    /// Everything, for operator tools (`seed`, demo tokens). Never built from a request
    /// without an all-areas token.
    pub fn all_areas() -> Self {
        Self::new(Access::AllAreas, None)
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Condition on `support_ticket`. Tickets with no user match only all-areas access
    /// (`user_id = ?` and `user_id IN (...)` are never true for NULL).
    pub fn ticket_condition(&self) -> Condition {
        let user_id = Expr::col((support_ticket::Entity, support_ticket::Column::UserId));
        let mut condition = Condition::all();
        match &self.access {
            Access::User(id) => condition = condition.add(user_id.clone().eq(id.as_str())),
            Access::Org(org) => {
                let members = Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::OrganizationId.eq(org.as_str()))
                    .to_owned();
                condition = condition.add(user_id.clone().in_subquery(members));
            }
            Access::AllAreas => {}
        }
        if let Some(acting) = &self.acting_user {
            condition = condition.add(user_id.eq(acting.as_str()));
        }
        condition
    }

    /// Condition on `user`: the users whose tickets this scope may see.
    pub fn user_condition(&self) -> Condition {
        let mut condition = Condition::all();
        match &self.access {
            Access::User(id) => {
                condition =
                    condition.add(Expr::col((user::Entity, user::Column::Id)).eq(id.as_str()))
            }
            Access::Org(org) => {
                condition = condition
                    .add(Expr::col((user::Entity, user::Column::OrganizationId)).eq(org.as_str()))
            }
            Access::AllAreas => {}
        }
        if let Some(acting) = &self.acting_user {
            condition =
                condition.add(Expr::col((user::Entity, user::Column::Id)).eq(acting.as_str()));
        }
        condition
    }
}
