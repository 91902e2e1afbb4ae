//! Tickets: lookups, keyset pages, counts and the categorization write, all in scope.

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use entity::support_ticket::{Categorization, Column, Entity as Ticket, Model};
use entity::{categorization_change, organization, support_ticket, user, Category, Subcategory};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait, Select, Set, Statement, TransactionTrait, Value,
};

use super::rows::{OwnedTicketRow, TicketRow};
use super::{one_of, Scope};
use crate::error::{AppError, AppResult};
use crate::filter::TicketFilter;
use crate::ids::{ChangeId, TicketId};

/// Sort order of ticket lists.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketOrder {
    /// Newest first (by `createdAt`, then id).
    #[default]
    CreatedAtDesc,
    /// Oldest first (by `createdAt`, then id).
    CreatedAtAsc,
}

/// A position in a ticket list: the sort key of one ticket. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    pub fn of(ticket: &Model) -> Self {
        Self {
            created_at: ticket.created_at,
            id: ticket.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        let raw = format!("{}:{}", self.created_at.timestamp_micros(), self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(value: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (micros, id) = raw.split_once(':')?;
        let created_at = Utc.timestamp_micros(micros.parse().ok()?).single()?;
        TicketId::parse(id).ok()?;
        Some(Self {
            created_at,
            id: id.to_owned(),
        })
    }
}

/// Which slice of the ordered list to read.
#[derive(Debug, Clone)]
pub struct PageSpec {
    pub order: TicketOrder,
    /// Items after this cursor (in list order)...
    pub after: Option<Cursor>,
    /// ...or items before this one.
    pub before: Option<Cursor>,
    /// How many; counted from the end of the range when `from_end` (Relay `last`).
    pub limit: u64,
    pub from_end: bool,
}

/// Which of a ticket's bulky columns to read. The rest (ids, names, dates, categories) are
/// always read; a column left out comes back as an empty placeholder (JSON `null`, no summary)
/// that the caller promises not to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    pub tags: bool,
    pub custom_fields: bool,
    pub attributes: bool,
    pub conversation_summary: bool,
}

impl Columns {
    pub const ALL: Self = Self {
        tags: true,
        custom_fields: true,
        attributes: true,
        conversation_summary: true,
    };
    pub const NONE: Self = Self {
        tags: false,
        custom_fields: false,
        attributes: false,
        conversation_summary: false,
    };
}

/// `SELECT` of tickets reading only `columns` of the bulky ones.
fn select(columns: Columns, backend: DbBackend) -> Select<Ticket> {
    if columns == Columns::ALL {
        return Ticket::find();
    }
    let json_null = match backend {
        DbBackend::Postgres => "'null'::jsonb",
        _ => "'null'",
    };
    let mut query = Ticket::find().select_only();
    for column in Column::iter() {
        let placeholder = match column {
            Column::Tags if !columns.tags => Some(json_null),
            Column::CustomFields if !columns.custom_fields => Some(json_null),
            Column::Attributes if !columns.attributes => Some(json_null),
            Column::ConversationSummary if !columns.conversation_summary => Some("NULL"),
            _ => None,
        };
        query = match placeholder {
            Some(sql) => query.expr_as(Expr::cust(sql), column.as_str()),
            None => query.column(column),
        };
    }
    query
}

/// One page of tickets, in list order.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Model>,
    pub has_next: bool,
    pub has_previous: bool,
    /// The users of the page's tickets with their organizations, each once, when asked for.
    pub owners: Option<Vec<(user::Model, Option<organization::Model>)>>,
}

/// The scope and the filter, as one condition.
pub fn visible(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<Condition> {
    let mut condition = scope.ticket_condition();
    if let Some(filter) = filter {
        condition = condition.add(filter.condition(db.get_database_backend())?);
    }
    Ok(condition)
}

/// The ids among `ids` of tickets in scope, as a subquery: the history of some tickets is read
/// through it, both sides staying index lookups.
pub(super) fn in_scope(ids: &[String], scope: &Scope, backend: DbBackend) -> SelectStatement {
    Query::select()
        .column((Ticket, Column::Id))
        .from(Ticket)
        .and_where(one_of(Expr::col((Ticket, Column::Id)).into(), ids, backend))
        .cond_where(scope.ticket_condition())
        .to_owned()
}

/// One ticket, if it exists and is in scope.
pub async fn get(
    db: &DatabaseConnection,
    scope: &Scope,
    id: &TicketId,
) -> AppResult<Option<Model>> {
    Ok(Ticket::find_by_id(id.as_str())
        .filter(scope.ticket_condition())
        .one(db)
        .await?)
}

/// The tickets among `ids` that are in scope.
pub async fn get_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[String],
) -> AppResult<Vec<Model>> {
    among(db, scope, None, ids).await
}

