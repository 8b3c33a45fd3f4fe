//! Keka's JSON wire format for every resource the sandbox serves.
//!
//! These structs are the sandbox's own, written from the API notes (§3), not shared with the
//! client side of the crate, so a misspelt field cannot cancel out on both ends. Each struct
//! borrows from the tenant and is built per response; field order follows the notes.
//! Dates go out without an offset (`2021-09-01T00:00:00`), punch timestamps in UTC with `Z`,
//! enums as integers, ids as lowercase GUIDs.

use chrono::{NaiveDate, NaiveDateTime};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::ids::Guid;
use super::tenant::{
    Address, AttendanceDay, Candidate, Department, Employee, Group, GroupType, Job, JobTitle, LeaveRequest, Location,
    Lookup, PreboardingCandidate, Punch, Tenant,
};

/// A date rendered as `YYYY-MM-DDT00:00:00`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireDate(pub(crate) NaiveDate);

impl Serialize for WireDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%dT00:00:00"))
    }
}

/// A local date-time rendered as `YYYY-MM-DDTHH:MM:SS` (no offset).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireDateTime(pub(crate) NaiveDateTime);

impl Serialize for WireDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// A UTC instant rendered as `YYYY-MM-DDTHH:MM:SSZ` (punch timestamps).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireUtc(pub(crate) NaiveDateTime);

impl Serialize for WireUtc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// Serialises `(key, value)` pairs as a JSON object (Keka's `record<string>` fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairsMap<'a>(&'a [(String, String)]);

impl Serialize for PairsMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn date(d: NaiveDate) -> WireDate {
    WireDate(d)
}

fn opt_date(d: Option<NaiveDate>) -> Option<WireDate> {
    d.map(WireDate)
}

// ---------------------------------------------------------------------------------------------
// Shared shapes

/// `{addressLine1, addressLine2, countryCode, city, state, zip}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireAddress<'a> {
    address_line1: &'a str,
    address_line2: Option<&'a str>,
    country_code: &'a str,
    city: &'a str,
    state: &'a str,
    zip: &'a str,
}

fn address(a: &Address) -> WireAddress<'_> {
    WireAddress {
        address_line1: &a.line1,
        address_line2: a.line2.as_deref(),
        country_code: &a.country_code,
        city: &a.city,
        state: &a.state,
        zip: &a.zip,
    }
}

/// `{identifier, title}`
#[derive(Debug, Serialize)]
pub(crate) struct LookupInfo<'a> {
    identifier: Guid,
    title: &'a str,
}

fn lookup(l: &Lookup) -> LookupInfo<'_> {
    LookupInfo { identifier: l.id, title: &l.title }
}

/// `{id, firstName, lastName, email}` (reportsTo, l2Manager, dottedLineManager, departmentHeads)
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmployeeLookup<'a> {
    id: Guid,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
}

fn employee_lookup(e: &Employee) -> EmployeeLookup<'_> {
    EmployeeLookup { id: e.id, first_name: &e.first_name, last_name: &e.last_name, email: &e.email }
}

// ---------------------------------------------------------------------------------------------
// Employees (§3.1)

#[derive(Debug, Serialize)]
struct Thumbs {
    #[serde(rename = "33x33")]
    small: String,
    #[serde(rename = "50x50")]
    medium: String,
    #[serde(rename = "200x200")]
    large: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    file_name: String,
    thumbs: Thumbs,
}

#[derive(Debug, Serialize)]
struct ContingentType<'a> {
    id: Guid,
    name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRelation<'a> {
    id: Guid,
    relation_type: u8,
    gender: u8,
    first_name: &'a str,
    last_name: &'a str,
    display_name: String,
    email: Option<&'a str>,
    date_of_birth: Option<WireDate>,
    profession: Option<&'a str>,
    mobile: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireEducation<'a> {
    id: Guid,
    degree: &'a str,
    branch: &'a str,
    university: &'a str,
    cgpa: f64,
    year_of_joining: WireDate,
    year_of_completion: WireDate,
    custom_fields: [(); 0],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireExperience<'a> {
    id: Guid,
    company_name: &'a str,
    job_title: &'a str,
    location: &'a str,
    description: Option<&'a str>,
    date_of_joining: WireDate,
    date_of_relieving: WireDate,
    custom_fields: [(); 0],
}

