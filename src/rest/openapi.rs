//! The shims' own OpenAPI document, generated from the handlers, the body types and the
//! parameter tables the query parser uses; served at `GET /v2/openapi.json`.

use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, Server};
use utoipa::{IntoParams, Modify, OpenApi, ToResponse};

use super::body::{
    Categories, CategoryOption, MessageBody, SubcategoryOption, TicketBody, UserBody,
};
use super::query::{ValueKind, EXPAND_VALUES, MESSAGE_FILTER_PARAMS, TICKET_FILTER_PARAMS};
use super::schema::{self, CategoryEnum, MessageTypeEnum, SubcategoryEnum};
use super::stats::{self as stats_ops, DEFAULT_LIMIT, GROUP_BY_VALUES};
use super::tickets::{self as ops, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::data::stats::MAX_RANKED;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ticket-gateway: ev.energy v2 Support Tickets",
        version = "2.0",
        description = "The documented v2 Support Tickets operations, served over the gateway's data layer."
    ),
    paths(
        ops::list,
        ops::categories,
        ops::retrieve,
        ops::update,
        ops::messages,
        ops::message,
        stats_ops::sankey,
        stats_ops::volume,
        stats_ops::resolution,
        stats_ops::status,
        stats_ops::priority,
        stats_ops::source,
        stats_ops::top_categories,
    ),
    components(
        schemas(
            TicketBody,
            MessageBody,
            UserBody,
            Categories,
            CategoryOption,
            SubcategoryOption,
            CategoryEnum,
            SubcategoryEnum,
            MessageTypeEnum
        ),
        responses(
            Problem400BadRequestList,
            Problem400BadRequestRetrieve,
            Problem400BadRequestStats,
            Problem401Unauthorized,
            Problem403Forbidden,
            Problem404NotFound,
            Problem406NotAcceptable,
            Problem409Conflict,
            Problem412PreconditionFailed,
            Problem413PayloadTooLarge,
            Problem415UnsupportedMediaType,
            Problem429TooManyRequests,
            Problem503ServiceUnavailable
        )
    ),
    tags((name = "Support Tickets", description = "Support tickets, their messages and their categorization.")),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// `GET /v2/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// What every operation shares: the `/v2` server, the version header on requests and
/// responses, the rate limit headers on responses, 429 past the limit, 503 while the
/// database is away, the problem schema, and the bearer token.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.servers = Some(vec![Server::new("/v2")]);
        let components = doc.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("RFC9457ProblemDetail".into(), schema::problem());
        components.security_schemes.insert(
            "oauth2".into(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT whose `scope` claim grants `support:read` (to read) or `support:write` (to categorize).",
                    ))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(version_parameter());
                operation.responses.responses.insert(
                    "429".into(),
                    RefOr::Ref(Ref::from_response_name(
                        Problem429TooManyRequests::response().0,
                    )),
                );
                operation.responses.responses.insert(
                    "503".into(),
                    RefOr::Ref(Ref::from_response_name(
                        Problem503ServiceUnavailable::response().0,
                    )),
                );
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response
                            .headers
                            .insert("EvEnergy-Version".into(), version_header());
                        add_rate_limit_headers(response);
                    }
                }
            }
        }
        let components = doc.components.get_or_insert_with(Default::default);
        for response in components.responses.values_mut() {
            if let RefOr::T(response) = response {
                add_rate_limit_headers(response);
            }
        }
    }
}

/// Every answer of an operation, errors included, tells the client's budget.
fn add_rate_limit_headers(response: &mut Response) {
    let count = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
    };
    response.headers.insert(
        "X-RateLimit-Limit".into(),
        HeaderBuilder::new()
            .schema(count())
            .description(Some(
                "The requests this client may make to this operation per hour (RATE_LIMIT_PER_HOUR).",
            ))
            .build(),
    );
    response.headers.insert(
        "X-RateLimit-Remaining".into(),
        HeaderBuilder::new()
            .schema(count())
            .description(Some(
                "The requests this client may still make to this operation now; one comes back every hour / limit.",
            ))
            .build(),
    );
}

fn version_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("EvEnergy-Version")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("The API version to use; only 2 is served."))
        .schema(Some(schema::version()))
        .build()
}

fn version_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(schema::version())
        .description(Some("The API version that answered: 2."))
        .build()
}

fn parameter(
    name: &str,
    at: ParameterIn,
    required: bool,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn formatted(format: KnownFormat) -> ObjectBuilder {
    string().format(Some(SchemaFormat::KnownFormat(format)))
}

fn kind_schema(kind: ValueKind) -> ObjectBuilder {
    match kind {
        ValueKind::Text | ValueKind::List | ValueKind::DateTimeRange => string(),
        ValueKind::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
        ValueKind::DateTime => formatted(KnownFormat::DateTime),
        ValueKind::UserRef => string().format(Some(SchemaFormat::Custom("uri".into()))),
        ValueKind::Integer => ObjectBuilder::new().schema_type(Type::Integer),
    }
}

fn ticket_id_parameter() -> Parameter {
    parameter(
        "support_ticket_id",
        ParameterIn::Path,
        true,
        "The ticket's id.",
        string().pattern(Some(r"tick[A-Z\d]{26}")),
    )
}

fn expand_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("expand")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(
            "Inline referenced resources: `user`, `messages`; repeat the parameter or separate with commas.",
        ))
        .schema(Some(
            ArrayBuilder::new().items(string().enum_values(Some(EXPAND_VALUES.iter().copied()))),
        ))
        .explode(Some(true))
        .build()
}

/// The parameters of the ticket list: pages, `expand`, every filter, `EvEnergy-User`.
pub struct TicketListParams;

