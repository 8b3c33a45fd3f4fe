//! Attendance, computed on demand.
//!
//! Storing a row per employee per day would be 3.6 million rows a year for 10,000 people, so
//! a day is derived from `(seed, employee, date)` with a hash instead: the same request
//! always gets the same punches, without any table. Leave days come from the stored leave
//! requests, weekly offs and holidays from the employee's office.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

use super::{Guid, LeaveStatus};
use super::{HolidayCalendar, Location, Session, Tenant};
use crate::ids::unit;

/// AttendanceDayType (wire integer in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayType {
    /// 0
    WorkingDay = 0,
    /// 1
    Holiday = 1,
    /// 2
    FullDayWeeklyOff = 2,
    /// 3
    FirstHalfWeeklyOff = 3,
    /// 4
    SecondHalfWeeklyOff = 4,
}

/// LeaveDayStatus. Keka's names for 0–3 are undocumented; the sandbox reads them as
/// 0 none, 1 full day, 2 first half, 3 second half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveDayStatus {
    None = 0,
    FullDay = 1,
    FirstHalf = 2,
    SecondHalf = 3,
}

/// One clock-in or clock-out.
#[derive(Debug, Clone, PartialEq)]
pub struct Punch {
    pub timestamp_utc: NaiveDateTime,
    /// 0 in, 1 out.
    pub punch_status: u8,
    /// Office (index into [`Tenant::locations`]) for punches made at the office.
    pub location: Option<usize>,
    /// 0 none, 1 manual entry.
    pub manual_clockin_type: u8,
    /// 0 biometric, 1 web, 2 mobile.
    pub attendance_log_source: u8,
}

/// One employee-day summary.
#[derive(Debug, Clone, PartialEq)]
pub struct AttendanceDay {
    pub id: Guid,
    /// Index into [`Tenant::employees`].
    pub employee: usize,
    pub date: NaiveDate,
    pub day_type: DayType,
    pub leave_day_status: LeaveDayStatus,
    /// Office-local shift start and end.
    pub shift_start: NaiveDateTime,
    pub shift_end: NaiveDateTime,
    pub shift_duration: f64,
    pub shift_break_duration: f64,
    pub shift_effective_duration: f64,
    pub total_gross_hours: f64,
    pub total_effective_hours: f64,
    pub total_break_duration: f64,
    pub total_effective_overtime_duration: f64,
    pub total_gross_overtime_duration: f64,
    pub first_in: Option<Punch>,
    pub last_out: Option<Punch>,
}

/// Last Sunday of a month.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next =
        if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) }
            .expect("valid date");
    let last = next.pred_opt().expect("valid date");
    last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
}

/// Offset from UTC in minutes on `date` at the office.
fn utc_offset_minutes(loc: &Location, date: NaiveDate) -> i32 {
    let summer = loc.uk_summer_time && date >= last_sunday(date.year(), 3) && date < last_sunday(date.year(), 10);
    loc.utc_offset_minutes + if summer { 60 } else { 0 }
}

/// Whether `date` is a working day, holiday or weekly off at an office.
pub(crate) fn day_type(loc: &Location, calendar: &HolidayCalendar, date: NaiveDate) -> DayType {
    if calendar.holidays.iter().any(|(m, d, _)| *m == date.month() && *d == date.day()) {
        return DayType::Holiday;
    }
    match date.weekday() {
        Weekday::Sun => DayType::FullDayWeeklyOff,
        Weekday::Sat if loc.saturday_half_day => DayType::SecondHalfWeeklyOff,
        Weekday::Sat => DayType::FullDayWeeklyOff,
        _ => DayType::WorkingDay,
    }
}

