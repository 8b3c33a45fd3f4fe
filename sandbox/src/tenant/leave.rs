//! Leave: leave types, leave requests spread over roughly ±120 days around "today", and
//! per-employee balances consistent with the approved requests of the current year. The
//! helpers for a leave requested on the day serve the HR changes (`super::changes`), so a
//! simulated request looks like a generated one.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use super::attendance::{DayType, day_type};
use super::names::EXIT_REASONS;
use super::org::Org;
use super::util::{at_office_time, date_between, pick, shift, weighted};
use super::{Employee, Gender, Guid, LeaveBalance, LeaveRequest, LeaveStatus, LeaveType, Session, TenantParams};

/// Output of this stage.
#[derive(Debug, Clone)]
pub(super) struct LeaveData {
    pub(super) types: Vec<LeaveType>,
    pub(super) requests: Vec<LeaveRequest>,
    pub(super) balances: Vec<Vec<LeaveBalance>>,
}

/// How a leave type is granted, which drives both request lengths and balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Casual,
    Sick,
    Earned,
    CompOff,
    LossOfPay,
    Paternity,
    Maternity,
}

/// One row of the leave-type catalogue.
struct TypeRow {
    name: &'static str,
    description: &'static str,
    is_paid: bool,
    annual_quota: f64,
    only_for: Option<Gender>,
    kind: Kind,
    /// Relative share of leave requests.
    share: f64,
}

const fn row(
    name: &'static str,
    description: &'static str,
    is_paid: bool,
    annual_quota: f64,
    only_for: Option<Gender>,
    kind: Kind,
    share: f64,
) -> TypeRow {
    TypeRow { name, description, is_paid, annual_quota, only_for, kind, share }
}

const TYPES: &[TypeRow] = &[
    row("Casual Leave", "Short breaks and personal errands", true, 12.0, None, Kind::Casual, 40.0),
    row("Sick Leave", "Illness and medical appointments", true, 12.0, None, Kind::Sick, 25.0),
    row("Earned Leave", "Privilege leave, accrued monthly and carried forward", true, 18.0, None, Kind::Earned, 22.0),
    row("Comp Off", "Compensatory off for working on a holiday or weekly off", true, 0.0, None, Kind::CompOff, 5.0),
    row("Loss of Pay", "Unpaid leave once paid balances run out", false, 0.0, None, Kind::LossOfPay, 4.0),
    row("Paternity Leave", "Leave for new fathers", true, 10.0, Some(Gender::Male), Kind::Paternity, 2.0),
    row(
        "Maternity Leave",
        "26 weeks of leave for new mothers",
        true,
        182.0,
        Some(Gender::Female),
        Kind::Maternity,
        0.3,
    ),
];

const NOTES: &[(Kind, &[&str])] = &[
    (Kind::Casual, &["Family function", "Personal work", "Bank and house registration work", "Visiting parents"]),
    (Kind::Sick, &["Fever", "Migraine", "Doctor's appointment", "Food poisoning", "Viral infection"]),
    (Kind::Earned, &["Vacation", "Trip to Goa", "Family vacation", "Wedding in the family", "Travelling home"]),
    (Kind::CompOff, &["Worked on the release weekend", "Covered the holiday on-call"]),
    (Kind::LossOfPay, &["Extended personal leave", "Personal emergency"]),
    (Kind::Paternity, &["Blessed with a baby"]),
    (Kind::Maternity, &["Maternity leave"]),
];

fn is_working_day(org: &Org, employee: &Employee, date: NaiveDate) -> bool {
    let loc = &org.locations[employee.location];
    day_type(loc, &org.lookups.holiday_calendars[loc.holiday_calendar], date) == DayType::WorkingDay
}

/// Rounds to the nearest half day.
fn half(x: f64) -> f64 {
    (x * 2.0).round() / 2.0
}

