//! The support-ticket operations: list, retrieve, update, messages, categories.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use entity::{support_ticket, Category, Subcategory};
use sea_orm::DatabaseConnection;

use super::body::{Categories, MessageBody, Related, TicketBody, Urls};
use super::openapi::{
    MessageListParams, Problem400BadRequestList, Problem400BadRequestRetrieve,
    Problem401Unauthorized, Problem403Forbidden, Problem404NotFound, Problem406NotAcceptable,
    Problem409Conflict, Problem412PreconditionFailed, Problem413PayloadTooLarge,
    Problem415UnsupportedMediaType, TicketIdParam, TicketListParams, TicketMessageIdParams,
    TicketParams,
};
use super::query::{self, clip, Expand, QueryParams};
use super::PAGINATION_PROBLEM;
use crate::auth::{MaybePrincipal, OAuthScope, Principal};
use crate::data::tickets::{self, CategorizationUpdate, Cursor, PageSpec, TicketOrder};
use crate::data::{messages, users, Scope};
use crate::error::{AppError, AppResult, FieldError};
use crate::filter::MessageFilter;
use crate::ids::{MessageId, TicketId};
use crate::state::AppState;

/// Default and largest `page_size`.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
pub const MAX_PAGE_SIZE: u64 = 100;

fn reader(principal: MaybePrincipal) -> AppResult<Principal> {
    let principal = principal.required()?;
    principal.require(OAuthScope::Read)?;
    Ok(principal)
}

/// The path's ids as given; a path that cannot be read (bad percent-encoding) names nothing.
type Ids<T> = Result<Path<T>, PathRejection>;

/// A malformed id names nothing, so it is as missing as an absent one.
fn ticket_id(path: Ids<String>) -> AppResult<TicketId> {
    let Path(raw) = path.map_err(|_| AppError::NotFound)?;
    TicketId::parse(&raw).map_err(|_| AppError::NotFound)
}

fn urls(state: &AppState) -> Urls {
    Urls::new(&state.config.public_base_url)
}

/// The ETag of a ticket's representation: its version.
fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Bodies of `tickets`, with their messages and (when expanded) users: two or three
/// statements whatever the number of tickets.
async fn render(
    db: &DatabaseConnection,
    scope: &Scope,
    urls: &Urls,
    tickets: Vec<support_ticket::Model>,
    expand: Expand,
) -> AppResult<Vec<TicketBody>> {
    let ids: Vec<String> = tickets.iter().map(|t| t.id.clone()).collect();
    let filter = MessageFilter::default();
    let load_users = async {
        if !expand.user {
            return Ok(None);
        }
        let mut user_ids: Vec<String> = tickets.iter().filter_map(|t| t.user_id.clone()).collect();
        user_ids.sort();
        user_ids.dedup();
        let found = users::get_many(db, scope, &user_ids).await?;
        Ok(Some(found.into_iter().map(|u| (u.id.clone(), u)).collect()))
    };
    // Independent statements: run together rather than one after the other.
    let (messages, users) =
        futures::try_join!(messages::for_tickets(db, scope, &ids, &filter), load_users)?;
    let mut related = Related {
        messages,
        users,
        expand_messages: expand.messages,
    };
    Ok(tickets
        .into_iter()
        .map(|t| TicketBody::new(t, &mut related, urls))
        .collect())
}

async fn render_one(
    state: &AppState,
    scope: &Scope,
    ticket: support_ticket::Model,
    expand: Expand,
) -> AppResult<Response> {
    let version = ticket.version;
    let mut bodies = render(&state.db, scope, &urls(state), vec![ticket], expand).await?;
    let body = bodies
        .pop()
        .ok_or_else(|| AppError::Internal("a rendered ticket went missing".into()))?;
    Ok(with_etag(Json(body).into_response(), version))
}

/// The page parameters of the list, before their ids are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PageParams {
    size: u64,
    after: Option<TicketId>,
    before: Option<TicketId>,
}

const PAGE_PARAMS: [&str; 3] = ["page_size", "page_after", "page_before"];

