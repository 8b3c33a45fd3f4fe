//! The simulated Keka tenant: plain data generated from `(seed, size, today)`, then changed
//! by simulated HR changes.
//!
//! These are the sandbox's own domain types (typed dates, enums, indices between tables).
//! They say nothing about JSON; `super::wire` renders them in Keka's wire format. Keeping
//! the two apart means a field name is written down exactly once, in the wire layer.
//!
//! Generation lives in the submodules: [`org`] (groups, departments, locations, titles,
//! policies), [`people`] (employees and the manager tree), [`leave`], [`hire`]. Attendance
//! is not stored at all: [`attendance`] computes a day on demand from `(seed, employee, date)`.
//! After generation, [`changes`] applies HR changes (hires, exits, moves, renames, leave
//! requests, new departments) to a copy of the tenant; the running sandbox swaps the copy in
//! (see `crate::hr`). [`leave_application`] checks and files leave requested through the API
//! (`POST /time/leaverequests`) the same way.

mod attendance;
mod changes;
mod custom_fields;
mod hire;
mod leave;
mod leave_application;
mod names;
mod org;
mod people;

use std::collections::HashMap;
use std::ops::Range;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use super::ids::{Guid, NotAGuid};
pub use attendance::{AttendanceDay, DayType, LeaveDayStatus, Punch};
pub use changes::{Change, ChangeDetail, ChangeKind};
pub use leave_application::{LeaveApplication, MAX_LEAVE_SPAN_DAYS, ReviewedLeave};

/// The company the tenant belongs to.
#[derive(Debug, Clone)]
pub struct Company {
    /// Display name.
    pub name: String,
    /// Domain of work e-mail addresses (`first.last@<domain>`).
    pub domain: String,
    /// Keka subdomain (`<subdomain>.keka.com`), used in career-portal links.
    pub subdomain: String,
    /// Prefix of employee numbers.
    pub employee_number_prefix: String,
}

/// Keka's `SystemGroupType` (the integer is the wire value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemGroupType {
    /// 0: custom group types report None.
    None = 0,
    /// 1
    BusinessUnit = 1,
    /// 2
    Department = 2,
    /// 3
    OrgLocation = 3,
    /// 4
    CostCenter = 4,
    /// 6
    ProjectTeam = 6,
}

impl SystemGroupType {
    /// Wire value.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A group type (`/hris/grouptypes`).
#[derive(Debug, Clone)]
pub struct GroupType {
    pub id: Guid,
    pub name: String,
    pub is_system_defined: bool,
    pub system_group_type: SystemGroupType,
}

/// A group (`/hris/groups`); membership is recorded on [`Employee::groups`].
#[derive(Debug, Clone)]
pub struct Group {
    pub id: Guid,
    pub name: String,
    pub code: String,
    pub description: String,
    /// Index into [`Tenant::group_types`].
    pub group_type: usize,
    /// Copied from the group type, for quick filtering.
    pub kind: SystemGroupType,
    pub gl_code: Option<String>,
    pub last_modified: NaiveDateTime,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub country_code: String,
    pub city: String,
    pub state: String,
    pub zip: String,
}

/// A department (`/hris/departments`); its id equals its Department group's id (also for one
/// set up by an HR change, which adds both).
#[derive(Debug, Clone)]
pub struct Department {
    pub id: Guid,
    /// Index into [`Tenant::groups`].
    pub group: usize,
    pub name: String,
    pub description: String,
    /// Index of the parent department.
    pub parent: Option<usize>,
    pub is_archived: bool,
    /// Indices into [`Tenant::employees`].
    pub heads: Vec<usize>,
    pub last_modified: NaiveDateTime,
}

/// A work shift: start time (local), length and unpaid break, in hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    pub start: NaiveTime,
    pub hours: f64,
    pub break_hours: f64,
}

/// An office (`/hris/locations`), also an OrgLocation group.
#[derive(Debug, Clone)]
pub struct Location {
    /// Equal to the group id unless the config asks for distinct ids.
    pub id: Guid,
    /// Index into [`Tenant::groups`].
    pub group: usize,
    pub name: String,
    pub description: String,
    pub address: Address,
    pub country_name: String,
    /// Standard-time offset from UTC in minutes.
    pub utc_offset_minutes: i32,
    /// Apply UK daylight saving (last Sunday of March to last Sunday of October).
    pub uk_summer_time: bool,
    /// Saturdays are a second-half weekly off here (dayType 4) instead of a full day off.
    pub saturday_half_day: bool,
    pub shift: Shift,
    /// Index into [`Lookups::holiday_calendars`].
    pub holiday_calendar: usize,
    pub last_modified: NaiveDateTime,
}

