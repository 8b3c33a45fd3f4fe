//! The HTTP surface: Keka's paths, the gate in front of the API (auth → rate budget →
//! faults), request counting, and the admin endpoints.
//!
//! Layering, outermost first:
//! 1. `record_stats` on the whole router: counts every non-admin request by route template
//!    and final status (including 401/429/fault responses and unmatched paths).
//! 2. `tag_route` on every route: copies axum's `MatchedPath` into the response so that
//!    `record_stats`, which runs before routing, can see which template matched.
//! 3. `api_gate` on `/api/v1` routes only; the Keeper SCIM routes (`super::keeper::routes`)
//!    have a gate of their own, and `record_stats` counts them in the Keeper node's counters.

mod admin;
mod hire;
mod hris;
mod time;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::auth::{self, BearerCheck};
use super::budget::Admission;
use super::config::HireListShape;
use super::faults::{self, Fault};
use super::keeper;
use super::query::{Paging, QueryParams};
use super::respond::{self, PageContext};
use super::state::AppState;
use super::stats::{UNMATCHED_API_ROUTE, UNMATCHED_ROUTE};

/// Largest response body the malformed-JSON fault will buffer.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Routes whose POST changes the tenant (the faults treat writes apart); the employee search
/// is a POST that only reads.
const WRITE_ROUTES: &[&str] = &["/api/v1/time/leaverequests"];

/// Builds the sandbox router.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/v1/hris/employees", get(hris::list_employees))
        .route("/api/v1/hris/employees/search", post(hris::search_employees))
        .route("/api/v1/hris/employees/{id}", get(hris::get_employee))
        .route("/api/v1/hris/groups", get(hris::list_groups))
        .route("/api/v1/hris/grouptypes", get(hris::list_group_types))
        .route("/api/v1/hris/departments", get(hris::list_departments))
        .route("/api/v1/hris/locations", get(hris::list_locations))
        .route("/api/v1/hris/jobtitles", get(hris::list_job_titles))
        .route("/api/v1/time/leavetypes", get(time::list_leave_types))
        .route("/api/v1/time/leaverequests", get(time::list_leave_requests).post(time::create_leave_request))
        .route("/api/v1/time/leavebalance", get(time::list_leave_balances))
        .route("/api/v1/time/attendance", get(time::list_attendance))
        .route("/api/v1/hire/jobs", get(hire::list_jobs))
        .route("/api/v1/hire/jobs/{jobId}/candidates", get(hire::list_candidates))
        .route("/api/v1/hire/preboarding/candidates", get(hire::list_preboarding))
        .route_layer(from_fn_with_state(state.clone(), api_gate));

    Router::new()
        .merge(api)
        .merge(keeper::routes::router(state.clone()))
        .route("/connect/token", post(auth::token))
        .route_layer(from_fn(tag_route))
        .merge(admin::router())
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), record_stats))
        .with_state(state)
}

/// The route template that handled a request, passed from `tag_route` to `record_stats`.
#[derive(Debug, Clone)]
struct MatchedRoute(String);

async fn tag_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| MatchedRoute(m.as_str().to_owned()));
    let mut response = next.run(request).await;
    if let Some(m) = matched {
        response.extensions_mut().insert(m);
    }
    response
}

async fn record_stats(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/__sandbox") {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let scim = keeper::routes::is_scim_path(&path);
    let route = match response.extensions().get::<MatchedRoute>() {
        Some(MatchedRoute(route)) => route.clone(),
        None if scim => keeper::routes::UNMATCHED_SCIM_ROUTE.to_owned(),
        None if path == "/api/v1" || path.starts_with("/api/v1/") => UNMATCHED_API_ROUTE.to_owned(),
        None => UNMATCHED_ROUTE.to_owned(),
    };
    // The Keeper node counts its own requests.
    let stats = if scim { &app.keeper.stats } else { &app.stats };
    stats.record(&method, &route, response.status().as_u16());
    response
}