/// The tickets among `ids` that are in scope and match the filter: what a subscriber may be
/// told of a burst of changes, decided in SQL with the subscriber's scope.
pub async fn among(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    ids: &[String],
) -> AppResult<Vec<Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Ticket::find()
        .filter(one_of(
            Expr::col((Ticket, Column::Id)).into(),
            ids,
            db.get_database_backend(),
        ))
        .filter(visible(db, scope, filter)?)
        .all(db)
        .await?)
}

/// How many tickets are in scope and match the filter.
pub async fn count(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
) -> AppResult<u64> {
    Ok(Ticket::find()
        .filter(visible(db, scope, filter)?)
        .count(db)
        .await?)
}

fn keyset(descending: bool, cursor: &Cursor) -> Condition {
    let created = Expr::col((Ticket, Column::CreatedAt));
    let id = Expr::col((Ticket, Column::Id));
    if descending {
        Condition::any()
            .add(created.clone().lt(cursor.created_at))
            .add(
                Condition::all()
                    .add(created.eq(cursor.created_at))
                    .add(id.lt(cursor.id.clone())),
            )
    } else {
        Condition::any()
            .add(created.clone().gt(cursor.created_at))
            .add(
                Condition::all()
                    .add(created.eq(cursor.created_at))
                    .add(id.gt(cursor.id.clone())),
            )
    }
}

/// `query` with each ticket's user and that user's organization joined, their columns
/// following the ticket's in the order [`OwnedTicketRow`] reads them. The ticket's scope is
/// the only condition: a ticket in scope makes its own user visible (see `users`), as it
/// makes its messages visible. A condition on the joined user as well would only repeat it,
/// and would keep PostgreSQL from settling on one plan for the statement.
fn with_owners(query: Select<Ticket>) -> Select<Ticket> {
    let mut query = query
        .join(JoinType::LeftJoin, support_ticket::Relation::User.def())
        .join(JoinType::LeftJoin, user::Relation::Organization.def());
    for column in user::Column::iter() {
        query = query.expr_as(
            Expr::col((user::Entity, column)),
            format!("owner_{}", column.as_str()),
        );
    }
    for column in organization::Column::iter() {
        query = query.expr_as(
            Expr::col((organization::Entity, column)),
            format!("owner_organization_{}", column.as_str()),
        );
    }
    query
}

/// A keyset page of the tickets in scope matching the filter, reading the bulky columns in
/// `columns` only, and with `owners` each ticket's user and organization in the same
/// statement. Reads `limit + 1` rows to know whether more follow; never an OFFSET, so deep
/// pages cost the same as the first.
pub async fn page(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    spec: &PageSpec,
    columns: Columns,
    owners: bool,
) -> AppResult<TicketPage> {
    let list_descending = spec.order == TicketOrder::CreatedAtDesc;
    let mut condition = visible(db, scope, filter)?;
    if let Some(after) = &spec.after {
        condition = condition.add(keyset(list_descending, after));
    }
    if let Some(before) = &spec.before {
        condition = condition.add(keyset(!list_descending, before));
    }
    // Reading from the end of the range means reading in reverse list order.
    let read_descending = list_descending != spec.from_end;
    let order = if read_descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut query = select(columns, db.get_database_backend())
        .filter(condition)
        .order_by(Column::CreatedAt, order.clone())
        .order_by(Column::Id, order)
        .limit(spec.limit + 1);
    if owners {
        query = with_owners(query);
    }
    let statement = limit_in_text(query.build(db.get_database_backend()), spec.limit + 1);
    let (mut rows, owners) = if owners {
        let rows = OwnedTicketRow::find_by_statement(statement).all(db).await?;
        let mut owners: Vec<(user::Model, Option<organization::Model>)> = Vec::new();
        let mut tickets = Vec::with_capacity(rows.len());
        for OwnedTicketRow(ticket, owner) in rows {
            if let Some(owner) = owner {
                if !owners.iter().any(|(u, _)| u.id == owner.0.id) {
                    owners.push(owner);
                }
            }
            tickets.push(ticket);
        }
        (tickets, Some(owners))
    } else {
        let rows = TicketRow::find_by_statement(statement).all(db).await?;
        (rows.into_iter().map(|row| row.0).collect::<Vec<_>>(), None)
    };
    let more = rows.len() as u64 > spec.limit;
    rows.truncate(spec.limit as usize);
    if spec.from_end {
        rows.reverse();
        let has_next = match &spec.before {
            Some(before) => any_from(db, scope, filter, !list_descending, before).await?,
            None => false,
        };
        Ok(TicketPage {
            tickets: rows,
            has_next,
            has_previous: more,
            owners,
        })
    } else {
        let has_previous = match &spec.after {
            Some(after) => any_from(db, scope, filter, list_descending, after).await?,
            None => false,
        };
        Ok(TicketPage {
            tickets: rows,
            has_next: more,
            has_previous,
            owners,
        })
    }
}

