//! Time routes (§3.3–3.4): leave types, leave requests (listed, and requested through
//! `POST`), leave balances and attendance.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate};
use serde_json::{Map, Value};

use super::ListRequest;
use crate::hr;
use crate::ids::Guid;
use crate::query::{QueryParams, parse_date_time};
use crate::respond::{self, ApiError};
use crate::state::AppState;
use crate::tenant::{LeaveApplication, Session};
use crate::wire;

/// Default window length when `from`/`to` are missing.
const DEFAULT_WINDOW_DAYS: u64 = 30;
/// Longest window Keka accepts.
const MAX_WINDOW_DAYS: i64 = 90;

/// The `from`/`to` window of leave and attendance queries.
///
/// Neither given: the 30 days ending today. Only one given: 30 days from/to it.
/// `from` after `to`, or more than 90 days apart, is a 400.
fn window(q: &QueryParams, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let from = q.date_time("from")?.map(|d| d.date());
    let to = q.date_time("to")?.map(|d| d.date());
    let span = Days::new(DEFAULT_WINDOW_DAYS);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f.checked_add_days(span).unwrap_or(f)),
        (None, Some(t)) => (t.checked_sub_days(span).unwrap_or(t), t),
        (None, None) => (today.checked_sub_days(span).unwrap_or(today), today),
    };
    if from > to {
        return Err(ApiError::bad_request("From date should be less than or equal to To date."));
    }
    if (to - from).num_days() > MAX_WINDOW_DAYS {
        return Err(ApiError::bad_request(format!(
            "The date range between from and to should not exceed {MAX_WINDOW_DAYS} days."
        )));
    }
    Ok((from, to))
}

/// `GET /time/leavetypes`
pub(super) async fn list_leave_types(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let ids = req.query.guids("leaveTypeIds");
    let tenant = app.tenant();
    let types: Vec<_> =
        tenant.leave_types.iter().filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id))).collect();
    Ok(req.envelope(&app, &types, |t| wire::leave_type(t)))
}

/// `GET /time/leaverequests`: requests overlapping the window, by start date then employee.
pub(super) async fn list_leave_requests(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let (from, to) = window(&req.query, t.today)?;
    let ids = req.query.guids("employeeIds");
    let requests: Vec<_> = t
        .leave_requests
        .iter()
        .filter(|r| r.overlaps(from, to) && ids.as_ref().is_none_or(|ids| ids.contains(&t.employees[r.employee].id)))
        .collect();
    Ok(req.envelope(&app, &requests, |r| wire::leave_request(t, r)))
}

/// `POST /time/leaverequests`: files a pending request (see `crate::tenant::LeaveApplication`
/// for the checks) and answers its id in the single envelope, as Keka's create calls do. A
/// failed check is a 400 with Keka's generic message and the reason in `errors[]`.
pub(super) async fn create_leave_request(State(app): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let application = leave_application(&body)?;
    let worker = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || hr::file_leave(&worker, &application)).await {
        Ok(filed) => Ok(respond::single(filed.map_err(ApiError::bad_request)?.to_string())),
        Err(err) => {
            tracing::error!(error = %err, "sandbox leave request panicked");
            Ok(respond::error_envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                respond::GENERIC_ERROR,
                vec!["An unexpected error occurred. Please try again later.".to_owned()],
            ))
        }
    }
}

