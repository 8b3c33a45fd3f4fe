//! Leave requested through the API (`POST /time/leaverequests`): the checks a request must
//! pass, then the request itself, pending, filed where the HR team's requests go.
//!
//! Keka documents the body but not its rules; these are the ones its leave form enforces, as
//! far as they can be told from the outside, and where a detail is a guess it says so.
//!
//! - Days asked for are counted as generated requests count them: working days at the
//!   employee's office (a weekly off, half-day Saturdays included, or a holiday counts
//!   nothing), less half a day when the request starts in the second half or ends in the
//!   first half of a working day.
//! - Overlap is judged by half days: a request covers the half days from (`fromDate`,
//!   `fromSession`) to (`toDate`, `toSession`), so a first-half and a second-half request on
//!   one day do not overlap. Only requests still standing (pending, in approval, approved)
//!   block a new one.
//! - A pending request holds its days: they leave `available` at once (into `pending`), so
//!   two requests cannot overbook one balance; `consumed` stays approved leave, as generation
//!   counts it. Requests that generation made pending hold nothing, because generated
//!   balances must not change. Unpaid types (loss of pay) have no balance to run out of:
//!   they are what is booked when paid leave runs out.
//! - The balance checked is the one `GET /time/leavebalance` shows, whatever year the leave
//!   falls in (the sandbox keeps one balance per type, not one per leave year).

use chrono::{Datelike as _, NaiveDate, NaiveDateTime};

use super::attendance::{DayType, day_type};
use super::{Change, ChangeDetail, ChangeKind, EmploymentStatus, Guid, LeaveRequest, LeaveStatus, Session, Tenant};

/// Longest leave one request may cover, in calendar days counting both ends. Keka documents
/// no limit; this is the sandbox's, the same as its 90-day query window.
pub const MAX_LEAVE_SPAN_DAYS: i64 = 90;

/// Key of the ids of requests made through the API (`Guid::derived`): they come from neither
/// the tenant's generator nor the HR team's change stream, so no other value moves.
const REQUEST_ID_KEY: u64 = 0x1ea7_e5ed;

/// A leave request as the API received it: well formed, not yet checked against the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaveApplication {
    /// `employeeId`: who takes the leave.
    pub employee: Guid,
    /// `requestedBy`: who asks on their behalf, if not the employee.
    pub requested_by: Option<Guid>,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub from_session: Session,
    pub to_session: Session,
    /// `leaveTypeId`: a leave type's `identifier`.
    pub leave_type: Guid,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// An application that passed every check against one snapshot of the tenant, ready for
/// [`Tenant::file_leave`] on a copy of that snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedLeave {
    employee: usize,
    requested_by: Option<usize>,
    leave_type: usize,
    from_date: NaiveDate,
    to_date: NaiveDate,
    from_session: Session,
    to_session: Session,
    days: f64,
    reason: Option<String>,
    note: Option<String>,
}

impl ReviewedLeave {
    /// Working days the request takes (0.5 steps).
    pub fn days(&self) -> f64 {
        self.days
    }
}

/// The half day a session of a date is, as a number that orders half days.
fn half_day(date: NaiveDate, session: Session) -> i64 {
    i64::from(date.num_days_from_ce()) * 2 + session as i64
}

/// Whether a request of this status still takes the days it covers.
fn stands(status: LeaveStatus) -> bool {
    matches!(status, LeaveStatus::Pending | LeaveStatus::InApprovalProcess | LeaveStatus::Approved)
}

/// `2026-12-07` as `Dec 07, 2026`, as Keka's messages write dates.
fn shown(date: NaiveDate) -> String {
    date.format("%b %d, %Y").to_string()
}

/// `1`, `0.5`, `2.5`: a day count without a needless `.0`.
fn count(days: f64) -> String {
    if days.fract() == 0.0 { format!("{days:.0}") } else { days.to_string() }
}

