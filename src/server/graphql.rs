//! `/graphql`: reading the request, the checks before execution (router auth, load shedding, document limits),
//! execution with per-request loaders, and what every answer carries (error codes, staleness, the request id).

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
use crate::graphql::{BatchGate, RequestLoaders, check_representations};
use crate::upstream::RequestTally;

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
        Ok(request) => answer(&state, &headers, request).await,
        Err(error) => bad_request(&format!("cannot read the GraphQL request from the query string: {error}")),
    }
}

pub(super) async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_none_or(|content_type| {
        content_type.starts_with("application/json") || content_type.starts_with("application/graphql-response+json")
    });
    if !is_json {
        return bad_request("send the GraphQL request as application/json");
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => answer(&state, &headers, request).await,
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

async fn answer(state: &AppState, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    let request_id = request_id(headers);
    let span = tracing::info_span!("graphql", request_id = %request_id, operation = tracing::field::Empty);
    let started = Instant::now();
    let (mut response, outcome, operation) = checked_and_executed(state, headers, request).instrument(span).await;
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
) -> (Response, Outcome, Option<String>) {
    let operation = request.operation_name.clone();
    let scopes = match state.router_auth.check(headers) {
        Ok(scopes) => scopes,
        Err(rejection) => {
            tracing::warn!(%rejection, "refused a request that did not come from the router");
            let body = error_body(&rejection.to_string(), "UNAUTHENTICATED");
            return ((StatusCode::UNAUTHORIZED, Json(body)).into_response(), Outcome::Unauthenticated, operation);
        }
    };
    // Shedding: a request that cannot start now gets a fast answer instead of a place in an unbounded queue.
    let Ok(_permit) = state.concurrency.clone().try_acquire_owned() else {
        tracing::warn!(in_flight = state.metrics.in_flight(), "shed a request: too many in flight");
        let body = error_body(
            "the subgraph is answering as many requests as it is configured for; retry shortly",
            "SERVICE_OVERLOADED",
        );
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return (response, Outcome::Shed, operation);
    };
    let _in_flight = state.metrics.start_request();
    let started = Instant::now();
    let operation = match state.documents.prepare(&mut request, &state.limits) {
        Ok(operation) => operation,
        Err(error) => {
            tracing::warn!(%error.message, "refused a document over the limits");
            let response = graphql_response(async_graphql::Response::from_errors(vec![error]), None);
            return (response, Outcome::Failed, operation);
        }
    };
    tracing::Span::current().record("operation", operation.as_deref().unwrap_or("-"));
    let bad_representations = check_representations(&request.variables);
    if !bad_representations.is_empty() {
        tracing::warn!(errors = bad_representations.len(), "refused _entities representations");
        let response = graphql_response(async_graphql::Response::from_errors(bad_representations), None);
        return (response, Outcome::Failed, operation);
    }
    let tally = RequestTally::with_deadline(state.request_deadline);
    let gate = BatchGate::new();
    let loaders = {
        // Batches run on their own tasks: they carry the request's tally and span with them.
        let (tally, gate, span) = (tally.clone(), gate.clone(), tracing::Span::current());
        RequestLoaders::new(&state.keka, &state.snapshot, move |batch| {
            gate.hold(Box::pin(tally.scope(batch).instrument(span.clone())))
        })
    };
    let request = request.data(loaders).data(scopes);
    // Upstream calls keep to the deadline themselves; this is the net for anything else that might not.
    let cut_off = state.request_deadline + DEADLINE_MARGIN;
    let Ok(mut response) = tokio::time::timeout(cut_off, tally.scope(gate.run(state.schema.execute(request)))).await
    else {
        tracing::error!(
            cut_off_ms = cut_off.as_millis() as u64,
            held_batches = gate.held(),
            "a request overran its deadline and was cut off"
        );
        let body = error_body("the request did not finish within its deadline", "REQUEST_TIMEOUT");
        return ((StatusCode::GATEWAY_TIMEOUT, Json(body)).into_response(), Outcome::Failed, operation);
    };
    add_missing_codes(&mut response);
    crate::graphql::error::put_nulls_at_error_paths(&mut response.data, &response.errors);
    state.access_directives.apply_to_response(&mut response);
    let stale_age = tally.stale_age();
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
        keka_requests = tally.count(),
        errors = response.errors.len(),
        stale_secs = stale_age.map(|age| age.as_secs()),
        "graphql request"
    );
    (graphql_response(response, stale_age), outcome, operation)
}

fn graphql_response(response: async_graphql::Response, stale_age: Option<Duration>) -> Response {
    let mut http =
        async_graphql_axum::GraphQLResponse::from(async_graphql::BatchResponse::Single(response)).into_response();
    if let Some(age) = stale_age
        && let Ok(value) = HeaderValue::from_str(&format!("age={}", age.as_secs()))
    {
        http.headers_mut().insert(DATA_STALE, value);
    }
    http
}

/// Every error carries `extensions.code`: parse and validation errors (which never reached a
/// resolver) get Apollo's codes, or a sharper one for the limits; anything else uncoded is internal.
fn add_missing_codes(response: &mut async_graphql::Response) {
    let before_execution =
        matches!(response.data, Value::Null) && response.errors.iter().all(|error| error.path.is_empty());
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if before_execution { code_before_execution(error) } else { "INTERNAL_SERVER_ERROR" };
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    }
}

fn code_before_execution(error: &ServerError) -> &'static str {
    let message = error.message.as_str();
    if message == "Query is nested too deep." {
        "QUERY_TOO_DEEP"
    } else if message == "Query is too complex." {
        "QUERY_TOO_COMPLEX"
    } else if message.contains("Parse error") || message.starts_with(" --> ") || message.contains("expected") {
        "GRAPHQL_PARSE_FAILED"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    }
}

fn error_body(message: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

pub(super) fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(error_body(message, "BAD_REQUEST"))).into_response()
}