#[derive(Debug, Serialize)]
struct WireCustomField<'a> {
    id: Guid,
    title: &'a str,
    #[serde(rename = "type")]
    field_type: &'a str,
    value: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupLookup<'a> {
    id: Guid,
    title: &'a str,
    group_type: i32,
}

/// EmployeeProfile.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmployeeProfile<'a> {
    id: Guid,
    employee_number: &'a str,
    first_name: &'a str,
    middle_name: Option<&'a str>,
    last_name: &'a str,
    display_name: &'a str,
    email: &'a str,
    personal_email: Option<&'a str>,
    city: &'a str,
    country_code: &'a str,
    nationality: &'a str,
    image: Option<Image>,
    job_title: LookupInfo<'a>,
    secondary_job_title: Option<&'a str>,
    reports_to: Option<EmployeeLookup<'a>>,
    l2_manager: Option<EmployeeLookup<'a>>,
    dotted_line_manager: Option<EmployeeLookup<'a>>,
    contingent_type: Option<ContingentType<'a>>,
    time_type: u8,
    worker_type: u8,
    is_private: bool,
    is_profile_complete: bool,
    marital_status: u8,
    marriage_date: Option<WireDate>,
    gender: u8,
    joining_date: WireDate,
    total_experience_in_days: i64,
    professional_summary: Option<&'a str>,
    date_of_birth: WireDate,
    resignation_submitted_date: Option<WireDate>,
    exit_date: Option<WireDate>,
    employment_status: u8,
    account_status: u8,
    invitation_status: u8,
    exit_status: u8,
    exit_type: u8,
    exit_reason: Option<&'a str>,
    work_phone: Option<&'a str>,
    home_phone: Option<&'a str>,
    mobile_phone: &'a str,
    blood_group: u8,
    attendance_number: &'a str,
    probation_end_date: Option<WireDate>,
    current_address: WireAddress<'a>,
    permanent_address: WireAddress<'a>,
    relations: Vec<WireRelation<'a>>,
    education_details: Vec<WireEducation<'a>>,
    experience_details: Vec<WireExperience<'a>>,
    custom_fields: Vec<WireCustomField<'a>>,
    groups: Vec<GroupLookup<'a>>,
    holiday_calendar_id: Guid,
    leave_plan_info: LookupInfo<'a>,
    band_info: LookupInfo<'a>,
    pay_grade_info: LookupInfo<'a>,
    shift_policy_info: LookupInfo<'a>,
    weekly_off_policy_info: LookupInfo<'a>,
    capture_scheme_info: LookupInfo<'a>,
    tracking_policy_info: LookupInfo<'a>,
    expense_policy_info: LookupInfo<'a>,
    overtime_policy_info: Option<LookupInfo<'a>>,
}