impl Tenant {
    /// Days a request of `employee` from (`from`, `from_session`) to (`to`, `to_session`)
    /// takes: see the module notes.
    pub fn leave_days(
        &self,
        employee: usize,
        from: NaiveDate,
        to: NaiveDate,
        from_session: Session,
        to_session: Session,
    ) -> f64 {
        let loc = &self.locations[self.employees[employee].location];
        let calendar = &self.lookups.holiday_calendars[loc.holiday_calendar];
        let working = |d: NaiveDate| day_type(loc, calendar, d) == DayType::WorkingDay;
        let whole = from.iter_days().take_while(|d| *d <= to).filter(|d| working(*d)).count();
        let mut days = whole as f64;
        if from_session == Session::SecondHalf && working(from) {
            days -= 0.5;
        }
        if to_session == Session::FirstHalf && working(to) {
            days -= 0.5;
        }
        days.max(0.0)
    }

    /// Checks an application against the tenant as it is; the error is the message of the
    /// 400. Checks run in the order a form reports them: who and what, then the dates, then
    /// the employee's other requests, then the balance.
    pub fn review_leave_application(&self, a: &LeaveApplication) -> Result<ReviewedLeave, String> {
        let employee = self
            .employee_index(a.employee)
            .ok_or_else(|| format!("Employee with id {} does not exist.", a.employee))?;
        let e = &self.employees[employee];
        if e.employment_status == EmploymentStatus::Relieved {
            return Err(format!(
                "Employee {} ({}) is relieved and cannot request leave.",
                e.display_name, e.employee_number
            ));
        }
        let requested_by = a
            .requested_by
            .map(|id| {
                self.employee_index(id).ok_or_else(|| format!("Employee with id {id} (requestedBy) does not exist."))
            })
            .transpose()?;
        let leave_type = self
            .leave_types
            .iter()
            .position(|t| t.id == a.leave_type)
            .ok_or_else(|| format!("Leave type with id {} does not exist.", a.leave_type))?;
        let lt = &self.leave_types[leave_type];

        let (from, to) = (a.from_date, a.to_date);
        if from > to {
            return Err("From date should be less than or equal to To date.".to_owned());
        }
        if from == to && a.from_session == Session::SecondHalf && a.to_session == Session::FirstHalf {
            return Err("On a single day, leave cannot start in the second half and end in the first half.".to_owned());
        }
        let span = (to - from).num_days() + 1;
        if span > MAX_LEAVE_SPAN_DAYS {
            return Err(format!(
                "A leave request cannot cover more than {MAX_LEAVE_SPAN_DAYS} days ({span} days from {} to {}).",
                shown(from),
                shown(to)
            ));
        }
        if !e.employed_on(from) || !e.employed_on(to) {
            return Err(format!(
                "Employee {} is not employed on every day from {} to {}.",
                e.employee_number,
                shown(from),
                shown(to)
            ));
        }
        // Gender-restricted types (paternity, maternity) have no balance for the others.
        let balance = self.leave_balances[employee]
            .iter()
            .find(|b| b.leave_type == leave_type)
            .ok_or_else(|| format!("Leave type {} is not applicable to employee {}.", lt.name, e.employee_number))?;
        let days = self.leave_days(employee, from, to, a.from_session, a.to_session);
        if days == 0.0 {
            return Err(format!(
                "There are no working days from {} to {} to take leave on (weekly offs and holidays only).",
                shown(from),
                shown(to)
            ));
        }

        let (start, end) = (half_day(from, a.from_session), half_day(to, a.to_session));
        if let Some(other) = self.leave_requests_of(employee).find(|r| {
            stands(r.status)
                && half_day(r.from_date, r.from_session) <= end
                && start <= half_day(r.to_date, r.to_session)
        }) {
            return Err(format!(
                "The leave request overlaps leave request {} of the employee ({} to {}).",
                other.id,
                shown(other.from_date),
                shown(other.to_date)
            ));
        }
        if lt.is_paid && days > balance.available {
            return Err(format!(
                "Leave cannot be requested: insufficient balance of {} ({} available, {} requested).",
                lt.name,
                count(balance.available),
                count(days)
            ));
        }
        Ok(ReviewedLeave {
            employee,
            requested_by,
            leave_type,
            from_date: from,
            to_date: to,
            from_session: a.from_session,
            to_session: a.to_session,
            days,
            reason: a.reason.clone(),
            note: a.note.clone(),
        })
    }