/// A job title (`/hris/jobtitles`).
#[derive(Debug, Clone)]
pub struct JobTitle {
    pub id: Guid,
    pub name: String,
    pub description: String,
    pub last_modified: NaiveDateTime,
}

/// An `{identifier, title}` lookup (policies, bands, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub id: Guid,
    pub title: String,
}

/// A holiday calendar: fixed-date holidays repeated every year.
#[derive(Debug, Clone)]
pub struct HolidayCalendar {
    pub id: Guid,
    pub country_code: String,
    /// `(month, day, name)`
    pub holidays: Vec<(u32, u32, String)>,
}

/// Definition of an employee custom field.
#[derive(Debug, Clone)]
pub struct CustomFieldDef {
    pub id: Guid,
    pub title: String,
    /// Keka sends the field type as a string.
    pub field_type: String,
}

/// Tenant-wide lookups referenced by employees.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub leave_plans: Vec<Lookup>,
    pub bands: Vec<Lookup>,
    pub pay_grades: Vec<Lookup>,
    pub shift_policies: Vec<Lookup>,
    pub weekly_off_policies: Vec<Lookup>,
    pub capture_schemes: Vec<Lookup>,
    pub tracking_policies: Vec<Lookup>,
    pub expense_policies: Vec<Lookup>,
    pub overtime_policies: Vec<Lookup>,
    pub contingent_types: Vec<Lookup>,
    pub holiday_calendars: Vec<HolidayCalendar>,
    pub custom_fields: Vec<CustomFieldDef>,
}

/// `employmentStatus`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmploymentStatus {
    Working = 0,
    Relieved = 1,
}

/// `accountStatus`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    NotRegistered = 0,
    Registered = 1,
    Disabled = 2,
}

/// `gender` (employees and candidates)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    NotSpecified = 0,
    Male = 1,
    Female = 2,
    Nonbinary = 3,
    PreferNotToRespond = 4,
}

/// `maritalStatus`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaritalStatus {
    None = 0,
    Single = 1,
    Married = 2,
    Widowed = 3,
    Separated = 4,
}

/// `exitStatus`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    None = 0,
    Initiated = 1,
    Completed = 2,
}

/// `exitType`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitType {
    None = 0,
    EmployeeResignation = 1,
    CompanyAction = 2,
}

/// `timeType`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeType {
    None = 0,
    FullTime = 1,
    PartTime = 2,
}

/// `workerType`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerType {
    None = 0,
    Permanent = 1,
    Contingent = 2,
}

/// Family member (`relations[]`).
#[derive(Debug, Clone)]
pub struct Relation {
    pub id: Guid,
    /// Keka's RelationType integer (0..7); the sandbox uses 1 father, 2 mother, 3 spouse, 4 child.
    pub relation_type: u8,
    pub gender: Gender,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub profession: Option<String>,
    pub mobile: Option<String>,
}

/// `educationDetails[]` on an employee.
#[derive(Debug, Clone)]
pub struct Education {
    pub id: Guid,
    pub degree: String,
    pub branch: String,
    pub university: String,
    pub cgpa: f64,
    pub year_of_joining: NaiveDate,
    pub year_of_completion: NaiveDate,
}

/// `experienceDetails[]` on an employee.
#[derive(Debug, Clone)]
pub struct Experience {
    pub id: Guid,
    pub company_name: String,
    pub job_title: String,
    pub location: String,
    pub description: Option<String>,
    pub date_of_joining: NaiveDate,
    pub date_of_relieving: NaiveDate,
}

/// A custom field value; `field` indexes [`Lookups::custom_fields`].
#[derive(Debug, Clone)]
pub struct CustomFieldValue {
    pub field: usize,
    pub value: String,
}

/// Indices into the [`Lookups`] tables for one employee.
#[derive(Debug, Clone, Copy)]
pub struct EmployeePolicies {
    pub leave_plan: usize,
    pub band: usize,
    pub pay_grade: usize,
    pub shift_policy: usize,
    pub weekly_off_policy: usize,
    pub capture_scheme: usize,
    pub tracking_policy: usize,
    pub expense_policy: usize,
    pub overtime_policy: Option<usize>,
}