pub(super) fn generate<R: Rng + ?Sized>(
    rng: &mut R,
    params: &TenantParams,
    org: &Org,
    employees: &[Employee],
) -> LeaveData {
    let today = params.today;
    let types: Vec<LeaveType> = TYPES
        .iter()
        .map(|row| LeaveType {
            id: Guid::random(rng),
            name: row.name.to_owned(),
            description: row.description.to_owned(),
            is_paid: row.is_paid,
            annual_quota: row.annual_quota,
            only_for: row.only_for,
        })
        .collect();
    let weights: Vec<f64> = TYPES.iter().map(|t| t.share).collect();

    let window_start = shift(today, -120);
    let window_end = shift(today, 120);
    let mut requests: Vec<LeaveRequest> = Vec::with_capacity(employees.len() * 3);
    let mut own: Vec<(NaiveDate, NaiveDate)> = Vec::new();

    for (e, employee) in employees.iter().enumerate() {
        let lo = window_start.max(employee.joining_date);
        let hi = employee.exit_date.map_or(window_end, |exit| exit.min(window_end));
        if lo > hi {
            continue;
        }
        own.clear();
        // About three requests per person over the eight months, i.e. a few percent of
        // people are out on any working day.
        let attempts = (0..6).filter(|_| rng.random_bool(0.5)).count();
        for _ in 0..attempts {
            let mut t = weighted(rng, &weights);
            if types[t].only_for.is_some_and(|g| g != employee.gender) {
                t = 0;
            }
            let kind = TYPES[t].kind;

            let mut start = date_between(rng, lo, hi);
            for _ in 0..10 {
                if is_working_day(org, employee, start) {
                    break;
                }
                start = shift(start, 1);
            }
            if !is_working_day(org, employee, start) {
                continue;
            }
            let length = match kind {
                Kind::Casual => {
                    if rng.random_bool(0.75) {
                        1
                    } else {
                        rng.random_range(2..=3)
                    }
                }
                Kind::Sick => {
                    if rng.random_bool(0.7) {
                        1
                    } else {
                        rng.random_range(2..=4)
                    }
                }
                Kind::Earned => {
                    if rng.random_bool(0.3) {
                        1
                    } else {
                        rng.random_range(2..=6)
                    }
                }
                Kind::CompOff => 1,
                Kind::LossOfPay => rng.random_range(1..=2),
                Kind::Paternity => 5,
                Kind::Maternity => 0,
            };

            let (end, mut days) = if kind == Kind::Maternity {
                // Maternity leave counts calendar days.
                (shift(start, 181), 182.0)
            } else {
                let mut end = start;
                let mut counted = 1;
                while counted < length {
                    end = shift(end, 1);
                    if is_working_day(org, employee, end) {
                        counted += 1;
                    }
                }
                (end, f64::from(counted))
            };
            if employee.exit_date.is_some_and(|exit| end > exit) {
                continue;
            }
            if own.iter().any(|&(f, t)| f <= end && t >= start) {
                continue;
            }

            let (from_session, to_session) = if length == 1 && kind != Kind::LossOfPay && rng.random_bool(0.2) {
                days = 0.5;
                let s = if rng.random_bool(0.5) { Session::FirstHalf } else { Session::SecondHalf };
                (s, s)
            } else if length > 1 && rng.random_bool(0.1) {
                days -= 0.5;
                (Session::SecondHalf, Session::SecondHalf)
            } else {
                (Session::FirstHalf, Session::SecondHalf)
            };

            // Status depends on whether the leave is past, ongoing or upcoming.
            let status = if end < today {
                match weighted(rng, &[80.0, 7.0, 8.0, 3.0, 2.0]) {
                    0 => LeaveStatus::Approved,
                    1 => LeaveStatus::Rejected,
                    2 => LeaveStatus::Cancelled,
                    3 => LeaveStatus::Pending,
                    _ => LeaveStatus::InApprovalProcess,
                }
            } else if start > today {
                match weighted(rng, &[40.0, 40.0, 15.0, 3.0, 2.0]) {
                    0 => LeaveStatus::Pending,
                    1 => LeaveStatus::Approved,
                    2 => LeaveStatus::InApprovalProcess,
                    3 => LeaveStatus::Cancelled,
                    _ => LeaveStatus::Rejected,
                }
            } else if rng.random_bool(0.9) {
                LeaveStatus::Approved
            } else {
                LeaveStatus::Pending
            };

            // Sick leave is often applied for afterwards; the rest ahead of time.
            let requested_day = if kind == Kind::Sick {
                shift(start, rng.random_range(0..3))
            } else {
                shift(start, -rng.random_range(1..21))
            }
            .clamp(employee.joining_date.min(today), today);
            let requested_on = at_office_time(rng, requested_day);
            let last_action_taken_on = match status {
                LeaveStatus::Pending => requested_on,
                _ => {
                    let acted = shift(requested_day, rng.random_range(0..4)).min(today);
                    at_office_time(rng, acted).max(requested_on)
                }
            };
            let cancel_reject_reason = match status {
                LeaveStatus::Rejected => Some(
                    (*pick(rng, &["Release week, please reschedule", "Team capacity is low on these dates"]))
                        .to_owned(),
                ),
                LeaveStatus::Cancelled => Some((*pick(rng, &["Plans changed", "No longer needed"])).to_owned()),
                _ => None,
            };
            let note_pool = NOTES.iter().find(|(k, _)| *k == kind).map_or(EXIT_REASONS, |(_, notes)| notes);
            let note = rng.random_bool(0.85).then(|| (*pick(rng, note_pool)).to_owned());

            own.push((start, end));
            requests.push(LeaveRequest {
                id: Guid::random(rng),
                employee: e,
                leave_type: t,
                from_date: start,
                to_date: end,
                from_session,
                to_session,
                days,
                requested_on,
                last_action_taken_on,
                note,
                status,
                cancel_reject_reason,
                reason: None,
                requested_by: None,
            });
        }
    }
    // Employees are stored in employee-number order, so the index is the tie-breaker.
    requests.sort_by_key(|r| (r.from_date, r.employee, r.to_date));

    let balances = balances(rng, today, &types, employees, &requests);
    LeaveData { types, requests, balances }
}

