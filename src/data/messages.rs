//! Messages of tickets, always through a join on the ticket so the ticket's scope applies.

use std::collections::HashMap;

use entity::support_ticket;
use entity::support_ticket_message::{Column, Entity as Message, Model};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::Scope;
use crate::error::AppResult;
use crate::filter::MessageFilter;

/// The messages of the given tickets in scope, matching the filter, by position; one statement.
pub async fn for_tickets(
    db: &DatabaseConnection,
    scope: &Scope,
    ticket_ids: &[String],
    filter: &MessageFilter,
) -> AppResult<HashMap<String, Vec<Model>>> {
    let mut out: HashMap<String, Vec<Model>> = HashMap::new();
    if ticket_ids.is_empty() {
        return Ok(out);
    }
    let rows = Message::find()
        .inner_join(support_ticket::Entity)
        .filter(Column::TicketId.is_in(ticket_ids.iter().cloned()))
        .filter(scope.ticket_condition())
        .filter(filter.condition()?)
        .order_by_asc(Column::TicketId)
        .order_by_asc(Column::Position)
        .all(db)
        .await?;
    for row in rows {
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
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Message::find()
        .inner_join(support_ticket::Entity)
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .filter(scope.ticket_condition())
        .all(db)
        .await?)
}