/// One employee (an EmployeeProfile on the wire).
#[derive(Debug, Clone)]
pub struct Employee {
    pub id: Guid,
    pub employee_number: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub display_name: String,
    /// Work e-mail.
    pub email: String,
    pub personal_email: Option<String>,
    pub nationality: String,
    pub has_image: bool,
    /// Index into [`Tenant::job_titles`].
    pub job_title: usize,
    pub secondary_job_title: Option<String>,
    /// Index of the manager in [`Tenant::employees`]; `None` only for the CEO.
    pub reports_to: Option<usize>,
    pub dotted_line_manager: Option<usize>,
    /// Distance from the CEO (CEO = 0).
    pub depth: u32,
    /// Index into [`Lookups::contingent_types`] (contingent workers only).
    pub contingent_type: Option<usize>,
    pub time_type: TimeType,
    pub worker_type: WorkerType,
    pub is_private: bool,
    pub is_profile_complete: bool,
    pub marital_status: MaritalStatus,
    pub marriage_date: Option<NaiveDate>,
    pub gender: Gender,
    pub joining_date: NaiveDate,
    /// Days of experience before joining (added to tenure for `totalExperienceInDays`).
    pub prior_experience_days: i64,
    pub professional_summary: Option<String>,
    pub date_of_birth: NaiveDate,
    pub resignation_submitted_date: Option<NaiveDate>,
    pub exit_date: Option<NaiveDate>,
    pub employment_status: EmploymentStatus,
    pub account_status: AccountStatus,
    /// 0 NotInvited, 1 Invited.
    pub invitation_status: u8,
    pub exit_status: ExitStatus,
    pub exit_type: ExitType,
    pub exit_reason: Option<String>,
    pub work_phone: Option<String>,
    pub home_phone: Option<String>,
    pub mobile_phone: String,
    /// Keka BloodGroup integer (0 = not available).
    pub blood_group: u8,
    pub attendance_number: String,
    pub probation_end_date: Option<NaiveDate>,
    pub current_address: Address,
    pub permanent_address: Address,
    pub relations: Vec<Relation>,
    pub education: Vec<Education>,
    pub experience: Vec<Experience>,
    pub custom_fields: Vec<CustomFieldValue>,
    /// Indices into [`Tenant::groups`]: business unit, department, location and cost centre
    /// groups first (in that order), then any project teams and custom groups.
    pub groups: Vec<usize>,
    /// Index into [`Tenant::departments`].
    pub department: usize,
    /// Index into [`Tenant::locations`].
    pub location: usize,
    pub policies: EmployeePolicies,
    /// Internal "modified at" used by the `lastModified` filter (not part of EmployeeProfile).
    pub last_modified: NaiveDateTime,
}

impl Employee {
    /// Whether `probationEndDate` is after `today`.
    pub fn in_probation(&self, today: NaiveDate) -> bool {
        self.probation_end_date.is_some_and(|end| end > today)
    }

    /// Working, resignation submitted and exit date still ahead.
    pub fn in_notice_period(&self, today: NaiveDate) -> bool {
        self.employment_status == EmploymentStatus::Working
            && self.resignation_submitted_date.is_some()
            && self.exit_date.is_some_and(|exit| exit > today)
    }

    /// Whether the person was employed on `date` (joining date through exit date inclusive).
    pub fn employed_on(&self, date: NaiveDate) -> bool {
        date >= self.joining_date && self.exit_date.is_none_or(|exit| date <= exit)
    }
}

/// A leave type (`/time/leavetypes`).
#[derive(Debug, Clone)]
pub struct LeaveType {
    pub id: Guid,
    pub name: String,
    pub description: String,
    pub is_paid: bool,
    /// Days per year (0 for types that are not quota based).
    pub annual_quota: f64,
    /// Restricts the type to one gender (paternity / maternity).
    pub only_for: Option<Gender>,
}

/// LeaveRequestStatus
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveStatus {
    Pending = 0,
    Approved = 1,
    Rejected = 2,
    Cancelled = 3,
    InApprovalProcess = 4,
}

/// SessionType: 0 first half, 1 second half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    FirstHalf = 0,
    SecondHalf = 1,
}

