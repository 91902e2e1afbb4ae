//! Rows of the hot lists read by position rather than by column name: a name lookup per column
//! and row was a measurable share of reading a page. The `SELECT`s these decode list the columns
//! in `Column::iter()` order, which is the order of the model's fields (see `tickets::select`).

use entity::{support_ticket, support_ticket_message};
use sea_orm::{DbErr, FromQueryResult, QueryResult};

/// A ticket row.
pub struct TicketRow(pub support_ticket::Model);

impl FromQueryResult for TicketRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(Self(support_ticket::Model {
            id: row.try_get_by_index(0)?,
            user_id: row.try_get_by_index(1)?,
            external_ticket_id: row.try_get_by_index(2)?,
            subject: row.try_get_by_index(3)?,
            status: row.try_get_by_index(4)?,
            priority: row.try_get_by_index(5)?,
            source: row.try_get_by_index(6)?,
            human_verified_category: row.try_get_by_index(7)?,
            human_verified_subcategory: row.try_get_by_index(8)?,
            ai_generated_category: row.try_get_by_index(9)?,
            ai_generated_subcategory: row.try_get_by_index(10)?,
            type_deprecated: row.try_get_by_index(11)?,
            tags: row.try_get_by_index(12)?,
            conversation_summary: row.try_get_by_index(13)?,
            custom_fields: row.try_get_by_index(14)?,
            attributes: row.try_get_by_index(15)?,
            created_at: row.try_get_by_index(16)?,
            ticket_updated_at: row.try_get_by_index(17)?,
            resolved_at: row.try_get_by_index(18)?,
            version: row.try_get_by_index(19)?,
        }))
    }
}

/// A message row.
pub struct MessageRow(pub support_ticket_message::Model);

impl FromQueryResult for MessageRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(Self(support_ticket_message::Model {
            id: row.try_get_by_index(0)?,
            ticket_id: row.try_get_by_index(1)?,
            position: row.try_get_by_index(2)?,
            message_type: row.try_get_by_index(3)?,
            message: row.try_get_by_index(4)?,
            message_clean: row.try_get_by_index(5)?,
            created_at: row.try_get_by_index(6)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use entity::{support_ticket, support_ticket_message};
    use sea_orm::{IdenStatic, Iterable};

    /// The positions above are the columns' positions in the default `SELECT`.
    #[test]
    fn columns_are_listed_in_the_order_the_rows_are_read() {
        let tickets: Vec<&str> = support_ticket::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            tickets,
            [
                "id",
                "user_id",
                "external_ticket_id",
                "subject",
                "status",
                "priority",
                "source",
                "human_verified_category",
                "human_verified_subcategory",
                "ai_generated_category",
                "ai_generated_subcategory",
                "type_deprecated",
                "tags",
                "conversation_summary",
                "custom_fields",
                "attributes",
                "created_at",
                "ticket_updated_at",
                "resolved_at",
                "version",
            ]
        );
        let messages: Vec<&str> = support_ticket_message::Column::iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "id",
                "ticket_id",
                "position",
                "message_type",
                "message",
                "message_clean",
                "created_at"
            ]
        );
    }
}
