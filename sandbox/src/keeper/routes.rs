//! The Keeper SCIM routes: `GET {base}/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}` under
//! `base = /api/rest/scim/v2/{node_id}`, behind their own gate (bearer token → node id →
//! rate budget → faults, then the configured latency).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;

use super::directory::KeeperAccount;
use super::route::{self, GROUP, GROUPS, USER, USERS};
use super::wire;
use crate::budget::Admission;
use crate::faults::{self, Fault};
use crate::state::AppState;

/// Every Keeper SCIM path starts with this (then `/{node_id}`).
pub(crate) const SCIM_PREFIX: &str = "/api/rest/scim/v2";
/// Route template recorded for requests under [`SCIM_PREFIX`] that matched no route.
pub(crate) const UNMATCHED_SCIM_ROUTE: &str = route::UNMATCHED;

/// Largest response body the malformed-JSON fault will buffer.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The Keeper routes, gated.
pub(crate) fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route(USERS, get(list_users))
        .route(USER, get(get_user))
        .route(GROUPS, get(list_groups))
        .route(GROUP, get(get_group))
        .route_layer(from_fn_with_state(state, gate))
}

/// Whether a request path belongs to the Keeper node (for counting and the fallback).
pub(crate) fn is_scim_path(path: &str) -> bool {
    path == SCIM_PREFIX || path.strip_prefix(SCIM_PREFIX).is_some_and(|rest| rest.starts_with('/'))
}

/// Answer for a path under [`SCIM_PREFIX`] that no route matched: 401 without a valid
/// token, else a SCIM 404.
pub(crate) fn unmatched(app: &AppState, headers: &HeaderMap) -> Response {
    if let Err(detail) = check_token(app, headers) {
        return wire::error(StatusCode::UNAUTHORIZED, None, detail);
    }
    wire::error(StatusCode::NOT_FOUND, None, "Resource not found")
}

/// `Err(detail)` when the request does not carry the node's current bearer token.
fn check_token(app: &AppState, headers: &HeaderMap) -> Result<(), &'static str> {
    const MISSING: &str = "Authorization header with a bearer token is required";
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(MISSING);
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(MISSING);
    }
    if token.trim() != app.keeper.token() {
        return Err("Invalid or expired bearer token");
    }
    Ok(())
}

/// Token → node id → rate budget → faults → handler, then the configured latency.
async fn gate(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let response = admit(&app, request, next).await;
    let latency = app.keeper.faults.current().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}

async fn admit(app: &AppState, request: Request, next: Next) -> Response {
    if let Err(detail) = check_token(app, request.headers()) {
        return wire::error(StatusCode::UNAUTHORIZED, None, detail);
    }
    let node = request.uri().path().strip_prefix(SCIM_PREFIX).and_then(|rest| rest.split('/').nth(1));
    if node != Some(app.config.keeper.node_id.as_str()) {
        return wire::error(StatusCode::NOT_FOUND, None, "Node not found");
    }
    if let Admission::Limited { retry_after_secs } = app.keeper.budget.admit() {
        let detail = format!("Too many requests: quota of {} requests per window exceeded", app.keeper.budget.limit());
        let mut response = wire::error(StatusCode::TOO_MANY_REQUESTS, None, &detail);
        if app.config.keeper.retry_after_header {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        return response;
    }
    // The Keeper node only reads: no write loses its answer here.
    match app.keeper.faults.draw(false) {
        Fault::None | Fault::CommitThenFail => next.run(request).await,
        Fault::ServerError => wire::error(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal server error"),
        Fault::HtmlError => faults::html_page(StatusCode::BAD_GATEWAY),
        Fault::MalformedJson => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
            parts.status = StatusCode::OK;
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(wire::SCIM_CONTENT_TYPE));
            Response::from_parts(parts, Body::from(faults::truncate(&bytes)))
        }
    }
}

/// A 400 with a `scimType`.
struct BadRequest {
    scim_type: &'static str,
    detail: String,
}