impl IntoParams for TicketListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let id_pattern = || string().pattern(Some(r"[a-z]{4}[A-Z\d]{26}"));
        let mut params = vec![
            parameter(
                "page_before",
                ParameterIn::Query,
                false,
                "The page of tickets created immediately before this one (ignored with `page_after`).",
                id_pattern(),
            ),
            parameter(
                "page_after",
                ParameterIn::Query,
                false,
                "The page of tickets created after this one.",
                id_pattern(),
            ),
            parameter(
                "page_size",
                ParameterIn::Query,
                false,
                "Tickets per page.",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .default(Some(DEFAULT_PAGE_SIZE.into()))
                    .minimum(Some(1))
                    .maximum(Some(MAX_PAGE_SIZE as f64)),
            ),
            expand_parameter(),
        ];
        params.extend(TicketFilterParams::into_params(|| None));
        params.push(parameter(
            "EvEnergy-User",
            ParameterIn::Header,
            false,
            "Narrows an organization or all-areas token to this user.",
            string().pattern(Some(r"user[A-Z\d]{26}")),
        ));
        params
    }
}

/// The ticket filters alone, as the list and the statistics operations take them.
pub struct TicketFilterParams;

impl IntoParams for TicketFilterParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        TICKET_FILTER_PARAMS
            .iter()
            .map(|p| {
                parameter(
                    &p.name(),
                    ParameterIn::Query,
                    false,
                    p.doc,
                    kind_schema(p.kind()),
                )
            })
            .collect()
    }
}

/// The parameters of the volume statistics: `group_by` and the ticket filters.
pub struct VolumeParams;

impl IntoParams for VolumeParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![parameter(
            "group_by",
            ParameterIn::Query,
            false,
            "Length of a period: day, week (Monday to Sunday) or month, in UTC. Defaults to day.",
            string()
                .enum_values(Some(GROUP_BY_VALUES))
                .default(Some(GROUP_BY_VALUES[0].into())),
        )];
        params.extend(TicketFilterParams::into_params(|| None));
        params
    }
}

/// The parameters of the top categories: `limit` and the ticket filters.
pub struct TopCategoriesParams;

impl IntoParams for TopCategoriesParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![parameter(
            "limit",
            ParameterIn::Query,
            false,
            &format!(
                "Most categories, and most subcategories, to return: 1 to {MAX_RANKED}. Defaults to {DEFAULT_LIMIT}."
            ),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .default(Some(DEFAULT_LIMIT.into()))
                .minimum(Some(1)),
        )];
        params.extend(TicketFilterParams::into_params(|| None));
        params
    }
}

/// The parameters of one ticket: its id and `expand`.
pub struct TicketParams;

impl IntoParams for TicketParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ticket_id_parameter(), expand_parameter()]
    }
}

/// The ticket id in the path.
pub struct TicketIdParam;

impl IntoParams for TicketIdParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ticket_id_parameter()]
    }
}

/// The ticket and message ids in the path.
pub struct TicketMessageIdParams;

impl IntoParams for TicketMessageIdParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ticket_id_parameter(),
            parameter(
                "message_id",
                ParameterIn::Path,
                true,
                "The message's id.",
                string().pattern(Some("tmsg[A-Z0-9]{26}")),
            ),
        ]
    }
}

/// The message filters.
pub struct MessageListParams;

impl IntoParams for MessageListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        MESSAGE_FILTER_PARAMS
            .iter()
            .map(|p| {
                parameter(
                    &p.name(),
                    ParameterIn::Query,
                    false,
                    p.doc,
                    kind_schema(p.kind()),
                )
            })
            .collect()
    }
}

fn problem_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("RFC9457ProblemDetail")))
                .build(),
        )
        .header("EvEnergy-Version", version_header())
        .build()
        .into()
}

macro_rules! problem_responses {
    ($($name:ident => $description:literal;)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), problem_response($description))
            }
        }
    )*};
}

/// The client has exceeded its rate limit.
pub struct Problem429TooManyRequests;

impl<'r> ToResponse<'r> for Problem429TooManyRequests {
    fn response() -> (&'r str, RefOr<Response>) {
        let mut response = problem_response(
            "The client has spent its budget for this operation; `Retry-After` says when the next request passes.",
        );
        if let RefOr::T(response) = &mut response {
            response.headers.insert(
                "Retry-After".into(),
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some(
                        "Whole seconds until this client's next request to this operation passes.",
                    ))
                    .build(),
            );
        }
        ("Problem429TooManyRequests", response)
    }
}

problem_responses! {
    Problem400BadRequestList => "Bad parameters (each one named in `field_errors`), bad page parameters, or an unsupported version.";
    Problem400BadRequestRetrieve => "A bad parameter or body field, or an unsupported version.";
    Problem400BadRequestStats => "Bad parameters (each one named in `field_errors`), or an unsupported version.";
    Problem401Unauthorized => "No token, or a token that fails validation.";
    Problem403Forbidden => "The token lacks the OAuth scope the operation needs.";
    Problem404NotFound => "The resource does not exist or the token may not see it.";
    Problem406NotAcceptable => "The Accept header allows neither JSON nor problem+json.";
    Problem409Conflict => "Another writer changed the ticket at the same moment; nothing was written. Read it again.";
    Problem412PreconditionFailed => "If-Match does not match the ticket's current ETag; nothing was written.";
    Problem413PayloadTooLarge => "The body is larger than the server accepts.";
    Problem415UnsupportedMediaType => "The body is not JSON, a URL-encoded form or a multipart form.";
    Problem503ServiceUnavailable => "The database cannot be reached; try again shortly.";
}
