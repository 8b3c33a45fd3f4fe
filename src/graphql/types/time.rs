//! Leave and attendance: `TimeoffType`, `TimeoffRequest`, `LeaveBalance`, `AttendanceDay`.

use std::sync::Arc;

use async_graphql::Json;
use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;

use crate::graphql::access_control::{PII_SCOPE, RequireScope};
use crate::graphql::plain::Plain;
use crate::graphql::scalars::{Date, DateTime};

use super::employee::Employee;
use super::enums::{DaySession, DayType, TimeoffStatus};
use crate::keka::models as keka;

pub(crate) async fn find_timeoff_type(ctx: &Context<'_>, identifier: &str) -> Result<Option<TimeoffType>> {
    Ok(crate::graphql::lists::leave_types(ctx).await?.get(identifier).map(|kind| TimeoffType(kind.as_ref().clone())))
}

/// A kind of leave (casual, sick, earned…).
#[derive(Clone)]
pub struct TimeoffType(pub keka::LeaveType);

#[Object]
impl TimeoffType {
    /// Keka's `identifier` of the leave type.
    async fn id(&self) -> ID {
        ID(self.0.identifier.clone())
    }

    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Whether this leave is paid.
    async fn is_paid(&self) -> Option<bool> {
        self.0.is_paid
    }
}

/// A request for time off.
#[derive(Clone)]
pub struct TimeoffRequest(pub Arc<keka::LeaveRequest>);

impl TimeoffRequest {
    pub fn status_value(&self) -> TimeoffStatus {
        self.0.status.into()
    }

    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let start = self.0.from_date.map(|date| date.date());
        let end = self.0.to_date.map(|date| date.date()).or(start);
        match (start, end) {
            (Some(start), Some(end)) => start <= to && end >= from,
            _ => false,
        }
    }
}

#[Object]
impl TimeoffRequest {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Who asked for the time off.
    async fn employee(&self, ctx: &Context<'_>) -> Result<Option<Plain<Employee>>> {
        match &self.0.employee_identifier {
            Some(id) => Ok(Employee::load(ctx, id).await?.map(Plain)),
            None => Ok(None),
        }
    }

    /// The leave type (the first one, when a request spans several; see `selections`).
    #[graphql(name = "type")]
    async fn type_(&self, ctx: &Context<'_>) -> Result<Option<TimeoffType>> {
        match self.0.selection.first().and_then(|selection| selection.leave_type_identifier.as_deref()) {
            Some(identifier) => find_timeoff_type(ctx, identifier).await,
            None => Ok(None),
        }
    }

    /// Each leave type this request draws on, with how much.
    async fn selections(&self) -> Vec<TimeoffSelection> {
        self.0.selection.iter().cloned().map(TimeoffSelection).collect()
    }

    /// First day off.
    async fn start_date(&self) -> Option<Date> {
        self.0.from_date.map(Date::from)
    }

    /// Last day off.
    async fn end_date(&self) -> Option<Date> {
        self.0.to_date.map(Date::from)
    }

    /// The half of the first day the time off starts on (`SECOND_HALF` = afternoon only).
    async fn start_session(&self) -> DaySession {
        self.0.from_session.into()
    }

    /// The half of the last day the time off ends on (`FIRST_HALF` = morning only).
    async fn end_session(&self) -> DaySession {
        self.0.to_session.into()
    }

    /// True when the request is a single half day.
    async fn is_half_day(&self) -> bool {
        self.0.from_date == self.0.to_date && self.0.from_session.is_some() && self.0.from_session == self.0.to_session
    }

    async fn status(&self) -> TimeoffStatus {
        self.status_value()
    }

    /// When it was requested.
    async fn requested_on(&self) -> Option<DateTime> {
        self.0.requested_on.map(DateTime::from)
    }

    /// When an approver last acted on it.
    async fn last_action_on(&self) -> Option<DateTime> {
        self.0.last_action_taken_on.map(DateTime::from)
    }

    /// The employee's note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Why it was cancelled or rejected.
    async fn cancel_reject_reason(&self) -> Option<&str> {
        self.0.cancel_reject_reason.as_deref()
    }

