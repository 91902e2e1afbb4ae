//! Rows of the hot lists read by position rather than by column name: a name lookup per column
//! and row was a measurable share of reading a page. The `SELECT`s these decode list the columns
//! in `Column::iter()` order, which is the order of the model's fields (see `tickets::select`).

use entity::{organization, support_ticket, support_ticket_message, user};
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{Decode, Postgres, Row, Type};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult, TryGetable};

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

/// An enum column of a PostgreSQL row, stored as its string value.
fn pg_enum_required<E: ActiveEnum<Value = String>>(row: &PgRow, index: usize) -> Result<E, DbErr> {
    E::try_from_value(&pg::<String>(row, index)?)
}

/// Column `index` through SeaORM (SQLite).
fn sea<T: TryGetable>(row: &QueryResult, index: usize) -> Result<T, DbErr> {
    row.try_get_by_index(index)
}

/// The ticket of a row, each column read by position with `$get` (`$enum` for the optional
/// enum columns): the positions are stated once for both backends' readers.
macro_rules! ticket_model {
    ($row:expr, $get:ident, $enum:ident) => {
        support_ticket::Model {
            id: $get($row, 0)?,
            user_id: $get($row, 1)?,
            external_ticket_id: $get($row, 2)?,
            subject: $get($row, 3)?,
            status: $get($row, 4)?,
            priority: $get($row, 5)?,
            source: $get($row, 6)?,
            human_verified_category: $enum($row, 7)?,
            human_verified_subcategory: $enum($row, 8)?,
            ai_generated_category: $enum($row, 9)?,
            ai_generated_subcategory: $enum($row, 10)?,
            type_deprecated: $get($row, 11)?,
            tags: $get($row, 12)?,
            conversation_summary: $get($row, 13)?,
            custom_fields: $get($row, 14)?,
            attributes: $get($row, 15)?,
            created_at: $get($row, 16)?,
            ticket_updated_at: $get($row, 17)?,
            resolved_at: $get($row, 18)?,
            version: $get($row, 19)?,
        }
    };
}

/// The message of a row, as [`ticket_model`] reads a ticket.
macro_rules! message_model {
    ($row:expr, $get:ident, $enum:ident) => {
        support_ticket_message::Model {
            id: $get($row, 0)?,
            ticket_id: $get($row, 1)?,
            position: $get($row, 2)?,
            message_type: $enum($row, 3)?,
            message: $get($row, 4)?,
            message_clean: $get($row, 5)?,
            created_at: $get($row, 6)?,
        }
    };
}

/// A ticket row.
pub struct TicketRow(pub support_ticket::Model);

impl FromQueryResult for TicketRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(Self(match row.try_as_pg_row() {
            Some(row) => ticket_model!(row, pg, pg_enum),
            None => ticket_model!(row, sea, sea),
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
        Ok(Self(match row.try_as_pg_row() {
            Some(row) => message_model!(row, pg, pg_enum_required),
            None => message_model!(row, sea, sea),
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