/// Unknown paths: a bare 404, as ASP.NET routing gives; under the Keeper SCIM prefix a SCIM
/// error (401 without the Keeper token, else 404).
async fn not_found(State(app): State<Arc<AppState>>, request: Request) -> Response {
    if keeper::routes::is_scim_path(request.uri().path()) {
        return keeper::routes::unmatched(&app, request.headers());
    }
    StatusCode::NOT_FOUND.into_response()
}

/// Auth → rate budget → faults → handler, then the configured latency.
async fn api_gate(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let response = gate(&app, request, next).await;
    let latency = app.faults.current().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}

async fn gate(app: &AppState, request: Request, next: Next) -> Response {
    let check = app.tokens.check(request.headers());
    if check != BearerCheck::Valid {
        return auth::unauthorized(check);
    }
    if let Admission::Limited { retry_after_secs } = app.budget.admit() {
        return rate_limited(app, retry_after_secs);
    }
    match app.faults.draw(is_write(&request)) {
        Fault::None => next.run(request).await,
        Fault::CommitThenFail => {
            // The write runs on a task of its own, so that it is applied even if the client
            // hangs up first, as a server that committed before its answer was lost would.
            let applied = tokio::spawn(next.run(request)).await;
            if let Err(err) = applied {
                tracing::error!(error = %err, "sandbox write panicked");
            }
            let delay = app.faults.current().commit_then_fail_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            faults::server_error()
        }
        Fault::ServerError => faults::server_error(),
        Fault::HtmlError => faults::html_page(StatusCode::BAD_GATEWAY),
        Fault::MalformedJson => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
            parts.status = StatusCode::OK;
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            Response::from_parts(parts, Body::from(faults::truncate(&bytes)))
        }
    }
}

/// Whether a request is a write (a POST to one of [`WRITE_ROUTES`]).
fn is_write(request: &Request) -> bool {
    request.method() == Method::POST
        && request.extensions().get::<MatchedPath>().is_some_and(|m| WRITE_ROUTES.contains(&m.as_str()))
}

/// The 429: Keka documents only the reason `rateLimitExceeded`; the body mirrors its envelope.
fn rate_limited(app: &AppState, retry_after_secs: u64) -> Response {
    let mut response = respond::error_envelope(
        StatusCode::TOO_MANY_REQUESTS,
        "rateLimitExceeded",
        vec![format!("rateLimitExceeded: quota of {} requests per minute exceeded", app.budget.limit())],
    );
    if app.config.retry_after_header {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    }
    response
}

/// What list handlers share: parsed query, paging, and where links point.
struct ListRequest {
    query: QueryParams,
    paging: Paging,
    path: String,
}

impl ListRequest {
    fn parse(uri: &axum::http::Uri) -> Result<Self, respond::ApiError> {
        let query = QueryParams::parse(uri.query());
        let paging = query.paging()?;
        Ok(Self { query, paging, path: uri.path().to_owned() })
    }

    fn context<'a>(&'a self, app: &'a AppState) -> PageContext<'a> {
        PageContext { origin: &app.origin, path: &self.path, query: &self.query, paging: self.paging }
    }

    /// The standard envelope for the page of `items` this request asks for.
    fn envelope<'a, T, W: Serialize>(&self, app: &AppState, items: &'a [T], render: impl Fn(&'a T) -> W) -> Response {
        let data = self.paging.slice(items).iter().map(render).collect();
        respond::list(self.context(app), data, items.len())
    }

    /// Hire lists: a bare array or the envelope, per configuration.
    fn hire_list<'a, T, W: Serialize>(&self, app: &AppState, items: &'a [T], render: impl Fn(&'a T) -> W) -> Response {
        match app.config.hire_list_shape {
            HireListShape::Array => {
                let data: Vec<W> = self.paging.slice(items).iter().map(render).collect();
                respond::json(StatusCode::OK, &data)
            }
            HireListShape::Envelope => self.envelope(app, items, render),
        }
    }
}
