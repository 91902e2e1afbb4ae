//! Users and organizations, visible when the scope could see their tickets.

use entity::{organization, user};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::Scope;
use crate::error::AppResult;

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
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
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
    let mut query =
        organization::Entity::find().filter(organization::Column::Id.is_in(ids.iter().cloned()));
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