/// Renders one employee.
pub(crate) fn employee<'a>(t: &'a Tenant, e: &'a Employee) -> EmployeeProfile<'a> {
    let manager = e.reports_to.map(|m| &t.employees[m]);
    let l2 = manager.and_then(|m| m.reports_to).map(|m| &t.employees[m]);
    let loc = &t.locations[e.location];
    let lk = &t.lookups;
    let p = &e.policies;
    let worked_until = e.exit_date.map_or(t.today, |exit| exit.min(t.today));
    EmployeeProfile {
        id: e.id,
        employee_number: &e.employee_number,
        first_name: &e.first_name,
        middle_name: e.middle_name.as_deref(),
        last_name: &e.last_name,
        display_name: &e.display_name,
        email: &e.email,
        personal_email: e.personal_email.as_deref(),
        city: &loc.address.city,
        country_code: &loc.address.country_code,
        nationality: &e.nationality,
        image: e.has_image.then(|| {
            let base = format!("https://cdn.{}/profile-images/{}", t.company.domain, e.id);
            Image {
                file_name: format!("{}.jpg", e.id),
                thumbs: Thumbs {
                    small: format!("{base}/33x33.jpg"),
                    medium: format!("{base}/50x50.jpg"),
                    large: format!("{base}/200x200.jpg"),
                },
            }
        }),
        job_title: LookupInfo { identifier: t.job_titles[e.job_title].id, title: &t.job_titles[e.job_title].name },
        secondary_job_title: e.secondary_job_title.as_deref(),
        reports_to: manager.map(employee_lookup),
        l2_manager: l2.map(employee_lookup),
        dotted_line_manager: e.dotted_line_manager.map(|m| employee_lookup(&t.employees[m])),
        contingent_type: e
            .contingent_type
            .map(|c| ContingentType { id: lk.contingent_types[c].id, name: &lk.contingent_types[c].title }),
        time_type: e.time_type as u8,
        worker_type: e.worker_type as u8,
        is_private: e.is_private,
        is_profile_complete: e.is_profile_complete,
        marital_status: e.marital_status as u8,
        marriage_date: opt_date(e.marriage_date),
        gender: e.gender as u8,
        joining_date: date(e.joining_date),
        total_experience_in_days: e.prior_experience_days + (worked_until - e.joining_date).num_days().max(0),
        professional_summary: e.professional_summary.as_deref(),
        date_of_birth: date(e.date_of_birth),
        resignation_submitted_date: opt_date(e.resignation_submitted_date),
        exit_date: opt_date(e.exit_date),
        employment_status: e.employment_status as u8,
        account_status: e.account_status as u8,
        invitation_status: e.invitation_status,
        exit_status: e.exit_status as u8,
        exit_type: e.exit_type as u8,
        exit_reason: e.exit_reason.as_deref(),
        work_phone: e.work_phone.as_deref(),
        home_phone: e.home_phone.as_deref(),
        mobile_phone: &e.mobile_phone,
        blood_group: e.blood_group,
        attendance_number: &e.attendance_number,
        probation_end_date: opt_date(e.probation_end_date),
        current_address: address(&e.current_address),
        permanent_address: address(&e.permanent_address),
        relations: e
            .relations
            .iter()
            .map(|r| WireRelation {
                id: r.id,
                relation_type: r.relation_type,
                gender: r.gender as u8,
                first_name: &r.first_name,
                last_name: &r.last_name,
                display_name: format!("{} {}", r.first_name, r.last_name),
                email: r.email.as_deref(),
                date_of_birth: opt_date(r.date_of_birth),
                profession: r.profession.as_deref(),
                mobile: r.mobile.as_deref(),
            })
            .collect(),
        education_details: e
            .education
            .iter()
            .map(|ed| WireEducation {
                id: ed.id,
                degree: &ed.degree,
                branch: &ed.branch,
                university: &ed.university,
                cgpa: ed.cgpa,
                year_of_joining: date(ed.year_of_joining),
                year_of_completion: date(ed.year_of_completion),
                custom_fields: [],
            })
            .collect(),
        experience_details: e
            .experience
            .iter()
            .map(|x| WireExperience {
                id: x.id,
                company_name: &x.company_name,
                job_title: &x.job_title,
                location: &x.location,
                description: x.description.as_deref(),
                date_of_joining: date(x.date_of_joining),
                date_of_relieving: date(x.date_of_relieving),
                custom_fields: [],
            })
            .collect(),
        custom_fields: e
            .custom_fields
            .iter()
            .map(|c| {
                let def = &lk.custom_fields[c.field];
                WireCustomField { id: def.id, title: &def.title, field_type: &def.field_type, value: &c.value }
            })
            .collect(),
        groups: e
            .groups
            .iter()
            .map(|&g| GroupLookup { id: t.groups[g].id, title: &t.groups[g].name, group_type: t.groups[g].kind.code() })
            .collect(),
        holiday_calendar_id: lk.holiday_calendars[loc.holiday_calendar].id,
        leave_plan_info: lookup(&lk.leave_plans[p.leave_plan]),
        band_info: lookup(&lk.bands[p.band]),
        pay_grade_info: lookup(&lk.pay_grades[p.pay_grade]),
        shift_policy_info: lookup(&lk.shift_policies[p.shift_policy]),
        weekly_off_policy_info: lookup(&lk.weekly_off_policies[p.weekly_off_policy]),
        capture_scheme_info: lookup(&lk.capture_schemes[p.capture_scheme]),
        tracking_policy_info: lookup(&lk.tracking_policies[p.tracking_policy]),
        expense_policy_info: lookup(&lk.expense_policies[p.expense_policy]),
        overtime_policy_info: p.overtime_policy.map(|o| lookup(&lk.overtime_policies[o])),
    }
}

// ---------------------------------------------------------------------------------------------
// Organisation (§3.2)

/// `/hris/groups` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireGroup<'a> {
    id: Guid,
    name: &'a str,
    code: &'a str,
    description: &'a str,
    group_type_id: Guid,
    gl_code: Option<&'a str>,
}

