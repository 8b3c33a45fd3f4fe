//! Leave and attendance: `/time/leavetypes`, `/time/leaverequests`, `/time/leavebalance`, `/time/attendance`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};

use super::RawRecord;

use super::keka_enum::keka_enum;
use super::{KekaDate, null_as_default};

keka_enum!(
    /// `LeaveRequestStatus`.
    LeaveRequestStatus { Pending = 0, Approved = 1, Rejected = 2, Cancelled = 3, InApprovalProcess = 4 }
);
keka_enum!(
    /// `fromSession` / `toSession` of a leave request.
    LeaveSession { FirstHalf = 0, SecondHalf = 1 }
);
keka_enum!(
    /// `dayType` of an attendance day.
    DayType { WorkingDay = 0, Holiday = 1, FullDayWeeklyOff = 2, FirstHalfWeeklyOff = 3, SecondHalfWeeklyOff = 4 }
);

/// `/time/leavetypes`. Keyed by `identifier`: Keka sends no `id` here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveType {
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_paid: Option<bool>,
}

/// `/time/leaverequests`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveRequest {
    pub id: String,
    #[serde(default)]
    pub employee_identifier: Option<String>,
    #[serde(default)]
    pub employee_number: Option<String>,
    #[serde(default)]
    pub from_date: Option<KekaDate>,
    #[serde(default)]
    pub to_date: Option<KekaDate>,
    #[serde(default)]
    pub from_session: Option<LeaveSession>,
    #[serde(default)]
    pub to_session: Option<LeaveSession>,
    #[serde(default)]
    pub requested_on: Option<KekaDate>,
    #[serde(default)]
    pub last_action_taken_on: Option<KekaDate>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub status: Option<LeaveRequestStatus>,
    #[serde(default)]
    pub cancel_reject_reason: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub selection: Vec<LeaveSelection>,
    /// The record as Keka sent it.
    #[serde(skip)]
    pub raw: RawRecord,
}

/// One leave type inside a request, with how much of it was taken.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveSelection {
    #[serde(default)]
    pub leave_type_identifier: Option<String>,
    #[serde(default)]
    pub leave_type_name: Option<String>,
    #[serde(default)]
    pub count: Option<f64>,
    #[serde(default)]
    pub duration: Option<LeaveDuration>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveDuration {
    /// Undocumented enum (days or hours): kept raw.
    #[serde(default)]
    pub unit: Option<serde_json::Value>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub duration_string: Option<String>,
}

/// `/time/leavebalance`: one employee's balances.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeLeaveBalances {
    pub employee_identifier: String,
    #[serde(default)]
    pub employee_number: Option<String>,
    #[serde(default)]
    pub employee_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub leave_balance: Vec<LeaveBalance>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveBalance {
    #[serde(default)]
    pub leave_type_id: Option<String>,
    #[serde(default)]
    pub leave_type_name: Option<String>,
    #[serde(default)]
    pub accrued_amount: Option<f64>,
    #[serde(default)]
    pub consumed_amount: Option<f64>,
    #[serde(default)]
    pub available_balance: Option<f64>,
    #[serde(default)]
    pub annual_quota: Option<f64>,
}

/// `/time/attendance`: one employee's summary of one day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceDay {
    #[serde(default)]
    pub id: Option<String>,
    pub employee_identifier: String,
    #[serde(default)]
    pub employee_number: Option<String>,
    pub attendance_date: KekaDate,
    #[serde(default)]
    pub day_type: Option<DayType>,
    /// Names of its values are undocumented: kept as the integer.
    #[serde(default)]
    pub leave_day_status: Option<i64>,
    #[serde(default)]
    pub shift_start_time: Option<KekaDate>,
    #[serde(default)]
    pub shift_end_time: Option<KekaDate>,
    #[serde(default)]
    pub shift_duration: Option<f64>,
    #[serde(default)]
    pub shift_break_duration: Option<f64>,
    #[serde(default)]
    pub shift_effective_duration: Option<f64>,
    #[serde(default)]
    pub total_gross_hours: Option<f64>,
    #[serde(default)]
    pub total_effective_hours: Option<f64>,
    #[serde(default)]
    pub total_break_duration: Option<f64>,
    #[serde(default)]
    pub total_effective_overtime_duration: Option<f64>,
    #[serde(default)]
    pub total_gross_overtime_duration: Option<f64>,
    /// Null when the employee did not punch in.
    #[serde(default)]
    pub first_in_of_the_day: Option<Punch>,
    /// Null when the employee did not punch out.
    #[serde(default)]
    pub last_out_of_the_day: Option<Punch>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Punch {
    pub timestamp: KekaDate,
    #[serde(default)]
    pub punch_status: Option<i64>,
    #[serde(default)]
    pub location_address: Option<serde_json::Value>,
    #[serde(default)]
    pub manual_clockin_type: Option<i64>,
    #[serde(default)]
    pub employee_identifier: Option<String>,
    #[serde(default)]
    pub attendance_log_source: Option<i64>,
}

/// The body of `POST /time/leaverequests`: `{employeeId, requestedBy, fromDate, toDate, fromSession, toSession,
/// leaveTypeId, reason, note}`. Sessions go as Keka's numbers (0 first half, 1 second half).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveApplication {
    pub employee_id: String,
    /// Who asks on the employee's behalf, when someone else does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    #[serde(serialize_with = "session_code")]
    pub from_session: LeaveSession,
    #[serde(serialize_with = "session_code")]
    pub to_session: LeaveSession,
    pub leave_type_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn session_code<S: Serializer>(session: &LeaveSession, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(session.code())
}

/// What a write's envelope says in `data`: the new record's id, bare (Keka's documented answer) or as an object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NewRecord {
    Id(String),
    Object {
        #[serde(alias = "identifier")]
        id: String,
    },
}

impl NewRecord {
    pub fn id(self) -> String {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}