/// Balances of someone who joins today (an HR change after generation): nothing accrued or
/// consumed yet, except leave granted as a whole (paternity / maternity), for the types that
/// apply to their gender.
pub(super) fn joiner_balances(types: &[LeaveType], gender: Gender) -> Vec<LeaveBalance> {
    types
        .iter()
        .enumerate()
        .filter(|(_, t)| t.only_for.is_none_or(|g| g == gender))
        .map(|(t, lt)| {
            let kind = TYPES.get(t).map(|row| row.kind);
            let whole = matches!(kind, Some(Kind::Paternity | Kind::Maternity));
            let lop = kind == Some(Kind::LossOfPay);
            let accrued = if whole { lt.annual_quota } else { 0.0 };
            LeaveBalance {
                leave_type: t,
                accrued,
                consumed: 0.0,
                pending: 0.0,
                available: accrued,
                annual_quota: if lop { 0.0 } else { lt.annual_quota },
            }
        })
        .collect()
}

/// Leave types someone applies for on the day (an HR change after generation): the short-leave
/// kinds, never loss of pay (that is what is left when balances run out) or parental leave
/// (a day of either would look odd).
fn short_leave(t: usize) -> bool {
    TYPES.get(t).is_some_and(|row| matches!(row.kind, Kind::Casual | Kind::Sick | Kind::Earned | Kind::CompOff))
}

/// Whether `balances` have `days` left of any type [`same_day_leave_type`] could choose.
pub(super) fn can_take_leave(balances: &[LeaveBalance], days: f64) -> bool {
    balances.iter().any(|b| short_leave(b.leave_type) && b.available >= days)
}

/// A type for a leave applied for on the day, among those with `days` available, in the
/// proportions generation uses; `None` when no balance covers `days`.
pub(super) fn same_day_leave_type<R: Rng + ?Sized>(rng: &mut R, balances: &[LeaveBalance], days: f64) -> Option<usize> {
    let options: Vec<usize> =
        balances.iter().filter(|b| short_leave(b.leave_type) && b.available >= days).map(|b| b.leave_type).collect();
    if options.is_empty() {
        return None;
    }
    let weights: Vec<f64> = options.iter().map(|&t| TYPES[t].share).collect();
    Some(options[weighted(rng, &weights)])
}