pub(crate) fn group<'a>(t: &'a Tenant, g: &'a Group) -> WireGroup<'a> {
    WireGroup {
        id: g.id,
        name: &g.name,
        code: &g.code,
        description: &g.description,
        group_type_id: t.group_types[g.group_type].id,
        gl_code: g.gl_code.as_deref(),
    }
}

/// `/hris/grouptypes` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireGroupType<'a> {
    id: Guid,
    name: &'a str,
    is_system_defined: bool,
    system_group_type: i32,
}

pub(crate) fn group_type(g: &GroupType) -> WireGroupType<'_> {
    WireGroupType {
        id: g.id,
        name: &g.name,
        is_system_defined: g.is_system_defined,
        system_group_type: g.system_group_type.code(),
    }
}

/// `/hris/departments` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireDepartment<'a> {
    id: Guid,
    name: &'a str,
    description: &'a str,
    parent_id: Option<Guid>,
    is_archived: bool,
    department_heads: Vec<EmployeeLookup<'a>>,
}

pub(crate) fn department<'a>(t: &'a Tenant, d: &'a Department) -> WireDepartment<'a> {
    WireDepartment {
        id: d.id,
        name: &d.name,
        description: &d.description,
        parent_id: d.parent.map(|p| t.departments[p].id),
        is_archived: d.is_archived,
        department_heads: d.heads.iter().map(|&h| employee_lookup(&t.employees[h])).collect(),
    }
}

/// `/hris/locations` item.
#[derive(Debug, Serialize)]
pub(crate) struct WireLocation<'a> {
    id: Guid,
    name: &'a str,
    description: &'a str,
    address: WireAddress<'a>,
}

pub(crate) fn location(l: &Location) -> WireLocation<'_> {
    WireLocation { id: l.id, name: &l.name, description: &l.description, address: address(&l.address) }
}

/// `/hris/jobtitles` item.
#[derive(Debug, Serialize)]
pub(crate) struct WireJobTitle<'a> {
    id: Guid,
    name: &'a str,
    description: &'a str,
}

pub(crate) fn job_title(j: &JobTitle) -> WireJobTitle<'_> {
    WireJobTitle { id: j.id, name: &j.name, description: &j.description }
}

// ---------------------------------------------------------------------------------------------
// Leave (§3.3)

/// `/time/leavetypes` item: the key is `identifier`, there is no `id`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireLeaveType<'a> {
    identifier: Guid,
    name: &'a str,
    description: &'a str,
    is_paid: bool,
}

pub(crate) fn leave_type(l: &super::tenant::LeaveType) -> WireLeaveType<'_> {
    WireLeaveType { identifier: l.id, name: &l.name, description: &l.description, is_paid: l.is_paid }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TimePeriod {
    /// TimeDuration enum; the sandbox uses 0 for days (Keka's names are undocumented).
    unit: u8,
    duration: f64,
    duration_string: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaveSelection<'a> {
    leave_type_identifier: Guid,
    leave_type_name: &'a str,
    count: f64,
    duration: TimePeriod,
}

/// `/time/leaverequests` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireLeaveRequest<'a> {
    id: Guid,
    employee_identifier: Guid,
    employee_number: &'a str,
    from_date: WireDate,
    to_date: WireDate,
    from_session: u8,
    to_session: u8,
    requested_on: WireDateTime,
    last_action_taken_on: WireDateTime,
    note: Option<&'a str>,
    status: u8,
    cancel_reject_reason: Option<&'a str>,
    selection: Vec<LeaveSelection<'a>>,
}

fn day_count(days: f64) -> String {
    let unit = if days > 1.0 { "Days" } else { "Day" };
    if days.fract() == 0.0 { format!("{days:.0} {unit}") } else { format!("{days} {unit}") }
}