/// Hours rounded to two decimals, as Keka shows them.
fn hours(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn plus_hours(at: NaiveDateTime, h: f64) -> NaiveDateTime {
    at + Duration::seconds((h * 3600.0).round() as i64)
}

impl Tenant {
    /// Leave status of an employee on a working day, from approved leave requests.
    fn leave_on(&self, employee: usize, date: NaiveDate) -> LeaveDayStatus {
        for r in self.leave_requests_of(employee) {
            if r.status != LeaveStatus::Approved || !r.overlaps(date, date) {
                continue;
            }
            let first_half_off = !(date == r.from_date && r.from_session == Session::SecondHalf);
            let second_half_off = !(date == r.to_date && r.to_session == Session::FirstHalf);
            return match (first_half_off, second_half_off) {
                (true, true) => LeaveDayStatus::FullDay,
                (true, false) => LeaveDayStatus::FirstHalf,
                (false, true) => LeaveDayStatus::SecondHalf,
                (false, false) => LeaveDayStatus::None,
            };
        }
        LeaveDayStatus::None
    }

    /// The attendance summary of one employee (by index) on one date, or `None` when the
    /// person was not employed that day.
    pub fn attendance(&self, employee: usize, date: NaiveDate) -> Option<AttendanceDay> {
        let e = self.employees.get(employee)?;
        if !e.employed_on(date) {
            return None;
        }
        let loc = &self.locations[e.location];
        let calendar = &self.lookups.holiday_calendars[loc.holiday_calendar];
        let day_type = day_type(loc, calendar, date);
        let leave_day_status =
            if day_type == DayType::WorkingDay { self.leave_on(employee, date) } else { LeaveDayStatus::None };

        let day_number = i64::from(date.num_days_from_ce()) as u64;
        let key = [self.seed, employee as u64, day_number];
        let r = |salt: u64| unit(&key, salt);

        let shift = loc.shift;
        let shift_start = date.and_time(shift.start);
        let shift_end = plus_hours(shift_start, shift.hours);
        let mut day = AttendanceDay {
            id: Guid::derived(&key),
            employee,
            date,
            day_type,
            leave_day_status,
            shift_start,
            shift_end,
            shift_duration: shift.hours,
            shift_break_duration: shift.break_hours,
            shift_effective_duration: shift.hours - shift.break_hours,
            total_gross_hours: 0.0,
            total_effective_hours: 0.0,
            total_break_duration: 0.0,
            total_effective_overtime_duration: 0.0,
            total_gross_overtime_duration: 0.0,
            first_in: None,
            last_out: None,
        };

        // Which part of the shift is expected at work.
        let (work_from, work_hours) = match (day_type, leave_day_status) {
            (DayType::Holiday | DayType::FullDayWeeklyOff, _) | (_, LeaveDayStatus::FullDay) => return Some(day),
            (DayType::SecondHalfWeeklyOff, _) | (_, LeaveDayStatus::SecondHalf) => (0.0, shift.hours / 2.0),
            (DayType::FirstHalfWeeklyOff, _) | (_, LeaveDayStatus::FirstHalf) => (shift.hours / 2.0, shift.hours / 2.0),
            _ => (0.0, shift.hours),
        };
        // Nothing has happened yet in the future; about 1% of working days are unexplained absences.
        if date > self.today || r(1) < 0.01 {
            return Some(day);
        }

        let offset = Duration::minutes(i64::from(utc_offset_minutes(loc, date)));
        let source = if loc.address.country_code == "IN" {
            match r(2) {
                x if x < 0.6 => 0,
                x if x < 0.9 => 1,
                _ => 2,
            }
        } else if r(2) < 0.7 {
            1
        } else {
            2
        };
        let at_office = source != 2;
        let manual = u8::from(r(3) < 0.02);
        let punch = |local: NaiveDateTime, status: u8| Punch {
            timestamp_utc: local - offset,
            punch_status: status,
            location: at_office.then_some(e.location),
            manual_clockin_type: manual,
            attendance_log_source: source,
        };

        // Arrive between 20 minutes early and 45 minutes late.
        let first_in_local = plus_hours(shift_start, work_from + (r(4) * 65.0 - 20.0) / 60.0);
        day.first_in = Some(punch(first_in_local, 0));

        // About 3% forget to punch out; today's shift is still running.
        if date == self.today || r(5) < 0.03 {
            return Some(day);
        }
        let gross = (work_hours + r(6) * 2.25 - 0.75).max(1.0);
        let break_hours = if work_hours >= 6.0 { shift.break_hours * (0.6 + r(7) * 0.7) } else { r(7) * 0.25 };
        let effective = (gross - break_hours).max(0.0);
        day.last_out = Some(punch(plus_hours(first_in_local, gross), 1));
        day.total_gross_hours = hours(gross);
        day.total_break_duration = hours(break_hours);
        day.total_effective_hours = hours(effective);
        day.total_gross_overtime_duration = hours((gross - shift.hours).max(0.0));
        day.total_effective_overtime_duration = hours((effective - (shift.hours - shift.break_hours)).max(0.0));
        Some(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_summer_time_boundaries() {
        assert_eq!(last_sunday(2025, 3), NaiveDate::from_ymd_opt(2025, 3, 30).unwrap());
        assert_eq!(last_sunday(2025, 10), NaiveDate::from_ymd_opt(2025, 10, 26).unwrap());
        assert_eq!(last_sunday(2024, 12), NaiveDate::from_ymd_opt(2024, 12, 29).unwrap());
    }
}
