//! `/graphql`: reading the request, the checks before execution (router auth, load shedding, document limits),
//! execution with per-request loaders, and what every answer carries (error codes, staleness, the request id).
//!
//! The answer's media type follows GraphQL over HTTP (graphql.github.io/graphql-over-http): the one the `Accept`
//! header ranks highest of `application/graphql-response+json` and `application/json` (the latter without an
//! `Accept`, or for `*/*`), 406 when it allows neither. With `application/graphql-response+json` a document that
//! cannot run (it does not parse, validate, or keep to the limits) is HTTP 400 with no `data` entry; with
//! `application/json` every well-formed request is HTTP 200, as that media type's clients expect.

use std::collections::BTreeMap;
use std::time::Duration;

use async_graphql::{ErrorExtensionValues, ServerError, Value};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::AppState;
use super::metrics::Outcome;
use crate::graphql::error::code;
use crate::graphql::{BatchGate, Prepared, RequestLoaders};
use crate::upstream::RequestContext;

/// How far past its deadline a request may run (building the answer after the last upstream call) before it is
/// cut off.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// The header a request id is read from (if the caller sent one) and echoed in.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Set when part of the answer came from a snapshot past its TTL: `age=<seconds>`.
pub const DATA_STALE: HeaderName = HeaderName::from_static("x-data-stale");

pub(super) async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && query.is_none() && state.graphiql {
        return super::graphiql().await.into_response();
    }
    match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
        Ok(request) if request.query.is_empty() => bad_request("the request has no `query`"),
        Ok(request) => answer(&state, &headers, request, Method::Get).await,
        Err(error) => bad_request(&format!("cannot read the GraphQL request from the query string: {error}")),
    }
}

pub(super) async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // GraphQL over HTTP: a POST body is `application/json`; a body of no declared type is refused, not guessed.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|content_type| content_type.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return bad_request("send the GraphQL request as application/json");
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) if request.query.is_empty() => bad_request("the request has no `query`"),
        Ok(request) => answer(&state, &headers, request, Method::Post).await,
        Err(error) => bad_request(&format!("the body is not a GraphQL request: {error}")),
    }
}

/// The request id: the caller's (if it is a sane token), or a new random one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| format!("{:032x}", rand::random::<u128>()), str::to_owned)
}

/// How the request came: a `GET` may not run a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// The media types an answer can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Json,
    GraphqlResponseJson,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            Self::GraphqlResponseJson => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        }
    }

    /// The type `Accept` ranks highest (by `q`, then by order); `application/json` without an `Accept` header or
    /// for a wildcard; `None` when it allows neither. On every request, so it allocates nothing.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        let mut any_range = false;
        for value in headers.get_all(header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let essence = parts.next().unwrap_or_default().trim();
                if essence.is_empty() {
                    continue;
                }
                any_range = true;
                let quality = parts
                    .filter_map(|parameter| parameter.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                    .map_or(1.0, |(_, q)| q.trim().parse::<f32>().unwrap_or(0.0));
                let media = if essence.eq_ignore_ascii_case("application/graphql-response+json") {
                    Self::GraphqlResponseJson
                } else if ["application/json", "application/*", "*/*"]
                    .iter()
                    .any(|json| essence.eq_ignore_ascii_case(json))
                {
                    Self::Json
                } else {
                    continue;
                };
                // Strictly better only: on equal `q` the earlier range wins.
                if quality > 0.0 && best.is_none_or(|(best_quality, _)| quality > best_quality) {
                    best = Some((quality, media));
                }
            }
        }
        if !any_range {
            return Some(Self::Json);
        }
        best.map(|(_, media)| media)
    }
}