pub(crate) fn leave_request<'a>(t: &'a Tenant, r: &'a LeaveRequest) -> WireLeaveRequest<'a> {
    let e = &t.employees[r.employee];
    let lt = &t.leave_types[r.leave_type];
    WireLeaveRequest {
        id: r.id,
        employee_identifier: e.id,
        employee_number: &e.employee_number,
        from_date: date(r.from_date),
        to_date: date(r.to_date),
        from_session: r.from_session as u8,
        to_session: r.to_session as u8,
        requested_on: WireDateTime(r.requested_on),
        last_action_taken_on: WireDateTime(r.last_action_taken_on),
        note: r.note.as_deref(),
        status: r.status as u8,
        cancel_reject_reason: r.cancel_reject_reason.as_deref(),
        selection: vec![LeaveSelection {
            leave_type_identifier: lt.id,
            leave_type_name: &lt.name,
            count: r.days,
            duration: TimePeriod { unit: 0, duration: r.days, duration_string: day_count(r.days) },
        }],
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireBalance<'a> {
    leave_type_id: Guid,
    leave_type_name: &'a str,
    accrued_amount: f64,
    consumed_amount: f64,
    available_balance: f64,
    annual_quota: f64,
}

/// `/time/leavebalance` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireLeaveBalance<'a> {
    employee_identifier: Guid,
    employee_number: &'a str,
    employee_name: &'a str,
    leave_balance: Vec<WireBalance<'a>>,
}

/// One employee's balances, optionally restricted to some leave types.
pub(crate) fn leave_balance<'a>(t: &'a Tenant, employee: usize, keep: impl Fn(Guid) -> bool) -> WireLeaveBalance<'a> {
    let e = &t.employees[employee];
    WireLeaveBalance {
        employee_identifier: e.id,
        employee_number: &e.employee_number,
        employee_name: &e.display_name,
        leave_balance: t.leave_balances[employee]
            .iter()
            .filter(|b| keep(t.leave_types[b.leave_type].id))
            .map(|b| WireBalance {
                leave_type_id: t.leave_types[b.leave_type].id,
                leave_type_name: &t.leave_types[b.leave_type].name,
                accrued_amount: b.accrued,
                consumed_amount: b.consumed,
                available_balance: b.available,
                annual_quota: b.annual_quota,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Attendance (§3.4)

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePunch<'a> {
    timestamp: WireUtc,
    punch_status: u8,
    location_address: Option<WireAddress<'a>>,
    manual_clockin_type: u8,
    employee_identifier: Guid,
    attendance_log_source: u8,
}

/// `/time/attendance` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireAttendance<'a> {
    id: Guid,
    employee_identifier: Guid,
    employee_number: &'a str,
    attendance_date: WireDate,
    day_type: u8,
    leave_day_status: u8,
    shift_start_time: WireDateTime,
    shift_end_time: WireDateTime,
    shift_duration: f64,
    shift_break_duration: f64,
    shift_effective_duration: f64,
    total_gross_hours: f64,
    total_effective_hours: f64,
    total_break_duration: f64,
    total_effective_overtime_duration: f64,
    total_gross_overtime_duration: f64,
    first_in_of_the_day: Option<WirePunch<'a>>,
    last_out_of_the_day: Option<WirePunch<'a>>,
}

pub(crate) fn attendance(t: &Tenant, d: AttendanceDay) -> WireAttendance<'_> {
    let e = &t.employees[d.employee];
    let punch = |p: Punch| WirePunch {
        timestamp: WireUtc(p.timestamp_utc),
        punch_status: p.punch_status,
        location_address: p.location.map(|l| address(&t.locations[l].address)),
        manual_clockin_type: p.manual_clockin_type,
        employee_identifier: e.id,
        attendance_log_source: p.attendance_log_source,
    };
    WireAttendance {
        id: d.id,
        employee_identifier: e.id,
        employee_number: &e.employee_number,
        attendance_date: date(d.date),
        day_type: d.day_type as u8,
        leave_day_status: d.leave_day_status as u8,
        shift_start_time: WireDateTime(d.shift_start),
        shift_end_time: WireDateTime(d.shift_end),
        shift_duration: d.shift_duration,
        shift_break_duration: d.shift_break_duration,
        shift_effective_duration: d.shift_effective_duration,
        total_gross_hours: d.total_gross_hours,
        total_effective_hours: d.total_effective_hours,
        total_break_duration: d.total_break_duration,
        total_effective_overtime_duration: d.total_effective_overtime_duration,
        total_gross_overtime_duration: d.total_gross_overtime_duration,
        first_in_of_the_day: d.first_in.map(punch),
        last_out_of_the_day: d.last_out.map(punch),
    }
}

// ---------------------------------------------------------------------------------------------
// Hire (§3.5)

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobLocation<'a> {
    name: &'a str,
    city: &'a str,
    state: &'a str,
    country_name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HiringTeam<'a> {
    identifier: Guid,
    display_name: &'a str,
    #[serde(rename = "type")]
    member_type: u8,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobField<'a> {
    field_name: &'a str,
    required: bool,
    field_type: u8,
    value: Option<&'a str>,
}

