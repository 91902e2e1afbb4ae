//! Rows of the hot lists read by position rather than by column name: a name lookup per column
//! and row was a measurable share of reading a page. The `SELECT`s these decode list the columns
//! in `Column::iter()` order, which is the order of the model's fields (see `tickets::select`).

use entity::{organization, support_ticket, support_ticket_message, user};
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{Decode, Postgres, Row, Type};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult};

/// Column `index` of a PostgreSQL row, decoded without sqlx's per-value type check: these rows
/// come from `SELECT`s whose columns and types are fixed by the models (the test below and the
/// migrations keep them so), and the check was a tenth of reading a page. A value that does not
/// decode is still an error.
fn pg<'r, T: Decode<'r, Postgres> + Type<Postgres>>(
    row: &'r PgRow,
    index: usize,
) -> Result<T, DbErr> {
    row.try_get_unchecked(index)
        .map_err(|e| DbErr::Type(format!("column {index}: {e}")))
}

/// A nullable enum column of a PostgreSQL row, stored as its string value.
fn pg_enum<E: ActiveEnum<Value = String>>(row: &PgRow, index: usize) -> Result<Option<E>, DbErr> {
    pg::<Option<String>>(row, index)?
        .map(|s| E::try_from_value(&s))
        .transpose()
}

fn ticket_from_pg(row: &PgRow) -> Result<support_ticket::Model, DbErr> {
    Ok(support_ticket::Model {
        id: pg(row, 0)?,
        user_id: pg(row, 1)?,
        external_ticket_id: pg(row, 2)?,
        subject: pg(row, 3)?,
        status: pg(row, 4)?,
        priority: pg(row, 5)?,
        source: pg(row, 6)?,
        human_verified_category: pg_enum(row, 7)?,
        human_verified_subcategory: pg_enum(row, 8)?,
        ai_generated_category: pg_enum(row, 9)?,
        ai_generated_subcategory: pg_enum(row, 10)?,
        type_deprecated: pg(row, 11)?,
        tags: pg(row, 12)?,
        conversation_summary: pg(row, 13)?,
        custom_fields: pg(row, 14)?,
        attributes: pg(row, 15)?,
        created_at: pg(row, 16)?,
        ticket_updated_at: pg(row, 17)?,
        resolved_at: pg(row, 18)?,
        version: pg(row, 19)?,
    })
}

/// A ticket row.
pub struct TicketRow(pub support_ticket::Model);

impl FromQueryResult for TicketRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        if let Some(row) = row.try_as_pg_row() {
            return ticket_from_pg(row).map(Self);
        }
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

/// A ticket row followed by its user's columns and that user's organization's (see
/// `tickets::with_owners`); the user is absent when the ticket has none.
pub struct OwnedTicketRow(
    pub support_ticket::Model,
    pub Option<(user::Model, Option<organization::Model>)>,
);

impl FromQueryResult for OwnedTicketRow {
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        const USER: usize = 20;
        const ORGANIZATION: usize = USER + 5;
        let TicketRow(ticket) = TicketRow::from_query_result(row, pre)?;
        let Some(user_id) = row.try_get_by_index::<Option<String>>(USER)? else {
            return Ok(Self(ticket, None));
        };
        let user = user::Model {
            id: user_id,
            organization_id: row.try_get_by_index(USER + 1)?,
            email: row.try_get_by_index(USER + 2)?,
            full_name: row.try_get_by_index(USER + 3)?,
            joined_at: row.try_get_by_index(USER + 4)?,
        };
        let organization = match row.try_get_by_index::<Option<String>>(ORGANIZATION)? {
            Some(id) => Some(organization::Model {
                id,
                name: row.try_get_by_index(ORGANIZATION + 1)?,
                created_at: row.try_get_by_index(ORGANIZATION + 2)?,
            }),
            None => None,
        };
        Ok(Self(ticket, Some((user, organization))))
    }
}

/// A message row.
pub struct MessageRow(pub support_ticket_message::Model);

impl FromQueryResult for MessageRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        if let Some(row) = row.try_as_pg_row() {
            let message_type: String = pg(row, 3)?;
            return Ok(Self(support_ticket_message::Model {
                id: pg(row, 0)?,
                ticket_id: pg(row, 1)?,
                position: pg(row, 2)?,
                message_type: entity::MessageType::try_from_value(&message_type)?,
                message: pg(row, 4)?,
                message_clean: pg(row, 5)?,
                created_at: pg(row, 6)?,
            }));
        }
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
    use entity::{organization, support_ticket, support_ticket_message, user};
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
        let users: Vec<&str> = user::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            users,
            ["id", "organization_id", "email", "full_name", "joined_at"]
        );
        let organizations: Vec<&str> = organization::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(organizations, ["id", "name", "created_at"]);
    }
}