fn page_params(params: &QueryParams) -> Result<PageParams, Vec<FieldError>> {
    let mut errors = Vec::new();
    let size = match params.last("page_size") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "page_size",
                    format!(
                        "`{}` is not a whole number from 1 to {MAX_PAGE_SIZE}",
                        clip(raw)
                    ),
                ));
                DEFAULT_PAGE_SIZE
            }
        },
    };
    let mut id = |name: &str| {
        let raw = params.last(name)?;
        match TicketId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    format!("`{}` is not a support ticket id", clip(raw)),
                ));
                None
            }
        }
    };
    let after = id("page_after");
    // `page_before` is ignored, malformed or not, when `page_after` is given.
    let before = if params.last("page_after").is_some() {
        None
    } else {
        id("page_before")
    };
    if errors.is_empty() {
        Ok(PageParams {
            size,
            after,
            before,
        })
    } else {
        Err(errors)
    }
}

/// The contract's problem for bad page parameters.
fn pagination_problem(errors: Vec<FieldError>) -> AppError {
    let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    AppError::BadInput {
        title: "Invalid pagination parameter".into(),
        detail: format!(
            "Invalid value for pagination parameter: {}",
            names.join(", ")
        ),
        field_errors: errors,
        problem_type: Some(PAGINATION_PROBLEM.into()),
    }
}

/// The position of the ticket a page parameter names, if the caller can see it.
async fn cursor_of(
    db: &DatabaseConnection,
    scope: &Scope,
    id: &TicketId,
    name: &str,
) -> AppResult<Cursor> {
    match tickets::get(db, scope, id).await? {
        Some(ticket) => Ok(Cursor::of(&ticket)),
        None => Err(pagination_problem(vec![FieldError::new(
            name,
            format!("`{id}` is not a support ticket of this list"),
        )])),
    }
}