/// JobDTO (`/hire/jobs` item). `noOfOpenings` is a string on the wire.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireJob<'a> {
    id: Guid,
    title: &'a str,
    description: &'a str,
    no_of_openings: String,
    department_name: &'a str,
    job_type: &'a str,
    is_referral_enabled: bool,
    is_created_from_requisition: bool,
    requisition_identifier: Option<Guid>,
    can_allow_internal_employees: bool,
    org_job_id: &'a str,
    job_locations: Vec<JobLocation<'a>>,
    hiring_team: Vec<HiringTeam<'a>>,
    career_portal_url: &'a str,
    target_hire_date: WireDate,
    status: u8,
    can_list_on_careers_site: bool,
    created_on: WireDateTime,
    published_on: Option<WireDateTime>,
    experience: &'a str,
    custom_fields: Vec<JobField<'a>>,
}

pub(crate) fn job<'a>(t: &'a Tenant, j: &'a Job) -> WireJob<'a> {
    WireJob {
        id: j.id,
        title: &j.title,
        description: &j.description,
        no_of_openings: j.openings.to_string(),
        department_name: &t.departments[j.department].name,
        job_type: &j.job_type,
        is_referral_enabled: j.is_referral_enabled,
        is_created_from_requisition: j.requisition.is_some(),
        requisition_identifier: j.requisition,
        can_allow_internal_employees: j.can_allow_internal_employees,
        org_job_id: &j.org_job_id,
        job_locations: j
            .locations
            .iter()
            .map(|&l| {
                let loc = &t.locations[l];
                JobLocation {
                    name: &loc.name,
                    city: &loc.address.city,
                    state: &loc.address.state,
                    country_name: &loc.country_name,
                }
            })
            .collect(),
        hiring_team: j
            .hiring_team
            .iter()
            .map(|m| HiringTeam {
                identifier: t.employees[m.employee].id,
                display_name: &t.employees[m.employee].display_name,
                member_type: m.role,
            })
            .collect(),
        career_portal_url: &j.career_portal_url,
        target_hire_date: date(j.target_hire_date),
        status: j.status as u8,
        can_list_on_careers_site: j.can_list_on_careers_site,
        created_on: WireDateTime(j.created_on),
        published_on: j.published_on.map(WireDateTime),
        experience: &j.experience,
        custom_fields: j
            .custom_fields
            .iter()
            .map(|f| JobField {
                field_name: &f.name,
                required: f.required,
                field_type: f.field_type,
                value: f.value.as_deref(),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateEducationWire<'a> {
    degree: &'a str,
    branch: &'a str,
    date_of_joining: WireDate,
    date_of_completion: WireDate,
    university: &'a str,
    location: &'a str,
}

#[derive(Debug, Serialize)]
struct CandidateTagWire<'a> {
    identifier: Guid,
    name: &'a str,
    description: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateExperienceWire<'a> {
    company_name: &'a str,
    designation: &'a str,
    is_currently_working: bool,
    date_of_joining: WireDate,
    date_of_relieving: Option<WireDate>,
    location: &'a str,
}

/// `jobApplicationDetails`; note Keka's lower-case `t` in `movedtoStageOn`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobApplicationDetails<'a> {
    job_hiring_stage_id: Guid,
    #[serde(rename = "movedtoStageOn")]
    moved_to_stage_on: WireDateTime,
    screening_questions_response: PairsMap<'a>,
    applied_on: WireDateTime,
    status: u8,
    sourced_by: &'a str,
    source_title: &'a str,
    assigned_to: Option<String>,
    assigned_on: Option<WireDateTime>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArchivedDetails<'a> {
    archived_on: WireDateTime,
    archived_by: &'a str,
    archive_reason: &'a str,
}

/// `/hire/jobs/{jobId}/candidates` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCandidate<'a> {
    id: Guid,
    first_name: &'a str,
    last_name: &'a str,
    middle_name: Option<&'a str>,
    gender: u8,
    email: &'a str,
    phone: &'a str,
    education_details: Vec<CandidateEducationWire<'a>>,
    candidate_tags: Vec<CandidateTagWire<'a>>,
    experience_details: Vec<CandidateExperienceWire<'a>>,
    skills: &'a [String],
    additional_candidate_details: PairsMap<'a>,
    job_application_details: JobApplicationDetails<'a>,
    archived_details: Option<ArchivedDetails<'a>>,
}