async fn answer(state: &AppState, headers: &HeaderMap, request: async_graphql::Request, method: Method) -> Response {
    let request_id = request_id(headers);
    let span = tracing::info_span!("graphql", request_id = %request_id, operation = tracing::field::Empty);
    let started = Instant::now();
    let (mut response, outcome, operation) = match MediaType::negotiate(headers) {
        Some(media) => checked_and_executed(state, headers, request, method, media).instrument(span).await,
        None => {
            let body = error_body(
                "the Accept header allows neither application/graphql-response+json nor application/json",
                code::NOT_ACCEPTABLE,
            );
            ((StatusCode::NOT_ACCEPTABLE, Json(body)).into_response(), Outcome::Failed, request.operation_name)
        }
    };
    state.metrics.finish_request(operation.as_deref(), outcome, started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The answer, how it ended, and the operation's name (known once the document is parsed).
async fn checked_and_executed(
    state: &AppState,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
    method: Method,
    media: MediaType,
) -> (Response, Outcome, Option<String>) {
    let operation = request.operation_name.clone();
    let caller = match state.router_auth.check(headers) {
        Ok(caller) => caller,
        Err(rejection) => {
            tracing::warn!(%rejection, "refused a request that did not come from the router");
            let body = error_body(&rejection.to_string(), code::UNAUTHENTICATED);
            return ((StatusCode::UNAUTHORIZED, Json(body)).into_response(), Outcome::Unauthenticated, operation);
        }
    };
    // Shedding: a request that cannot start now gets a fast answer instead of a place in an unbounded queue.
    let Ok(_permit) = state.concurrency.clone().try_acquire_owned() else {
        tracing::warn!(in_flight = state.metrics.in_flight(), "shed a request: too many in flight");
        let body = error_body(
            "the subgraph is answering as many requests as it is configured for; retry shortly",
            code::SERVICE_OVERLOADED,
        );
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return (response, Outcome::Shed, operation);
    };
    let _in_flight = state.metrics.start_request();
    let started = Instant::now();
    let Prepared { operation_name: operation, is_mutation, entities } =
        match state.documents.prepare(&mut request, &state.limits) {
            Ok(prepared) => prepared,
            Err(error) => {
                tracing::warn!(%error.message, "refused a document that does not parse or breaks a limit");
                let response = graphql_response(async_graphql::Response::from_errors(vec![error]), media, None);
                return (response, Outcome::Failed, operation);
            }
        };
    tracing::Span::current().record("operation", operation.as_deref().unwrap_or("-"));
    if is_mutation && method == Method::Get {
        let body = error_body("a mutation cannot be sent with GET; use POST", code::METHOD_NOT_ALLOWED);
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return (response, Outcome::Failed, operation);
    }
    if entities.refused() > 0 {
        tracing::warn!(refused = entities.refused(), "refused _entities representations");
    }
    let context = RequestContext::with_deadline(state.request_deadline);
    let gate = BatchGate::new();
    let loaders = {
        // Batches run on their own tasks: they carry the request's context and span with them.
        let (context, gate, span) = (context.clone(), gate.clone(), tracing::Span::current());
        RequestLoaders::new(&state.keka, &state.snapshot, move |batch| {
            gate.hold(Box::pin(context.scope(batch).instrument(span.clone())))
        })
    };
    let request = request.data(loaders).data(caller);
    // Upstream calls keep to the deadline themselves; this is the net for anything else that might not.
    let cut_off = state.request_deadline + DEADLINE_MARGIN;
    let Ok(mut response) = tokio::time::timeout(cut_off, context.scope(gate.run(state.schema.execute(request)))).await
    else {
        tracing::error!(
            cut_off_ms = cut_off.as_millis() as u64,
            held_batches = gate.held(),
            "a request overran its deadline and was cut off"
        );
        let body = error_body("the request did not finish within its deadline", code::REQUEST_TIMEOUT);
        return ((StatusCode::GATEWAY_TIMEOUT, Json(body)).into_response(), Outcome::Failed, operation);
    };
    entities.restore(&mut response);
    add_missing_codes(&mut response);
    crate::graphql::error::put_nulls_at_error_paths(&mut response.data, &response.errors);
    state.access_directives.apply_to_response(&mut response);
    let stale_age = context.stale_age();
    if let Some(age) = stale_age {
        let staleness = async_graphql::value!({ "stale": true, "ageSeconds": age.as_secs() });
        response.extensions.insert("dataFreshness".to_owned(), staleness);
    }
    let outcome = match (&response.data, response.errors.is_empty()) {
        (_, true) => Outcome::Ok,
        (Value::Null, false) => Outcome::Failed,
        (_, false) => Outcome::Partial,
    };
    tracing::info!(
        latency_ms = started.elapsed().as_millis() as u64,
        keka_requests = context.count(),
        errors = response.errors.len(),
        stale_secs = stale_age.map(|age| age.as_secs()),
        "graphql request"
    );
    (graphql_response(response, media, stale_age), outcome, operation)
}

/// A request error: the document never ran (it did not parse or validate, or broke a limit), so the answer has no
/// data to show.
fn is_request_error(response: &async_graphql::Response) -> bool {
    matches!(response.data, Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// An answer without a `data` entry, as `application/graphql-response+json` wants for request errors.
#[derive(serde::Serialize)]
struct WithoutData<'a> {
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

fn graphql_response(response: async_graphql::Response, media: MediaType, stale_age: Option<Duration>) -> Response {
    let mut http = if is_request_error(&response) && media == MediaType::GraphqlResponseJson {
        let body = WithoutData { errors: &response.errors, extensions: &response.extensions };
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    } else {
        async_graphql_axum::GraphQLResponse::from(async_graphql::BatchResponse::Single(response)).into_response()
    };
    http.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    if let Some(age) = stale_age
        && let Ok(value) = HeaderValue::from_str(&format!("age={}", age.as_secs()))
    {
        http.headers_mut().insert(DATA_STALE, value);
    }
    http
}

/// Every error carries `extensions.code`: async-graphql's validation errors (which never reached a resolver) get
/// Apollo's code, or a sharper one for depth and complexity; anything else uncoded is internal. Parse errors and the
/// other limits are coded where they are found, in [`DocumentCache::prepare`](crate::graphql::DocumentCache).
fn add_missing_codes(response: &mut async_graphql::Response) {
    let before_execution = is_request_error(response);
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if before_execution { code_before_execution(error) } else { code::INTERNAL_SERVER_ERROR };
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    }
}

/// async-graphql reports its depth and complexity limits only in English, so these two are told apart by their
/// text; a test (`code_before_execution_knows_async_graphqls_messages`) fails if an upgrade rewords them.
fn code_before_execution(error: &ServerError) -> &'static str {
    match error.message.as_str() {
        "Query is nested too deep." => code::QUERY_TOO_DEEP,
        "Query is too complex." => code::QUERY_TOO_COMPLEX,
        _ => code::GRAPHQL_VALIDATION_FAILED,
    }
}

fn error_body(message: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

pub(super) fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(error_body(message, code::BAD_REQUEST))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::{DocumentCache, GraphLimits};

    /// The codes a document's errors get on their way through `checked_and_executed`, before any resolver runs.
    async fn codes_before_execution(query: &str) -> Vec<String> {
        let limits = GraphLimits { max_depth: 3, max_complexity: 10, ..GraphLimits::default() };
        let schema = crate::graphql::schema_builder()
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .finish();
        let mut request = async_graphql::Request::new(query);
        let mut response = match DocumentCache::new(1).prepare(&mut request, &limits) {
            Ok(_) => schema.execute(request).await,
            Err(error) => async_graphql::Response::from_errors(vec![error]),
        };
        add_missing_codes(&mut response);
        assert!(is_request_error(&response), "{query} ran: {response:?}");
        let code =
            |error: &ServerError| error.extensions.as_ref().and_then(|extensions| extensions.get("code")).cloned();
        response.errors.iter().map(|error| code(error).map(|code| code.to_string()).unwrap_or_default()).collect()
    }

    #[tokio::test]
    async fn code_before_execution_knows_async_graphqls_messages() {
        let quoted = |code: &str| vec![format!("\"{code}\"")];
        let deep = "{ employees(first: 1) { nodes { manager { displayName } } } }";
        assert_eq!(
            codes_before_execution(deep).await,
            quoted(code::QUERY_TOO_DEEP),
            "async-graphql reworded its depth error: update `code_before_execution`"
        );
        // `__typename` costs nothing; repeated fields each count.
        let wide = format!("{{ employees(first: 1) {{ nodes {{ {} }} }} }}", "id displayName email ".repeat(4));
        assert_eq!(
            codes_before_execution(&wide).await,
            quoted(code::QUERY_TOO_COMPLEX),
            "async-graphql reworded its complexity error: update `code_before_execution`"
        );
        assert_eq!(codes_before_execution("{ employees(").await, quoted(code::GRAPHQL_PARSE_FAILED));
        assert_eq!(codes_before_execution("{ noSuchField }").await, quoted(code::GRAPHQL_VALIDATION_FAILED));
        // Its message says "expected type", which a classifier reading text once took for a parse error.
        let wrong_argument = r#"{ employees(first: "x") { totalCount } }"#;
        assert_eq!(codes_before_execution(wrong_argument).await, quoted(code::GRAPHQL_VALIDATION_FAILED));
    }
}