/// The `Link` header of a page: the same query with the page parameters replaced.
fn link_header(
    urls: &Urls,
    params: &QueryParams,
    size: u64,
    previous: Option<&str>,
    next: Option<&str>,
) -> Option<String> {
    let link = |name: &str, id: &str, rel: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(params.without(&PAGE_PARAMS));
        query.append_pair("page_size", &size.to_string());
        query.append_pair(name, id);
        format!("<{}?{}>; rel=\"{rel}\"", urls.tickets(), query.finish())
    };
    let mut links = Vec::new();
    if let Some(id) = previous {
        links.push(link("page_before", id, "previous"));
    }
    if let Some(id) = next {
        links.push(link("page_after", id, "next"));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

/// List support tickets
///
/// The tickets the token may see, oldest first, matching every filter given, a page at a
/// time. Follow the `Link` header for the previous and next pages.
#[utoipa::path(
    get,
    path = "/support_tickets",
    operation_id = "get-support_tickets",
    tag = "Support Tickets",
    params(TicketListParams),
    responses(
        (status = 200, description = "A page of support tickets.", body = [TicketBody],
            headers(("Link" = String, description = "`previous` and `next` page URLs, when there are such pages."))),
        (status = 400, response = Problem400BadRequestList),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let principal = reader(principal)?;
    let params = QueryParams::parse(raw.as_deref());
    let page = page_params(&params);
    let filter = query::ticket_filter(&params);
    let expand = query::expand(&params);
    let (page, filter, expand) = match (page, filter, expand) {
        (Ok(p), Ok(f), Ok(e)) => (p, f, e),
        (Err(page_errors), Ok(_), Ok(_)) => return Err(pagination_problem(page_errors)),
        (page, filter, expand) => {
            let mut errors = page.err().unwrap_or_default();
            errors.extend(filter.err().unwrap_or_default());
            errors.extend(expand.err());
            return Err(AppError::bad_fields(errors));
        }
    };
    let scope = principal.scope();
    let db = &state.db;
    let spec = match (&page.after, &page.before) {
        (Some(after), _) => PageSpec {
            order: TicketOrder::CreatedAtAsc,
            after: Some(cursor_of(db, &scope, after, "page_after").await?),
            before: None,
            limit: page.size,
            from_end: false,
        },
        (None, Some(before)) => PageSpec {
            order: TicketOrder::CreatedAtAsc,
            after: None,
            before: Some(cursor_of(db, &scope, before, "page_before").await?),
            limit: page.size,
            from_end: true,
        },
        (None, None) => PageSpec {
            order: TicketOrder::CreatedAtAsc,
            after: None,
            before: None,
            limit: page.size,
            from_end: false,
        },
    };
    let found = tickets::page(
        db,
        &scope,
        Some(&filter),
        &spec,
        tickets::Columns::ALL,
        false,
    )
    .await?;
    let first = found.tickets.first().map(|t| t.id.clone());
    let last = found.tickets.last().map(|t| t.id.clone());
    let urls = urls(&state);
    let link = link_header(
        &urls,
        &params,
        page.size,
        first.as_deref().filter(|_| found.has_previous),
        last.as_deref().filter(|_| found.has_next),
    );
    let bodies = render(db, &scope, &urls, found.tickets, expand).await?;
    let mut response = Json(bodies).into_response();
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// Retrieve support ticket
///
/// One ticket. A ticket the token may not see answers exactly like one that does not exist.
/// The `ETag` is the ticket's version, for `If-Match` on update.
#[utoipa::path(
    get,
    path = "/support_tickets/{support_ticket_id}",
    operation_id = "get-support_tickets-support_ticket_id",
    tag = "Support Tickets",
    params(TicketParams),
    responses(
        (status = 200, description = "The support ticket.", body = TicketBody,
            headers(("ETag" = String, description = "The ticket's version, for `If-Match`."))),
        (status = 400, response = Problem400BadRequestRetrieve),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 404, response = Problem404NotFound),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn retrieve(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    id: Ids<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let principal = reader(principal)?;
    let id = ticket_id(id)?;
    let expand = query::expand(&QueryParams::parse(raw.as_deref()))
        .map_err(|e| AppError::bad_fields(vec![e]))?;
    let scope = principal.scope();
    let ticket = tickets::get(&state.db, &scope, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    render_one(&state, &scope, ticket, expand).await
}

/// Update support ticket
///
/// Changes the ticket's categorization: `human_verified_category`,
/// `human_verified_subcategory`, `ai_generated_category`, `ai_generated_subcategory`. A
/// field left out stays as it is, null clears it; every other field is read-only and
/// ignored. Takes JSON, a URL-encoded form or a multipart form (where an empty value
/// clears). With `If-Match`, nothing is written unless the ticket's ETag matches.
#[utoipa::path(
    patch,
    path = "/support_tickets/{support_ticket_id}",
    operation_id = "patch-support_tickets-support_ticket_id",
    tag = "Support Tickets",
    params(TicketIdParam),
    request_body(content(
        (TicketBody = "application/json"),
        (TicketBody = "multipart/form-data"),
        (TicketBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The ticket after the change.", body = TicketBody,
            headers(("ETag" = String, description = "The ticket's new version."))),
        (status = 400, response = Problem400BadRequestRetrieve),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 404, response = Problem404NotFound),
        (status = 406, response = Problem406NotAcceptable),
        (status = 409, response = Problem409Conflict),
        (status = 412, response = Problem412PreconditionFailed),
        (status = 413, response = Problem413PayloadTooLarge),
        (status = 415, response = Problem415UnsupportedMediaType),
    ),
    security(("oauth2" = ["support:write"]))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    id: Ids<String>,
    request: Request,
) -> AppResult<Response> {
    let principal = principal.required()?;
    principal.require(OAuthScope::Write)?;
    let id = ticket_id(id)?;
    let precondition = IfMatch::parse(request.headers());
    let change = categorization(&state, request).await?;
    let scope = principal.scope();
    let db = &state.db;
    let expected_version = match &precondition {
        IfMatch::Tags(tags) => {
            let current = tickets::get(db, &scope, &id)
                .await?
                .ok_or(AppError::NotFound)?;
            if !tags.contains(&etag(current.version)) {
                return Err(AppError::PreconditionFailed);
            }
            Some(current.version)
        }
        IfMatch::Absent | IfMatch::Any => None,
    };
    let ticket = if change.is_empty() {
        // Only read-only fields, or none: nothing to write; answer the ticket as it is.
        tickets::get(db, &scope, &id)
            .await?
            .ok_or(AppError::NotFound)?
    } else {
        tickets::categorize(
            db,
            &scope,
            &id,
            &change,
            expected_version,
            &principal.subject,
        )
        .await
        .map_err(|e| match e {
            // A writer that got in between the check and the write: the ETag no longer matches.
            AppError::Conflict(_) if expected_version.is_some() => AppError::PreconditionFailed,
            e => e,
        })?
    };
    render_one(&state, &scope, ticket, Expand::default()).await
}

/// `If-Match`: absent, `*`, or a list of entity tags. Weak tags never match (RFC 9110
/// compares strongly for `If-Match`).
enum IfMatch {
    Absent,
    Any,
    Tags(Vec<String>),
}

impl IfMatch {
    fn parse(headers: &HeaderMap) -> Self {
        let values: Vec<String> = headers
            .get_all(header::IF_MATCH)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if values.is_empty() {
            return Self::Absent;
        }
        let tags: Vec<String> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .collect();
        if tags.iter().any(|t| t == "*") {
            Self::Any
        } else {
            Self::Tags(tags.into_iter().filter(|t| t.starts_with('"')).collect())
        }
    }
}

/// The four writable fields, as the body names them.
const WRITABLE: [&str; 4] = [
    "human_verified_category",
    "human_verified_subcategory",
    "ai_generated_category",
    "ai_generated_subcategory",
];

/// A body field's requested change: absent, null (clear) or a value.
enum Given<'a> {
    Absent,
    Null,
    Value(&'a str),
    /// Neither text nor null.
    Invalid,
}

/// The categorization change a PATCH body asks for, or every bad field.
fn change_from<'b>(given: impl Fn(&str) -> Given<'b>) -> AppResult<CategorizationUpdate> {
    let mut errors = Vec::new();
    let mut change = CategorizationUpdate::default();
    fn parse<T>(
        name: &str,
        given: Given<'_>,
        parse: fn(&str) -> Option<T>,
        what: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<Option<T>> {
        match given {
            Given::Absent => None,
            Given::Null => Some(None),
            Given::Value(v) => match parse(v) {
                Some(value) => Some(Some(value)),
                None => {
                    errors.push(FieldError::new(
                        name,
                        format!(
                            "`{}` is not a {what} (see /v2/support_tickets/categories)",
                            clip(v)
                        ),
                    ));
                    None
                }
            },
            Given::Invalid => {
                errors.push(FieldError::new(
                    name,
                    format!("must be a {what} value or null"),
                ));
                None
            }
        }
    }
    let [hv_cat, hv_sub, ai_cat, ai_sub] = WRITABLE;
    change.human_verified_category = parse(
        hv_cat,
        given(hv_cat),
        Category::parse,
        "category",
        &mut errors,
    );
    change.human_verified_subcategory = parse(
        hv_sub,
        given(hv_sub),
        Subcategory::parse,
        "subcategory",
        &mut errors,
    );
    change.ai_generated_category = parse(
        ai_cat,
        given(ai_cat),
        Category::parse,
        "category",
        &mut errors,
    );
    change.ai_generated_subcategory = parse(
        ai_sub,
        given(ai_sub),
        Subcategory::parse,
        "subcategory",
        &mut errors,
    );
    if errors.is_empty() {
        Ok(change)
    } else {
        Err(AppError::bad_fields(errors))
    }
}

/// Form fields (URL-encoded or multipart): the last value of a name counts, and an empty
/// value clears the field, as HTML forms cannot send null.
fn change_from_form(fields: &[(String, String)]) -> AppResult<CategorizationUpdate> {
    change_from(|name| match fields.iter().rev().find(|(n, _)| n == name) {
        None => Given::Absent,
        Some((_, v)) if v.trim().is_empty() => Given::Null,
        Some((_, v)) => Given::Value(v.trim()),
    })
}

fn change_from_json(bytes: &[u8]) -> AppResult<CategorizationUpdate> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| AppError::BadInput {
            title: "Malformed JSON".into(),
            detail: format!("The body is not valid JSON: {e}"),
            field_errors: Vec::new(),
            problem_type: None,
        })?;
    let serde_json::Value::Object(object) = value else {
        return Err(AppError::bad_input("The body must be a JSON object."));
    };
    change_from(|name| match object.get(name) {
        None => Given::Absent,
        Some(serde_json::Value::Null) => Given::Null,
        Some(serde_json::Value::String(s)) => Given::Value(s),
        Some(_) => Given::Invalid,
    })
}