pub(crate) fn candidate<'a>(t: &'a Tenant, c: &'a Candidate) -> WireCandidate<'a> {
    let job = &t.jobs[c.job];
    WireCandidate {
        id: c.id,
        first_name: &c.first_name,
        last_name: &c.last_name,
        middle_name: c.middle_name.as_deref(),
        gender: c.gender as u8,
        email: &c.email,
        phone: &c.phone,
        education_details: c
            .education
            .iter()
            .map(|e| CandidateEducationWire {
                degree: &e.degree,
                branch: &e.branch,
                date_of_joining: date(e.date_of_joining),
                date_of_completion: date(e.date_of_completion),
                university: &e.university,
                location: &e.location,
            })
            .collect(),
        candidate_tags: c
            .tags
            .iter()
            .map(|&i| CandidateTagWire {
                identifier: t.candidate_tags[i].id,
                name: &t.candidate_tags[i].name,
                description: &t.candidate_tags[i].description,
            })
            .collect(),
        experience_details: c
            .experience
            .iter()
            .map(|x| CandidateExperienceWire {
                company_name: &x.company_name,
                designation: &x.designation,
                is_currently_working: x.is_currently_working,
                date_of_joining: date(x.date_of_joining),
                date_of_relieving: opt_date(x.date_of_relieving),
                location: &x.location,
            })
            .collect(),
        skills: &c.skills,
        additional_candidate_details: PairsMap(&c.additional_details),
        job_application_details: JobApplicationDetails {
            job_hiring_stage_id: job.stages[c.stage].0,
            moved_to_stage_on: WireDateTime(c.moved_to_stage_on),
            screening_questions_response: PairsMap(&c.screening_answers),
            applied_on: WireDateTime(c.applied_on),
            status: c.application_status,
            sourced_by: &c.sourced_by,
            source_title: &c.source_title,
            assigned_to: c.assigned.map(|(r, _)| t.employees[r].id.to_string()),
            assigned_on: c.assigned.map(|(_, at)| WireDateTime(at)),
        },
        archived_details: c.archived.as_ref().map(|a| ArchivedDetails {
            archived_on: WireDateTime(a.archived_on),
            archived_by: &t.employees[a.archived_by].display_name,
            archive_reason: &a.reason,
        }),
    }
}

/// `/hire/preboarding/candidates` item; `jobtitle` is lower-case on the wire.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePreboarding<'a> {
    id: Guid,
    first_name: &'a str,
    middle_name: Option<&'a str>,
    last_name: &'a str,
    email: &'a str,
    country_code: &'a str,
    mobile_number: &'a str,
    #[serde(rename = "jobtitle")]
    job_title: Guid,
    gender: u8,
    department: Guid,
    work_location: Guid,
    expected_date_of_joining: WireDate,
    stage: u8,
    status: u8,
}

pub(crate) fn preboarding<'a>(t: &'a Tenant, p: &'a PreboardingCandidate) -> WirePreboarding<'a> {
    WirePreboarding {
        id: p.id,
        first_name: &p.first_name,
        middle_name: p.middle_name.as_deref(),
        last_name: &p.last_name,
        email: &p.email,
        country_code: &p.country_code,
        mobile_number: &p.mobile_number,
        job_title: t.job_titles[p.job_title].id,
        gender: p.gender as u8,
        department: t.departments[p.department].id,
        work_location: t.locations[p.work_location].id,
        expected_date_of_joining: date(p.expected_date_of_joining),
        stage: p.stage,
        status: p.status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats() {
        let d = NaiveDate::from_ymd_opt(2021, 9, 1).unwrap();
        assert_eq!(serde_json::to_string(&WireDate(d)).unwrap(), "\"2021-09-01T00:00:00\"");
        let dt = d.and_hms_opt(13, 5, 9).unwrap();
        assert_eq!(serde_json::to_string(&WireDateTime(dt)).unwrap(), "\"2021-09-01T13:05:09\"");
        assert_eq!(serde_json::to_string(&WireUtc(dt)).unwrap(), "\"2021-09-01T13:05:09Z\"");
        assert_eq!(day_count(1.0), "1 Day");
        assert_eq!(day_count(0.5), "0.5 Day");
        assert_eq!(day_count(2.5), "2.5 Days");
    }
}