/// Reads the body of `POST /time/leaverequests`:
/// `{employeeId, requestedBy, fromDate, toDate, fromSession, toSession, leaveTypeId, reason, note}`.
///
/// As ASP.NET binds it: names match case-insensitively, `null` is absent, a value of the wrong
/// kind is "not valid for" its field. Blank strings count as absent too, so that a missing id
/// is reported as missing. Keka documents no defaults for the sessions (ASP.NET would bind a
/// missing enum as 0, FirstHalf, cutting the last day to half); the sandbox's guess is whole
/// days at a missing end: first half of the first day, second half of the last.
fn leave_application(body: &[u8]) -> Result<LeaveApplication, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("The request body is not valid JSON: {err}.")))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::bad_request("The request body must be a JSON object."));
    };
    let body = Body(&fields);
    Ok(LeaveApplication {
        employee: body.required("employeeId", Body::guid)?,
        requested_by: body.optional("requestedBy", Body::guid)?,
        from_date: body.required("fromDate", Body::date)?,
        to_date: body.required("toDate", Body::date)?,
        from_session: body.optional("fromSession", Body::session)?.unwrap_or(Session::FirstHalf),
        to_session: body.optional("toSession", Body::session)?.unwrap_or(Session::SecondHalf),
        leave_type: body.required("leaveTypeId", Body::guid)?,
        reason: body.optional("reason", Body::text)?,
        note: body.optional("note", Body::text)?,
    })
}

/// The fields of a JSON body, read the way ASP.NET binds them.
struct Body<'a>(&'a Map<String, Value>);

impl Body<'_> {
    /// The field's value; `None` when absent, `null` or a blank string.
    fn field(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null() && value.as_str().is_none_or(|s| !s.trim().is_empty()))
    }

    fn optional<T>(&self, name: &str, read: fn(&Value) -> Option<T>) -> Result<Option<T>, ApiError> {
        self.field(name)
            .map(|value| {
                read(value).ok_or_else(|| {
                    let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    ApiError::bad_request(format!("The value '{shown}' is not valid for {name}."))
                })
            })
            .transpose()
    }

    fn required<T>(&self, name: &str, read: fn(&Value) -> Option<T>) -> Result<T, ApiError> {
        self.optional(name, read)?.ok_or_else(|| ApiError::bad_request(format!("The {name} field is required.")))
    }

    fn guid(value: &Value) -> Option<Guid> {
        value.as_str()?.parse().ok()
    }

    /// `2026-12-07T00:00:00` or `2026-12-07`. A leave date is a day on the office calendar:
    /// an offset, if given, does not move it to another day.
    fn date(value: &Value) -> Option<NaiveDate> {
        let raw = value.as_str()?.trim();
        DateTime::parse_from_rfc3339(raw)
            .map(|dt| dt.date_naive())
            .ok()
            .or_else(|| parse_date_time(raw).map(|dt| dt.date()))
    }

    /// SessionType: 0 FirstHalf, 1 SecondHalf.
    fn session(value: &Value) -> Option<Session> {
        match value.as_i64()? {
            0 => Some(Session::FirstHalf),
            1 => Some(Session::SecondHalf),
            _ => None,
        }
    }

    fn text(value: &Value) -> Option<String> {
        value.as_str().map(str::to_owned)
    }
}

/// `GET /time/leavebalance`
pub(super) async fn list_leave_balances(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let ids = req.query.guids("employeeIds");
    let type_ids = req.query.guids("leaveTypeIds");
    let employees: Vec<usize> =
        (0..t.employees.len()).filter(|&i| ids.as_ref().is_none_or(|ids| ids.contains(&t.employees[i].id))).collect();
    Ok(req.envelope(&app, &employees, |&i| {
        wire::leave_balance(t, i, |lt| type_ids.as_ref().is_none_or(|ids| ids.contains(&lt)))
    }))
}