/// `statement`, whose last clause binds `limit`, with the limit written into its text instead.
/// PostgreSQL cannot tell how many rows a generic plan of `LIMIT $n` is for, so it plans such a
/// statement afresh on every run; with the number in the text it settles on one plan where
/// that plan is as good (a page with its users joined), which spares about a third of the
/// statement's cost. A page size is one of a few texts. Any other shape is left as it is.
fn limit_in_text(mut statement: Statement, limit: u64) -> Statement {
    let Some(values) = statement.values.as_mut() else {
        return statement;
    };
    let placeholder = match statement.db_backend {
        DbBackend::Postgres => format!(" LIMIT ${}", values.0.len()),
        _ => " LIMIT ?".to_owned(),
    };
    let bound = matches!(values.0.last(), Some(Value::BigUnsigned(Some(n))) if *n == limit);
    if bound && statement.sql.ends_with(&placeholder) {
        values.0.pop();
        let at = statement.sql.len() - placeholder.len();
        statement.sql.truncate(at);
        statement.sql.push_str(&format!(" LIMIT {limit}"));
    }
    statement
}

/// Whether any visible ticket lies at the cursor or beyond it, looking against the reading
/// direction: the tickets a page that starts after a cursor skipped. One indexed probe.
async fn any_from(
    db: &DatabaseConnection,
    scope: &Scope,
    filter: Option<&TicketFilter>,
    descending: bool,
    cursor: &Cursor,
) -> AppResult<bool> {
    let skipped = Ticket::find()
        .select_only()
        .column(Column::Id)
        .filter(visible(db, scope, filter)?)
        .filter(keyset(descending, cursor).not())
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(skipped.is_some())
}

/// A requested change of categorization: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategorizationUpdate {
    pub human_verified_category: Option<Option<Category>>,
    pub human_verified_subcategory: Option<Option<Subcategory>>,
    pub ai_generated_category: Option<Option<Category>>,
    pub ai_generated_subcategory: Option<Option<Subcategory>>,
}

impl CategorizationUpdate {
    pub fn is_empty(&self) -> bool {
        self.human_verified_category.is_none()
            && self.human_verified_subcategory.is_none()
            && self.ai_generated_category.is_none()
            && self.ai_generated_subcategory.is_none()
    }

    fn apply(&self, current: Categorization) -> Categorization {
        Categorization {
            human_verified_category: self
                .human_verified_category
                .unwrap_or(current.human_verified_category),
            human_verified_subcategory: self
                .human_verified_subcategory
                .unwrap_or(current.human_verified_subcategory),
            ai_generated_category: self
                .ai_generated_category
                .unwrap_or(current.ai_generated_category),
            ai_generated_subcategory: self
                .ai_generated_subcategory
                .unwrap_or(current.ai_generated_subcategory),
        }
    }
}