/// A leave request (`/time/leaverequests`).
#[derive(Debug, Clone)]
pub struct LeaveRequest {
    pub id: Guid,
    /// Index into [`Tenant::employees`].
    pub employee: usize,
    /// Index into [`Tenant::leave_types`].
    pub leave_type: usize,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub from_session: Session,
    pub to_session: Session,
    /// Working days taken (0.5 steps).
    pub days: f64,
    pub requested_on: NaiveDateTime,
    pub last_action_taken_on: NaiveDateTime,
    pub note: Option<String>,
    pub status: LeaveStatus,
    pub cancel_reject_reason: Option<String>,
    /// The reason given with a request made through the API (Keka's request body has one; its
    /// listed item does not, so it is kept but not rendered). `None` for generated requests.
    pub reason: Option<String>,
    /// Index into [`Tenant::employees`] of who made a request through the API on the
    /// employee's behalf (`requestedBy`); `None` when the employee asked, or for the HR team's.
    pub requested_by: Option<usize>,
}

impl LeaveRequest {
    /// Whether `[from_date, to_date]` overlaps `[from, to]`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.from_date <= to && self.to_date >= from
    }
}

/// One leave-type balance of one employee.
#[derive(Debug, Clone)]
pub struct LeaveBalance {
    /// Index into [`Tenant::leave_types`].
    pub leave_type: usize,
    pub accrued: f64,
    pub consumed: f64,
    /// Days held by pending requests made through the API: gone from `available`, not yet
    /// `consumed` (which counts approved leave, as generation does). Generation holds nothing;
    /// for a type with a quota, `available` is `accrued - consumed - pending`.
    pub pending: f64,
    pub available: f64,
    pub annual_quota: f64,
}

/// JobStatus (interpretation of S11: 0 Draft, 1 Online, 2 Archived, 3 Offline, 4 Confidential).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Draft = 0,
    Online = 1,
    Archived = 2,
    Offline = 3,
    Confidential = 4,
}

/// A hiring-team member of a job.
#[derive(Debug, Clone)]
pub struct HiringTeamMember {
    /// Index into [`Tenant::employees`].
    pub employee: usize,
    /// JobRecruiterType integer (sandbox: 0 hiring manager, 1 recruiter, 2 interviewer).
    pub role: u8,
}

/// A job custom field (`customFields[]` on JobDTO).
#[derive(Debug, Clone)]
pub struct JobCustomField {
    pub name: String,
    pub required: bool,
    /// FieldType integer (1 TextBox, 3 DropdownMenu, 4 Checkbox, 9 Number, ...).
    pub field_type: u8,
    pub value: Option<String>,
}

/// A job opening (`/hire/jobs`).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Guid,
    pub title: String,
    pub description: String,
    pub openings: u32,
    /// Index into [`Tenant::departments`].
    pub department: usize,
    /// Keka sends jobType as a string.
    pub job_type: String,
    pub is_referral_enabled: bool,
    pub requisition: Option<Guid>,
    pub can_allow_internal_employees: bool,
    pub org_job_id: String,
    /// Indices into [`Tenant::locations`].
    pub locations: Vec<usize>,
    pub hiring_team: Vec<HiringTeamMember>,
    pub career_portal_url: String,
    pub target_hire_date: NaiveDate,
    pub status: JobStatus,
    pub can_list_on_careers_site: bool,
    pub created_on: NaiveDateTime,
    pub published_on: Option<NaiveDateTime>,
    pub experience: String,
    pub custom_fields: Vec<JobCustomField>,
    /// The job's pipeline stages (names are not exposed by Keka; only the ids are).
    pub stages: Vec<(Guid, String)>,
    pub last_modified: NaiveDateTime,
}

/// A reusable candidate tag.
#[derive(Debug, Clone)]
pub struct CandidateTag {
    pub id: Guid,
    pub name: String,
    pub description: String,
}

/// Candidate education entry.
#[derive(Debug, Clone)]
pub struct CandidateEducation {
    pub degree: String,
    pub branch: String,
    pub date_of_joining: NaiveDate,
    pub date_of_completion: NaiveDate,
    pub university: String,
    pub location: String,
}

/// Candidate experience entry.
#[derive(Debug, Clone)]
pub struct CandidateExperience {
    pub company_name: String,
    pub designation: String,
    pub is_currently_working: bool,
    pub date_of_joining: NaiveDate,
    pub date_of_relieving: Option<NaiveDate>,
    pub location: String,
}

/// Why and when a candidate was archived.
#[derive(Debug, Clone)]
pub struct ArchiveInfo {
    pub archived_on: NaiveDateTime,
    pub reason: String,
    /// Index into [`Tenant::employees`].
    pub archived_by: usize,
}