/// `GET /time/attendance`: one row per employee per day of employment in the window,
/// ordered by date then employee number. Rows are computed for the requested page only.
pub(super) async fn list_attendance(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let (from, to) = window(&req.query, t.today)?;
    let ids = req.query.guids("employeeIds");
    let employees: Vec<usize> =
        (0..t.employees.len()).filter(|&i| ids.as_ref().is_none_or(|ids| ids.contains(&t.employees[i].id))).collect();

    let total: usize = employees
        .iter()
        .map(|&i| {
            let e = &t.employees[i];
            let start = from.max(e.joining_date);
            let end = e.exit_date.map_or(to, |exit| exit.min(to));
            usize::try_from((end - start).num_days() + 1).unwrap_or(0)
        })
        .sum();

    let size = req.paging.size as usize;
    let mut skip = req.paging.offset();
    let mut rows = Vec::with_capacity(size.min(total));
    let mut day = from;
    while day <= to && rows.len() < size && skip < total {
        let present = employees.iter().copied().filter(|&i| t.employees[i].employed_on(day));
        let count = present.clone().count();
        if skip >= count {
            skip -= count;
        } else {
            let wanted = size - rows.len();
            rows.extend(
                present.skip(skip).take(wanted).filter_map(|i| t.attendance(i, day)).map(|d| wire::attendance(t, d)),
            );
            skip = 0;
        }
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    Ok(respond::list(req.context(&app), rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn window_defaults_and_limits() {
        let today = d("2025-06-30");
        let q = |s: &str| QueryParams::parse(Some(s));
        assert_eq!(window(&q(""), today).unwrap(), (d("2025-05-31"), today));
        assert_eq!(window(&q("from=2025-01-01"), today).unwrap(), (d("2025-01-01"), d("2025-01-31")));
        assert_eq!(window(&q("to=2025-01-31"), today).unwrap(), (d("2025-01-01"), d("2025-01-31")));
        assert!(window(&q("from=2025-01-01&to=2025-04-01"), today).is_ok());
        assert!(window(&q("from=2025-01-01&to=2025-04-02"), today).is_err());
        assert!(window(&q("from=2025-02-01&to=2025-01-01"), today).is_err());
        assert!(window(&q("from=notadate"), today).is_err());
        assert!(window(&q("From=2025-01-01T00:00:00Z&TO=2025-01-10T23:59:59"), today).is_ok());
    }

    #[test]
    fn leave_bodies_bind_as_asp_net_binds_them() {
        let employee = "0b9d4d5c-2a43-4f5e-9a4e-3f1d2c3b4a59";
        let leave_type = "6f1e2d3c-4b5a-4c6d-8e7f-8091a2b3c4d5";
        let parse = |body: Value| leave_application(body.to_string().as_bytes());
        let a = parse(serde_json::json!({
            "EMPLOYEEID": employee, "fromDate": "2026-12-07T00:00:00", "toDate": "2026-12-08",
            "leaveTypeId": leave_type, "requestedBy": null, "note": "  ", "reason": "Family function",
        }))
        .unwrap();
        assert_eq!((a.from_date, a.to_date), (d("2026-12-07"), d("2026-12-08")));
        assert_eq!((a.from_session, a.to_session), (Session::FirstHalf, Session::SecondHalf), "whole days");
        assert_eq!((a.requested_by, a.note.as_deref(), a.reason.as_deref()), (None, None, Some("Family function")));
        let a = parse(serde_json::json!({
            "employeeId": employee, "fromDate": "2026-12-07T00:00:00+05:30", "toDate": "2026-12-07T00:00:00Z",
            "fromSession": 1, "toSession": 1, "leaveTypeId": leave_type,
        }))
        .unwrap();
        assert_eq!((a.from_date, a.to_date), (d("2026-12-07"), d("2026-12-07")), "an offset keeps the day");
        assert_eq!((a.from_session, a.to_session), (Session::SecondHalf, Session::SecondHalf));

        let error = |body: &[u8]| format!("{:?}", leave_application(body).unwrap_err());
        assert!(error(b"{not json").contains("not valid JSON"));
        assert!(error(b"[]").contains("JSON object"));
        assert!(error(br#"{"fromDate":"2026-12-07","toDate":"2026-12-07"}"#).contains("employeeId field is required"));
        let bad = format!(
            r#"{{"employeeId":"{employee}","leaveTypeId":"{leave_type}","toDate":"2026-12-07","fromDate":"soon"}}"#
        );
        assert!(error(bad.as_bytes()).contains("'soon' is not valid for fromDate"));
        let bad = format!(
            r#"{{"employeeId":"{employee}","leaveTypeId":"{leave_type}","fromDate":"2026-12-07","toDate":"2026-12-07","toSession":2}}"#
        );
        assert!(error(bad.as_bytes()).contains("'2' is not valid for toSession"));
    }
}
