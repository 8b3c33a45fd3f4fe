//! Keeper's SCIM 2.0 JSON shapes (research notes §4–§8), written down here and only here.
//!
//! Attribute names and order follow the recorded Keeper answer: a User is `schemas`,
//! `userName`, `displayName`, `name`, `id`, `emails`, `groups`, `active`, with no `meta` and
//! no `externalId`; `groups[]` and `members[]` entries carry only `value`. Deliberately
//! independent of the product's Keeper client, so a misspelt field cannot pass on both sides.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::directory::{KeeperAccount, KeeperDirectory, KeeperTeam};

/// Media type of every SCIM response body.
pub(crate) const SCIM_CONTENT_TYPE: &str = "application/scim+json";

pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User<'a> {
    schemas: [&'static str; 1],
    user_name: &'a str,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Name<'a>>,
    id: &'a str,
    emails: Vec<Email<'a>>,
    /// `None` when excluded with `excludedAttributes=groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<Reference<'a>>>,
    active: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Name<'a> {
    given_name: &'a str,
    family_name: &'a str,
}

#[derive(Debug, Serialize)]
struct Email<'a> {
    primary: bool,
    value: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `{"value": id}` in `groups[]` and `members[]`.
#[derive(Debug, Serialize)]
struct Reference<'a> {
    value: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group<'a> {
    schemas: [&'static str; 1],
    id: &'a str,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    /// `None` when excluded with `excludedAttributes=members`.
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<Reference<'a>>>,
}

/// RFC 7644 §3.4.2 list response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListResponse<T> {
    schemas: [&'static str; 1],
    total_results: usize,
    start_index: usize,
    items_per_page: usize,
    /// Absent for `count=0`, which asks for `totalResults` only.
    #[serde(rename = "Resources", skip_serializing_if = "Option::is_none")]
    resources: Option<Vec<T>>,
}

/// RFC 7644 §3.12 error body; `status` is the HTTP code as a string.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Error<'a> {
    schemas: [&'static str; 1],
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'a str>,
    detail: &'a str,
}

/// A User resource; `groups` omitted when `with_groups` is false.
pub(crate) fn user<'a>(directory: &'a KeeperDirectory, account: &'a KeeperAccount, with_groups: bool) -> User<'a> {
    User {
        schemas: [USER_SCHEMA],
        user_name: &account.user_name,
        display_name: &account.display_name,
        name: account
            .name
            .as_ref()
            .map(|n| Name { given_name: n.given_name.as_str(), family_name: n.family_name.as_str() }),
        id: &account.id,
        emails: account.emails.iter().map(|e| Email { primary: e.primary, value: &e.value, kind: "work" }).collect(),
        groups: with_groups
            .then(|| account.teams.iter().map(|&t| Reference { value: &directory.teams[t].id }).collect()),
        active: account.active,
    }
}

/// A Group resource; `members` omitted when `with_members` is false.
pub(crate) fn group<'a>(directory: &'a KeeperDirectory, team: &'a KeeperTeam, with_members: bool) -> Group<'a> {
    Group {
        schemas: [GROUP_SCHEMA],
        id: &team.id,
        display_name: &team.display_name,
        external_id: team.external_id.as_deref(),
        members: with_members
            .then(|| team.members.iter().map(|&a| Reference { value: &directory.accounts[a].id }).collect()),
    }
}

/// A list response for one page (`resources` is `None` for `count=0`).
pub(crate) fn list<T>(total_results: usize, start_index: usize, resources: Option<Vec<T>>) -> ListResponse<T> {
    ListResponse {
        schemas: [LIST_SCHEMA],
        total_results,
        start_index,
        items_per_page: resources.as_ref().map_or(0, Vec::len),
        resources,
    }
}

/// Serialises `body` as an `application/scim+json` response.
pub(crate) fn scim_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
            response
        }
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, None, &format!("serialisation failed: {err}")),
    }
}

/// A SCIM error response.
pub(crate) fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let body = Error { schemas: [ERROR_SCHEMA], status: status.as_u16().to_string(), scim_type, detail };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    response
}