async fn body_bytes(state: &AppState, request: Request) -> AppResult<Bytes> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::bad_input("The request body could not be read.")
            }
        })
}

fn multipart_error(status: axum::http::StatusCode) -> AppError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_input("The multipart body could not be read.")
    }
}

/// The categorization change of a PATCH body, in any of the three media types it takes.
async fn categorization(state: &AppState, request: Request) -> AppResult<CategorizationUpdate> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .map(|m| m.essence_str().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/json") => change_from_json(&body_bytes(state, request).await?),
        Some("application/x-www-form-urlencoded") => {
            let bytes = body_bytes(state, request).await?;
            let fields: Vec<(String, String)> =
                url::form_urlencoded::parse(&bytes).into_owned().collect();
            change_from_form(&fields)
        }
        Some("multipart/form-data") => {
            let mut multipart = Multipart::from_request(request, state)
                .await
                .map_err(|r| multipart_error(r.status()))?;
            let mut fields = Vec::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| multipart_error(e.status()))?
            {
                let name = field.name().map(str::to_owned);
                let value = field.text().await.map_err(|e| multipart_error(e.status()))?;
                if let Some(name) = name {
                    fields.push((name, value));
                }
            }
            change_from_form(&fields)
        }
        _ => Err(AppError::UnsupportedMediaType(
            "The body must be application/json, application/x-www-form-urlencoded or multipart/form-data.".into(),
        )),
    }
}

