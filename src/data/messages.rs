//! Messages of tickets, always through a join on the ticket so the ticket's scope applies.

use std::collections::HashMap;

use entity::support_ticket;
use entity::support_ticket_message::{Column, Entity as Message, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::rows::MessageRow;
use super::{one_of, Scope};
use crate::error::AppResult;
use crate::filter::MessageFilter;

/// The messages of the given tickets in scope, matching the filter, by position; one statement,
/// the same text for any number of tickets. The list bounds the ticket side of the join, so
/// PostgreSQL looks each ticket up, checks its scope and reads its messages by the
/// (ticket, position) index; bounding the message side as well, or checking scope through a
/// subquery of ticket ids, made it hash the scope's tickets and sort, at twice the cost.
pub async fn for_tickets(
    db: &DatabaseConnection,
    scope: &Scope,
    ticket_ids: &[String],
    filter: &MessageFilter,
) -> AppResult<HashMap<String, Vec<Model>>> {
    let mut out: HashMap<String, Vec<Model>> = HashMap::with_capacity(ticket_ids.len());
    if ticket_ids.is_empty() {
        return Ok(out);
    }
    let backend = db.get_database_backend();
    let rows = Message::find()
        .inner_join(support_ticket::Entity)
        .filter(one_of(
            Expr::col((support_ticket::Entity, support_ticket::Column::Id)).into(),
            ticket_ids,
            backend,
        ))
        .filter(scope.ticket_condition())
        .filter(filter.condition()?)
        .order_by_asc(Column::TicketId)
        .order_by_asc(Column::Position)
        .into_model::<MessageRow>()
        .all(db)
        .await?;
    for MessageRow(row) in rows {
        out.entry(row.ticket_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// The messages among `ids` whose ticket is in scope.
pub async fn get_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[String],
) -> AppResult<Vec<Model>> {
    among(db, scope, None, &MessageFilter::default(), ids).await
}

/// The messages among `ids` whose ticket is in scope and that match `filter` (and belong to
/// `ticket`, when given): what a subscriber may be told of messages just added.
pub async fn among(
    db: &DatabaseConnection,
    scope: &Scope,
    ticket: Option<&str>,
    filter: &MessageFilter,
    ids: &[String],
) -> AppResult<Vec<Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Message::find()
        .inner_join(support_ticket::Entity)
        .filter(one_of(
            Expr::col((Message, Column::Id)).into(),
            ids,
            db.get_database_backend(),
        ))
        .filter(scope.ticket_condition())
        .filter(filter.condition()?);
    if let Some(ticket) = ticket {
        query = query.filter(Column::TicketId.eq(ticket));
    }
    Ok(query
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}