    /// The record as Keka sent it, for fields this schema does not name yet. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn raw(&self) -> Option<Json<serde_json::Value>> {
        self.0.raw.json().map(Json)
    }
}

/// One leave type within a request, and how much of it.
#[derive(Clone)]
pub struct TimeoffSelection(pub keka::LeaveSelection);

#[Object]
impl TimeoffSelection {
    #[graphql(name = "type")]
    async fn type_(&self, ctx: &Context<'_>) -> Result<Option<TimeoffType>> {
        match self.0.leave_type_identifier.as_deref() {
            Some(identifier) => find_timeoff_type(ctx, identifier).await,
            None => Ok(None),
        }
    }

    /// The leave type's name as Keka recorded it on the request.
    async fn type_name(&self) -> Option<&str> {
        self.0.leave_type_name.as_deref()
    }

    /// Amount taken (days, or hours for hourly leave).
    async fn amount(&self) -> Option<f64> {
        self.0.duration.as_ref().and_then(|duration| duration.duration).or(self.0.count)
    }

    /// Keka's human wording of the amount, e.g. "1.5 days".
    async fn amount_text(&self) -> Option<&str> {
        self.0.duration.as_ref().and_then(|duration| duration.duration_string.as_deref())
    }
}

/// How much of a leave type someone has.
#[derive(Clone)]
pub struct LeaveBalance(pub keka::LeaveBalance);

#[Object]
impl LeaveBalance {
    #[graphql(name = "type")]
    async fn type_(&self, ctx: &Context<'_>) -> Result<Option<TimeoffType>> {
        match self.0.leave_type_id.as_deref() {
            Some(identifier) => find_timeoff_type(ctx, identifier).await,
            None => Ok(None),
        }
    }

    async fn type_name(&self) -> Option<&str> {
        self.0.leave_type_name.as_deref()
    }

    /// Accrued so far this cycle.
    async fn accrued(&self) -> Option<f64> {
        self.0.accrued_amount
    }

    /// Taken so far this cycle.
    async fn consumed(&self) -> Option<f64> {
        self.0.consumed_amount
    }

    /// Available to take now.
    async fn available(&self) -> Option<f64> {
        self.0.available_balance
    }

    /// The yearly allowance.
    async fn annual_quota(&self) -> Option<f64> {
        self.0.annual_quota
    }
}

/// One person's attendance on one day.
#[derive(Clone)]
pub struct AttendanceDay(pub keka::AttendanceDay);

#[Object]
impl AttendanceDay {
    async fn date(&self) -> Date {
        self.0.attendance_date.into()
    }

    /// Working day, holiday or weekly off.
    async fn day_type(&self) -> DayType {
        self.0.day_type.into()
    }

    /// First punch in (UTC); null when the person did not punch in.
    async fn first_in(&self) -> Option<DateTime> {
        self.0.first_in_of_the_day.as_ref().map(|punch| DateTime::from(punch.timestamp))
    }

    /// Last punch out (UTC); null when the person did not punch out.
    async fn last_out(&self) -> Option<DateTime> {
        self.0.last_out_of_the_day.as_ref().map(|punch| DateTime::from(punch.timestamp))
    }

    /// Hours worked, breaks excluded.
    async fn effective_hours(&self) -> Option<f64> {
        self.0.total_effective_hours
    }

    /// Hours between first in and last out.
    async fn gross_hours(&self) -> Option<f64> {
        self.0.total_gross_hours
    }

    /// Hours of breaks.
    async fn break_hours(&self) -> Option<f64> {
        self.0.total_break_duration
    }

    /// Scheduled shift start.
    async fn shift_start(&self) -> Option<DateTime> {
        self.0.shift_start_time.map(DateTime::from)
    }

    /// Scheduled shift end.
    async fn shift_end(&self) -> Option<DateTime> {
        self.0.shift_end_time.map(DateTime::from)
    }

    /// Keka's raw leave status of the day (its names are undocumented).
    async fn leave_day_status_code(&self) -> Option<i64> {
        self.0.leave_day_status
    }
}