/// Changes a ticket's categorization and records who changed what, in one transaction.
///
/// The UPDATE carries the scope and the version read, so an out-of-scope ticket is never
/// written and of two writers that read the same version exactly one wins; the other gets
/// CONFLICT. A change that changes nothing writes nothing and keeps the version.
pub async fn categorize(
    db: &DatabaseConnection,
    scope: &Scope,
    id: &TicketId,
    update: &CategorizationUpdate,
    expected_version: Option<i64>,
    changed_by: &str,
) -> AppResult<Model> {
    if update.is_empty() {
        return Err(AppError::bad_input(
            "The input sets no categorization field.",
        ));
    }
    // SQLite must take the write lock at BEGIN: a read transaction upgraded to a write
    // one later fails at once when another writer holds the lock, without waiting.
    let txn = db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let current = Ticket::find_by_id(id.as_str())
        .filter(scope.ticket_condition())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(expected) = expected_version {
        if expected != current.version {
            return Err(AppError::Conflict(format!(
                "The ticket has changed: it is at version {}, not {expected}.",
                current.version
            )));
        }
    }
    let before = current.categorization();
    let after = update.apply(before);
    if after == before {
        txn.commit().await?;
        return Ok(current);
    }
    let version = current.version + 1;
    let result = Ticket::update_many()
        .col_expr(
            Column::HumanVerifiedCategory,
            Expr::value(after.human_verified_category.map(|c| c.as_str())),
        )
        .col_expr(
            Column::HumanVerifiedSubcategory,
            Expr::value(after.human_verified_subcategory.map(|c| c.as_str())),
        )
        .col_expr(
            Column::AiGeneratedCategory,
            Expr::value(after.ai_generated_category.map(|c| c.as_str())),
        )
        .col_expr(
            Column::AiGeneratedSubcategory,
            Expr::value(after.ai_generated_subcategory.map(|c| c.as_str())),
        )
        .col_expr(Column::Version, Expr::value(version))
        .filter(Column::Id.eq(id.as_str()))
        .filter(Column::Version.eq(current.version))
        .filter(scope.ticket_condition())
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::Conflict(
            "The ticket was changed by someone else at the same time; read it again.".into(),
        ));
    }
    let to_json =
        |c: &Categorization| serde_json::to_value(c).map_err(|e| AppError::Internal(e.to_string()));
    categorization_change::ActiveModel {
        id: Set(ChangeId::generate().into_string()),
        ticket_id: Set(current.id.clone()),
        changed_by: Set(changed_by.to_owned()),
        changed_at: Set(super::now()),
        before: Set(to_json(&before)?),
        after: Set(to_json(&after)?),
        version: Set(version),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    // The UPDATE wrote exactly these values; no need to read the row back.
    Ok(Model {
        human_verified_category: after.human_verified_category,
        human_verified_subcategory: after.human_verified_subcategory,
        ai_generated_category: after.ai_generated_category,
        ai_generated_subcategory: after.ai_generated_subcategory,
        version,
        ..current
    })
}

/// The categorization changes of the given tickets in scope, oldest first.
pub async fn history(
    db: &DatabaseConnection,
    scope: &Scope,
    ticket_ids: &[String],
) -> AppResult<Vec<categorization_change::Model>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    Ok(categorization_change::Entity::find()
        .filter(one_of(
            Expr::col((
                categorization_change::Entity,
                categorization_change::Column::TicketId,
            ))
            .into(),
            ticket_ids,
            backend,
        ))
        .filter(
            categorization_change::Column::TicketId
                .in_subquery(in_scope(ticket_ids, scope, backend)),
        )
        .order_by_asc(categorization_change::Column::ChangedAt)
        .order_by_asc(categorization_change::Column::Version)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            created_at: Utc.timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: "tick01HN2NJ9NMRZBXT1H6FT9N7735".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(""), None);
    }

    /// The page statement's limit ends up in its text on both backends: were the query
    /// builder to write it otherwise, pages would still be right but planned every time.
    #[test]
    fn a_page_statement_carries_its_limit_in_its_text() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let query = with_owners(
                Ticket::find()
                    .filter(Column::Status.eq("Open"))
                    .order_by(Column::CreatedAt, Order::Asc)
                    .limit(21),
            );
            let built = query.build(backend);
            let bound = built.values.as_ref().map_or(0, |v| v.0.len());
            let statement = limit_in_text(built, 21);
            assert!(
                statement.sql.ends_with(" LIMIT 21"),
                "{backend:?}: {}",
                statement.sql
            );
            assert_eq!(statement.values.map_or(0, |v| v.0.len()), bound - 1);
        }
    }
}