/// A job applicant (`/hire/jobs/{jobId}/candidates`).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Guid,
    /// Index into [`Tenant::jobs`].
    pub job: usize,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub gender: Gender,
    pub email: String,
    pub phone: String,
    pub education: Vec<CandidateEducation>,
    /// Indices into [`Tenant::candidate_tags`].
    pub tags: Vec<usize>,
    pub experience: Vec<CandidateExperience>,
    pub skills: Vec<String>,
    pub additional_details: Vec<(String, String)>,
    /// Index into the job's `stages`.
    pub stage: usize,
    pub moved_to_stage_on: NaiveDateTime,
    pub screening_answers: Vec<(String, String)>,
    pub applied_on: NaiveDateTime,
    /// Application status integer (0..4).
    pub application_status: u8,
    pub sourced_by: String,
    pub source_title: String,
    /// Recruiter (index into [`Tenant::employees`]) and when they were assigned.
    pub assigned: Option<(usize, NaiveDateTime)>,
    pub archived: Option<ArchiveInfo>,
    pub last_modified: NaiveDateTime,
}

/// A preboarding candidate (`/hire/preboarding/candidates`).
#[derive(Debug, Clone)]
pub struct PreboardingCandidate {
    pub id: Guid,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub email: String,
    pub country_code: String,
    pub mobile_number: String,
    /// Index into [`Tenant::job_titles`].
    pub job_title: usize,
    pub gender: Gender,
    /// Index into [`Tenant::departments`].
    pub department: usize,
    /// Index into [`Tenant::locations`].
    pub work_location: usize,
    pub expected_date_of_joining: NaiveDate,
    /// 0 Start, 1 CollectInfo, 2 VerifyInfo, 3 ManageOffer, 4 OfferAcceptance, 5 Hired.
    pub stage: u8,
    /// 0 Initiated, 1 Completed, 2 Cancelled, 3 Archived, 4 CandidatureRevoked, 5 MarkedAsNoShow.
    pub status: u8,
    pub last_modified: NaiveDateTime,
}

/// Inputs of generation that are not data.
#[derive(Debug, Clone, Copy)]
pub struct TenantParams {
    pub seed: u64,
    pub employees: usize,
    pub today: NaiveDate,
    pub location_ids_match_groups: bool,
}

/// The whole generated tenant. Tables reference each other by index.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub seed: u64,
    pub today: NaiveDate,
    pub company: Company,
    pub group_types: Vec<GroupType>,
    pub groups: Vec<Group>,
    pub departments: Vec<Department>,
    pub locations: Vec<Location>,
    pub job_titles: Vec<JobTitle>,
    pub lookups: Lookups,
    /// Sorted by employee number.
    pub employees: Vec<Employee>,
    /// The order `GET /hris/employees` lists employees in (indexes into `employees`). Keka's order is not creation
    /// order: a hire may land anywhere in it, which is what moves everyone after it to the next position.
    pub listing: Vec<usize>,
    pub leave_types: Vec<LeaveType>,
    /// Sorted by from date, then employee number.
    pub leave_requests: Vec<LeaveRequest>,
    /// Parallel to [`Tenant::employees`].
    pub leave_balances: Vec<Vec<LeaveBalance>>,
    pub jobs: Vec<Job>,
    pub candidate_tags: Vec<CandidateTag>,
    /// Grouped by job (in job order), then by application date.
    pub candidates: Vec<Candidate>,
    /// Sorted by expected date of joining.
    pub preboarding: Vec<PreboardingCandidate>,
    index: Index,
}

/// Lookup tables built after generation.
#[derive(Debug, Clone, Default)]
struct Index {
    employee_by_id: HashMap<Guid, usize>,
    /// Leave request indices of each employee, sorted by date.
    requests_by_employee: Vec<Vec<usize>>,
    job_by_id: HashMap<Guid, usize>,
    candidates_by_job: Vec<Range<usize>>,
}

impl Tenant {
    /// Generates a tenant. Deterministic in `params`.
    pub fn generate(params: TenantParams) -> Tenant {
        // Each stage gets its own stream so that, e.g., adding a field to hire data does not
        // reshuffle every employee.
        let stream = |n: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(n);
            rng
        };
        let org = org::generate(&mut stream(1), &params);
        let people = people::generate(&mut stream(2), &params, &org);
        let leave = leave::generate(&mut stream(3), &params, &org, &people.employees);
        let hire = hire::generate(&mut stream(4), &params, &org, &people.employees);