impl BadRequest {
    fn into_response(self) -> Response {
        wire::error(StatusCode::BAD_REQUEST, Some(self.scim_type), &self.detail)
    }
}

/// The query of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListQuery {
    /// 1-based; values below 1 were raised to 1.
    start_index: usize,
    /// Page size after defaulting and clamping; 0 asks for `totalResults` only.
    count: usize,
    /// The raw `filter` parameter.
    filter: Option<String>,
    /// Lower-cased names from `excludedAttributes`.
    excluded: Vec<String>,
}

impl ListQuery {
    /// RFC 7644 §3.4.2.4: `startIndex` below 1 means 1, a negative `count` means 0; the
    /// sandbox also clamps `count` to the configured maximum. Parameter names match
    /// case-insensitively; the first occurrence wins.
    fn parse(uri: &Uri, default_count: usize, max_count: usize) -> Result<ListQuery, BadRequest> {
        let mut start_index = None;
        let mut count = None;
        let mut filter = None;
        let mut excluded = None;
        for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            let slot = match key.to_ascii_lowercase().as_str() {
                "startindex" => &mut start_index,
                "count" => &mut count,
                "filter" => &mut filter,
                "excludedattributes" => &mut excluded,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        let integer = |name: &str, raw: &str| {
            raw.trim().parse::<i64>().map_err(|_| BadRequest {
                scim_type: "invalidValue",
                detail: format!("{name} must be an integer, got {raw:?}"),
            })
        };
        let start_index = match start_index {
            Some(raw) => usize::try_from(integer("startIndex", &raw)?.max(1)).unwrap_or(usize::MAX),
            None => 1,
        };
        let count = match count {
            Some(raw) => usize::try_from(integer("count", &raw)?.max(0)).unwrap_or(usize::MAX),
            None => default_count,
        }
        .min(max_count);
        let excluded = excluded
            .map(|raw| raw.split(',').map(|a| a.trim().to_ascii_lowercase()).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default();
        Ok(ListQuery { start_index, count, filter, excluded })
    }

    fn excludes(&self, attribute: &str) -> bool {
        self.excluded.iter().any(|a| a == attribute)
    }

    /// The list response for `items` (already filtered).
    fn respond<'s, T, W: serde::Serialize>(&self, items: &'s [T], render: impl Fn(&'s T) -> W) -> Response {
        let resources = (self.count > 0)
            .then(|| items.iter().skip(self.start_index - 1).take(self.count).map(&render).collect::<Vec<_>>());
        wire::scim_json(StatusCode::OK, &wire::list(items.len(), self.start_index, resources))
    }
}

/// The only filter the node supports: `userName eq "<value>"` (attribute name and operator
/// in any case, the attribute optionally with the core User schema URN). Returns the value.
fn user_name_filter(raw: &str) -> Result<String, BadRequest> {
    let invalid = || BadRequest {
        scim_type: "invalidFilter",
        detail: format!("Unsupported filter {raw:?}: only userName eq \"<value>\" is supported"),
    };
    let trimmed = raw.trim();
    let (attribute, rest) = trimmed.split_once(char::is_whitespace).ok_or_else(invalid)?;
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace).ok_or_else(invalid)?;
    let attribute = attribute.strip_prefix(&format!("{}:", wire::USER_SCHEMA)).unwrap_or(attribute);
    if !attribute.eq_ignore_ascii_case("userName") || !operator.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    let value = value.trim();
    if !value.starts_with('"') {
        return Err(invalid());
    }
    // A JSON string literal and nothing after it (so `... and ...` is rejected).
    serde_json::from_str::<String>(value).map_err(|_| invalid())
}

async fn list_users(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let config = &app.config.keeper;
    let query = match ListQuery::parse(&uri, config.default_count, config.max_count) {
        Ok(q) => q,
        Err(bad) => return bad.into_response(),
    };
    let directory = &app.keeper.directory;
    let accounts: Vec<&KeeperAccount> = match query.filter.as_deref() {
        None => directory.accounts.iter().collect(),
        Some(raw) => match user_name_filter(raw) {
            Ok(value) => {
                // userName is caseExact false (RFC 7643), so eq ignores case.
                let wanted = value.to_lowercase();
                directory.accounts.iter().filter(|a| a.user_name.to_lowercase() == wanted).collect()
            }
            Err(bad) => return bad.into_response(),
        },
    };
    let with_groups = !query.excludes("groups");
    query.respond(&accounts, |a| wire::user(directory, a, with_groups))
}

async fn get_user(State(app): State<Arc<AppState>>, Path((_node, id)): Path<(String, String)>) -> Response {
    let directory = &app.keeper.directory;
    match directory.account(&id) {
        Some(account) => wire::scim_json(StatusCode::OK, &wire::user(directory, account, true)),
        None => wire::error(StatusCode::NOT_FOUND, None, &format!("User {id} not found")),
    }
}

async fn list_groups(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let config = &app.config.keeper;
    let query = match ListQuery::parse(&uri, config.default_count, config.max_count) {
        Ok(q) => q,
        Err(bad) => return bad.into_response(),
    };
    if let Some(raw) = query.filter.as_deref() {
        return BadRequest {
            scim_type: "invalidFilter",
            detail: format!("Unsupported filter {raw:?}: Groups cannot be filtered"),
        }
        .into_response();
    }
    let directory = &app.keeper.directory;
    let with_members = !query.excludes("members");
    query.respond(&directory.teams, |t| wire::group(directory, t, with_members))
}

async fn get_group(State(app): State<Arc<AppState>>, Path((_node, id)): Path<(String, String)>) -> Response {
    let directory = &app.keeper.directory;
    match directory.team(&id) {
        Some(team) => wire::scim_json(StatusCode::OK, &wire::group(directory, team, true)),
        None => wire::error(StatusCode::NOT_FOUND, None, &format!("Group {id} not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ListQuery, String> {
        let uri: Uri = format!("/x?{query}").parse().unwrap();
        ListQuery::parse(&uri, 100, 1000).map_err(|b| b.scim_type.to_owned())
    }

    #[test]
    fn paging_parameters_default_and_clamp() {
        let q = parse("").unwrap();
        assert_eq!((q.start_index, q.count), (1, 100));
        let q = parse("startIndex=0&count=5000").unwrap();
        assert_eq!((q.start_index, q.count), (1, 1000));
        let q = parse("STARTINDEX=-4&Count=-1").unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        let q = parse("startIndex=7&count=7&startIndex=9").unwrap();
        assert_eq!((q.start_index, q.count), (7, 7));
        assert_eq!(parse("count=ten"), Err("invalidValue".to_owned()));
        let q = parse("excludedAttributes=Members,%20groups").unwrap();
        assert!(q.excludes("members") && q.excludes("groups"));
    }

    #[test]
    fn only_user_name_eq_is_a_valid_filter() {
        assert_eq!(user_name_filter(r#"userName eq "a@b.example""#).ok(), Some("a@b.example".to_owned()));
        assert_eq!(user_name_filter(r#"USERNAME EQ "A@B""#).ok(), Some("A@B".to_owned()));
        assert_eq!(user_name_filter(r#"  userName   eq   "x\"y"  "#).ok(), Some("x\"y".to_owned()));
        assert_eq!(
            user_name_filter(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#).ok(),
            Some("a".to_owned())
        );
        for bad in [
            "",
            "userName",
            r#"userName co "a""#,
            r#"emails.value eq "a""#,
            r#"userName eq a"#,
            r#"userName eq "a" and active eq true"#,
            r#"userName eq "a"#,
            r#"displayName eq "a""#,
        ] {
            assert!(user_name_filter(bad).is_err(), "{bad}");
        }
    }
}
