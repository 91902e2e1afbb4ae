//! Users and organizations, visible when the scope could see their tickets.

use entity::{organization, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{one_of, Scope};
use crate::error::AppResult;

fn user_id_in(db: &DatabaseConnection, ids: &[String]) -> sea_orm::sea_query::SimpleExpr {
    one_of(
        Expr::col((user::Entity, user::Column::Id)).into(),
        ids,
        db.get_database_backend(),
    )
}

/// The users among `ids` that are in scope.
pub async fn get_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[String],
) -> AppResult<Vec<user::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(user::Entity::find()
        .filter(user_id_in(db, ids))
        .filter(scope.user_condition())
        .all(db)
        .await?)
}

/// The users among `ids` that are in scope, each with its organization, in one statement.
/// A user in scope makes its organization visible, so the join needs no further condition.
pub async fn get_many_with_organizations(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[String],
) -> AppResult<Vec<(user::Model, Option<organization::Model>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(user::Entity::find()
        .find_also_related(organization::Entity)
        .filter(user_id_in(db, ids))
        .filter(scope.user_condition())
        .all(db)
        .await?)
}

/// The organizations among `ids` that have a user in scope (all of them for all-areas).
pub async fn organizations(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[String],
) -> AppResult<Vec<organization::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = organization::Entity::find().filter(one_of(
        Expr::col((organization::Entity, organization::Column::Id)).into(),
        ids,
        db.get_database_backend(),
    ));
    // Unrestricted only for all-areas access that is not narrowed to one user.
    if scope != &Scope::all_areas() {
        let visible_orgs = Query::select()
            .column(user::Column::OrganizationId)
            .from(user::Entity)
            .cond_where(scope.user_condition())
            .to_owned();
        query = query.filter(organization::Column::Id.in_subquery(visible_orgs));
    }
    Ok(query.all(db).await?)
}