        let mut tenant = Tenant {
            seed: params.seed,
            today: params.today,
            company: org.company,
            group_types: org.group_types,
            groups: org.groups,
            departments: people.departments,
            locations: org.locations,
            job_titles: org.job_titles,
            lookups: org.lookups,
            listing: (0..people.employees.len()).collect(),
            employees: people.employees,
            leave_types: leave.types,
            leave_requests: leave.requests,
            leave_balances: leave.balances,
            jobs: hire.jobs,
            candidate_tags: hire.tags,
            candidates: hire.candidates,
            preboarding: hire.preboarding,
            index: Index::default(),
        };
        tenant.index = Index::build(&tenant);
        tenant
    }

    /// All employees, sorted by employee number.
    pub fn employees(&self) -> &[Employee] {
        &self.employees
    }

    /// Index of the employee with this id.
    pub fn employee_index(&self, id: Guid) -> Option<usize> {
        self.index.employee_by_id.get(&id).copied()
    }

    /// The employee with this id.
    pub fn employee(&self, id: Guid) -> Option<&Employee> {
        self.employee_index(id).map(|i| &self.employees[i])
    }

    /// The CEO (the only employee without a manager).
    pub fn root(&self) -> Option<&Employee> {
        self.employees.iter().find(|e| e.reports_to.is_none())
    }

    /// Leave requests of one employee (by index), sorted by date.
    pub fn leave_requests_of(&self, employee: usize) -> impl Iterator<Item = &LeaveRequest> {
        self.index.requests_by_employee.get(employee).into_iter().flatten().map(|&i| &self.leave_requests[i])
    }

    /// Index of the job with this id.
    pub fn job_index(&self, id: Guid) -> Option<usize> {
        self.index.job_by_id.get(&id).copied()
    }

    /// Candidates of one job (by index).
    pub fn candidates_of(&self, job: usize) -> &[Candidate] {
        self.index.candidates_by_job.get(job).map_or(&[][..], |range| &self.candidates[range.clone()])
    }

    /// The department group, business unit group, etc. of an employee.
    pub fn employee_group(&self, employee: &Employee, kind: SystemGroupType) -> Option<&Group> {
        employee.groups.iter().map(|&g| &self.groups[g]).find(|g| g.kind == kind)
    }
}

impl Index {
    fn build(t: &Tenant) -> Index {
        let employee_by_id = t.employees.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        let mut requests_by_employee = vec![Vec::new(); t.employees.len()];
        for (i, r) in t.leave_requests.iter().enumerate() {
            requests_by_employee[r.employee].push(i);
        }
        let job_by_id = t.jobs.iter().enumerate().map(|(i, j)| (j.id, i)).collect();
        let mut candidates_by_job = vec![0..0; t.jobs.len()];
        let mut start = 0;
        while start < t.candidates.len() {
            let job = t.candidates[start].job;
            let end = start + t.candidates[start..].iter().take_while(|c| c.job == job).count();
            candidates_by_job[job] = start..end;
            start = end;
        }
        Index { employee_by_id, requests_by_employee, job_by_id, candidates_by_job }
    }
}

/// Random helpers shared by the generators.
mod util {
    use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
    use rand::Rng;
    use rand::seq::IndexedRandom;

    /// Picks from a non-empty slice.
    pub(super) fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
        items.choose(rng).expect("non-empty pool")
    }

    /// Picks an index with probability proportional to `weights`.
    pub(super) fn weighted<R: Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = rng.random::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// `date + days` (days may be negative).
    pub(super) fn shift(date: NaiveDate, days: i64) -> NaiveDate {
        if days >= 0 {
            date.checked_add_days(Days::new(days.unsigned_abs()))
        } else {
            date.checked_sub_days(Days::new(days.unsigned_abs()))
        }
        .expect("date in range")
    }

    /// A uniformly random date in `[from, to]` (returns `from` if the range is empty).
    pub(super) fn date_between<R: Rng + ?Sized>(rng: &mut R, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days();
        if span <= 0 {
            return from;
        }
        shift(from, rng.random_range(0..=span))
    }

    /// The date at a random office-hours time.
    pub(super) fn at_office_time<R: Rng + ?Sized>(rng: &mut R, date: NaiveDate) -> NaiveDateTime {
        let secs = rng.random_range(9 * 3600..20 * 3600);
        date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).expect("valid time"))
    }

    /// Lowercase ASCII letters and digits only (for e-mail local parts).
    pub(super) fn slug(name: &str) -> String {
        name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
    }

    /// `n` random decimal digits.
    pub(super) fn digits<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
    }

    /// Years between two dates (whole years).
    pub(super) fn years_between(from: NaiveDate, to: NaiveDate) -> i64 {
        (to - from).num_days() / 365
    }
}