    /// Files a reviewed request as pending at `at` (its `requestedOn` and
    /// `lastActionTakenOn`), holding its days of a paid type. `serial` numbers the API's
    /// requests (the id is derived from it and the seed, so a seed and a sequence of requests
    /// give the same ids every run). Call it on a copy of the snapshot the request was
    /// reviewed against.
    pub fn file_leave(&mut self, leave: ReviewedLeave, serial: u64, at: NaiveDateTime) -> Change {
        let id = (0..)
            .map(|k| Guid::derived(&[self.seed, REQUEST_ID_KEY, serial, k]))
            .find(|id| self.leave_requests.iter().all(|r| r.id != *id))
            .expect("a fresh id among unboundedly many");
        let ReviewedLeave {
            employee,
            requested_by,
            leave_type,
            from_date,
            to_date,
            from_session,
            to_session,
            days,
            ..
        } = leave;
        self.insert_leave_request(LeaveRequest {
            id,
            employee,
            leave_type,
            from_date,
            to_date,
            from_session,
            to_session,
            days,
            requested_on: at,
            last_action_taken_on: at,
            note: leave.note,
            status: LeaveStatus::Pending,
            cancel_reject_reason: None,
            reason: leave.reason,
            requested_by,
        });
        if self.leave_types[leave_type].is_paid
            && let Some(balance) = self.leave_balances[employee].iter_mut().find(|b| b.leave_type == leave_type)
        {
            balance.pending += days;
            balance.available -= days;
        }
        Change {
            kind: ChangeKind::Leave,
            employee: Some(employee),
            at,
            // A leave request changes no employee record (see `super::changes`).
            affected: Vec::new(),
            detail: ChangeDetail::Leave { request: id, leave_type, from: from_date, to: to_date, days },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TenantParams;
    use super::*;

    fn tenant() -> Tenant {
        Tenant::generate(TenantParams {
            seed: 7,
            employees: 60,
            today: NaiveDate::from_ymd_opt(2025, 6, 16).unwrap(),
            location_ids_match_groups: true,
        })
    }

    #[test]
    fn days_count_working_days_less_the_half_days_left_out() {
        let t = tenant();
        let e =
            (0..t.employees.len()).find(|&i| t.employees[i].employment_status == EmploymentStatus::Working).unwrap();
        let loc = &t.locations[t.employees[e].location];
        let calendar = &t.lookups.holiday_calendars[loc.holiday_calendar];
        let working = |d: NaiveDate| day_type(loc, calendar, d) == DayType::WorkingDay;
        // The first Monday-to-Friday week of 2026 with no holiday at the office.
        let monday = NaiveDate::from_ymd_opt(2026, 1, 5)
            .unwrap()
            .iter_weeks()
            .find(|m| m.iter_days().take(5).all(working))
            .unwrap();
        let friday = monday + chrono::Days::new(4);
        let sunday = monday + chrono::Days::new(6);
        let (first, second) = (Session::FirstHalf, Session::SecondHalf);
        let d = |from, to, s, end| t.leave_days(e, from, to, s, end);
        assert_eq!(d(monday, monday, first, second), 1.0);
        assert_eq!(d(monday, monday, first, first), 0.5);
        assert_eq!(d(monday, monday, second, second), 0.5);
        assert_eq!(d(monday, friday, first, second), 5.0);
        assert_eq!(d(monday, friday, second, first), 4.0);
        assert_eq!(d(monday, sunday, first, second), 5.0, "the weekend counts nothing");
        assert_eq!(d(friday + chrono::Days::new(1), sunday, second, first), 0.0, "no half day off a day off");
    }
}