/// List messages for a support ticket
///
/// The messages of one ticket, by position, matching every filter given.
#[utoipa::path(
    get,
    path = "/support_tickets/{support_ticket_id}/messages",
    operation_id = "get-support_tickets-support_ticket_id-messages",
    tag = "Support Tickets",
    params(TicketIdParam, MessageListParams),
    responses(
        (status = 200, description = "The ticket's messages.", body = [MessageBody]),
        (status = 400, response = Problem400BadRequestList),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 404, response = Problem404NotFound),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn messages(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    id: Ids<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<Vec<MessageBody>>> {
    let principal = reader(principal)?;
    let id = ticket_id(id)?;
    let filter =
        query::message_filter(&QueryParams::parse(raw.as_deref())).map_err(AppError::bad_fields)?;
    let scope = principal.scope();
    tickets::get(&state.db, &scope, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = id.into_string();
    let list = messages::for_tickets(&state.db, &scope, std::slice::from_ref(&key), &filter)
        .await?
        .remove(&key)
        .unwrap_or_default();
    Ok(Json(list.into_iter().map(MessageBody::new).collect()))
}

/// Retrieve a message for a support ticket
///
/// One message of one ticket.
#[utoipa::path(
    get,
    path = "/support_tickets/{support_ticket_id}/messages/{message_id}",
    operation_id = "get-support_tickets-support_ticket_id-messages-message_id",
    tag = "Support Tickets",
    params(TicketMessageIdParams),
    responses(
        (status = 200, description = "The message.", body = MessageBody),
        (status = 400, response = Problem400BadRequestRetrieve),
        (status = 401, response = Problem401Unauthorized),
        (status = 403, response = Problem403Forbidden),
        (status = 404, response = Problem404NotFound),
        (status = 406, response = Problem406NotAcceptable),
    ),
    security(("oauth2" = ["support:read"]))
)]
pub async fn message(
    State(state): State<AppState>,
    principal: MaybePrincipal,
    ids: Ids<(String, String)>,
) -> AppResult<Json<MessageBody>> {
    let principal = reader(principal)?;
    let Path((ticket, message)) = ids.map_err(|_| AppError::NotFound)?;
    let ticket = TicketId::parse(&ticket).map_err(|_| AppError::NotFound)?;
    let message = MessageId::parse(&message).map_err(|_| AppError::NotFound)?;
    let found = messages::get_many(&state.db, &principal.scope(), &[message.into_string()]).await?;
    found
        .into_iter()
        .find(|m| m.ticket_id == ticket.as_str())
        .map(|m| Json(MessageBody::new(m)))
        .ok_or(AppError::NotFound)
}

/// Get support ticket categories
///
/// Every category and subcategory with its label. Needs no token.
#[utoipa::path(
    get,
    path = "/support_tickets/categories",
    operation_id = "get-support_tickets-categories",
    tag = "Support Tickets",
    responses(
        (status = 200, description = "Every category and subcategory.", body = Categories),
        (status = 400, response = Problem400BadRequestRetrieve),
        (status = 406, response = Problem406NotAcceptable),
    )
)]
pub async fn categories() -> Json<Categories> {
    Json(Categories::all())
}