/// A note for a request of leave type `t`, as often as generated requests carry one.
pub(super) fn leave_note<R: Rng + ?Sized>(rng: &mut R, t: usize) -> Option<String> {
    let kind = TYPES.get(t)?.kind;
    let pool = NOTES.iter().find(|(k, _)| *k == kind).map_or(EXIT_REASONS, |(_, notes)| notes);
    rng.random_bool(0.85).then(|| (*pick(rng, pool)).to_owned())
}

/// Balances per employee per applicable type: accrual by the type's rules, consumption from
/// this year's approved requests plus some usage before the generated window.
fn balances<R: Rng + ?Sized>(
    rng: &mut R,
    today: NaiveDate,
    types: &[LeaveType],
    employees: &[Employee],
    requests: &[LeaveRequest],
) -> Vec<Vec<LeaveBalance>> {
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("valid date");
    let window_start = shift(today, -120);
    // Part of the year that precedes the generated requests.
    let before_window =
        if window_start > year_start { (window_start - year_start).num_days() as f64 / 365.0 } else { 0.0 };

    let mut consumed_by: Vec<Vec<f64>> = vec![vec![0.0; types.len()]; employees.len()];
    for r in requests {
        if r.status == LeaveStatus::Approved && r.from_date >= year_start && r.from_date <= today {
            consumed_by[r.employee][r.leave_type] += r.days;
        }
    }

    employees
        .iter()
        .enumerate()
        .map(|(e, employee)| {
            let joined_this_year = employee.joining_date > year_start;
            // Fraction of the year the employee is entitled to.
            let entitled = if joined_this_year {
                let remaining = (NaiveDate::from_ymd_opt(today.year(), 12, 31).expect("valid date")
                    - employee.joining_date)
                    .num_days();
                remaining.max(0) as f64 / 365.0
            } else {
                1.0
            };
            let months_elapsed = if joined_this_year {
                f64::from(today.month().saturating_sub(employee.joining_date.month()) + 1)
            } else {
                f64::from(today.month())
            };
            types
                .iter()
                .enumerate()
                .filter(|(_, t)| t.only_for.is_none_or(|g| g == employee.gender))
                .map(|(t, lt)| {
                    let kind = TYPES[t].kind;
                    let mut accrued = match kind {
                        Kind::Casual | Kind::Sick => half(lt.annual_quota * entitled),
                        Kind::Earned => {
                            let carried = if joined_this_year { 0.0 } else { f64::from(rng.random_range(0..=10u32)) };
                            half(lt.annual_quota / 12.0 * months_elapsed) + carried
                        }
                        Kind::CompOff => f64::from(rng.random_range(0..=3u32)),
                        Kind::LossOfPay => 0.0,
                        Kind::Paternity | Kind::Maternity => lt.annual_quota,
                    };
                    let earlier = match kind {
                        Kind::Casual | Kind::Sick | Kind::Earned if !joined_this_year => {
                            half(rng.random::<f64>() * accrued * 0.5 * before_window)
                        }
                        _ => 0.0,
                    };
                    let consumed = consumed_by[e][t] + earlier;
                    if kind == Kind::LossOfPay {
                        return LeaveBalance {
                            leave_type: t,
                            accrued: 0.0,
                            consumed,
                            pending: 0.0,
                            available: 0.0,
                            annual_quota: 0.0,
                        };
                    }
                    // Keka lets some plans go negative; the sandbox keeps balances non-negative by
                    // treating overuse as extra accrual (e.g. comp offs granted later).
                    accrued = accrued.max(consumed);
                    LeaveBalance {
                        leave_type: t,
                        accrued,
                        consumed,
                        pending: 0.0,
                        available: accrued - consumed,
                        annual_quota: lt.annual_quota,
                    }
                })
                .collect()
        })
        .collect()
}
