//! Keka's response envelopes (§2 of the API notes): the paged list envelope, the single-item
//! envelope, the error envelope, and the hire/preboarding variants, plus the JSON response
//! helper every handler uses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::query::{Paging, QueryParams};

/// Keka's generic error message; clients are told to read `errors[]` instead.
pub(crate) const GENERIC_ERROR: &str = "An Error Occured";

/// Serialises `body` as a JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            response
        }
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("serialisation failed: {err}")).into_response(),
    }
}

/// `{"succeeded":false,"message":"An Error Occured","errors":[...],"data":null}`
#[derive(Debug, Serialize)]
struct ErrorEnvelope<'a> {
    succeeded: bool,
    message: &'a str,
    errors: Vec<String>,
    data: Option<()>,
}

/// The error envelope with the given message and errors.
pub(crate) fn error_envelope(status: StatusCode, message: &str, errors: Vec<String>) -> Response {
    json(status, &ErrorEnvelope { succeeded: false, message, errors, data: None })
}

/// An application error, rendered as Keka's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: String,
}

impl ApiError {
    /// 400 with one error message.
    pub(crate) fn bad_request(error: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error: error.into() }
    }

    /// 404 with e.g. "Employee not found".
    pub(crate) fn not_found(what: &str) -> Self {
        Self { status: StatusCode::NOT_FOUND, error: format!("{what} not found") }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_envelope(self.status, GENERIC_ERROR, vec![self.error])
    }
}

/// `{"succeeded":true,"message":null,"errors":[],"data":...}`
#[derive(Debug, Serialize)]
struct SingleEnvelope<T> {
    succeeded: bool,
    message: Option<String>,
    errors: Vec<String>,
    data: T,
}

/// The single-item envelope around `data`.
pub(crate) fn single<T: Serialize>(data: T) -> Response {
    json(StatusCode::OK, &SingleEnvelope { succeeded: true, message: None, errors: Vec::new(), data })
}

/// Where page links point: the sandbox origin, the request path and its query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageContext<'a> {
    pub(crate) origin: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a QueryParams,
    pub(crate) paging: Paging,
}

impl PageContext<'_> {
    fn link(&self, number: u32) -> String {
        format!("{}{}?{}", self.origin, self.path, self.query.with_page(number, self.paging.size))
    }
}

/// Keka's paged list envelope (§2.1).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListEnvelope<T> {
    succeeded: bool,
    message: Option<String>,
    errors: Vec<String>,
    data: Vec<T>,
    page_number: u32,
    page_size: u32,
    first_page: Option<String>,
    last_page: Option<String>,
    total_pages: u32,
    total_records: usize,
    next_page: Option<String>,
    previous_page: Option<String>,
}

/// The list envelope for one page (`data`) out of `total` records.
pub(crate) fn list<T: Serialize>(ctx: PageContext<'_>, data: Vec<T>, total: usize) -> Response {
    let number = ctx.paging.number;
    let total_pages = ctx.paging.total_pages(total);
    json(
        StatusCode::OK,
        &ListEnvelope {
            succeeded: true,
            message: None,
            errors: Vec::new(),
            data,
            page_number: number,
            page_size: ctx.paging.size,
            first_page: Some(ctx.link(1)),
            last_page: Some(ctx.link(total_pages.max(1))),
            total_pages,
            total_records: total,
            next_page: (number < total_pages).then(|| ctx.link(number + 1)),
            // Past the end, "previous" points at the last real page.
            previous_page: (number > 1 && total_pages > 0).then(|| ctx.link((number - 1).min(total_pages))),
        },
    )
}

/// `/hire/preboarding/candidates` paging shape: `{items, page, pageSize, totalItems, totalPages, sortBy, sortOrder}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PagedResult<'a, T> {
    items: Vec<T>,
    page: u32,
    page_size: u32,
    total_items: usize,
    total_pages: u32,
    sort_by: &'a str,
    sort_order: &'a str,
}

/// The preboarding paged result.
pub(crate) fn paged_result<T: Serialize>(
    paging: Paging,
    items: Vec<T>,
    total: usize,
    sort_by: &str,
    sort_order: &str,
) -> Response {
    json(
        StatusCode::OK,
        &PagedResult {
            items,
            page: paging.number,
            page_size: paging.size,
            total_items: total,
            total_pages: paging.total_pages(total),
            sort_by,
            sort_order,
        },
    )
}
