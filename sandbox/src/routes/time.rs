//! Time routes (§3.3–3.4): leave types, leave requests, leave balances and attendance.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use chrono::{Days, NaiveDate};

use super::ListRequest;
use crate::query::QueryParams;
use crate::respond::{self, ApiError};
use crate::state::AppState;
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
}
