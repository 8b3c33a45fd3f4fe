//! `Employee`: a person in Keka, and the edges of the org graph that start at them.

use std::sync::Arc;

use async_graphql::{Context, ID, InputType, Json, Object, Result, ScalarType, SimpleObject, Value};
use chrono::{Days, NaiveDate};

use crate::graphql::access_control::{PII_SCOPE, RequireScope};
use crate::graphql::scalars::Date;

use super::custom_field::CustomField;
use super::directory::DirectoryAccount;
use super::enums::{EmploymentStatus, Gender, GroupKind, TimeType, TimeoffStatus, WorkerType};
use super::org::{Address, Group, Office, find_group, office_of};
use super::time::{AttendanceDay, LeaveBalance, TimeoffRequest};
use crate::graphql::connection::{OffsetConnection, RelayArgs, ValidArgs, connection_from_slice};
use crate::graphql::context::{graph, loaders, snapshot};
use crate::graphql::error::{bad_user_input, graphql_error};
use crate::graphql::lists;
use crate::graphql::loaders::EmployeeRange;
use crate::graphql::plain::{Plain, PlainObject, plain_fields, text};
use crate::keka::is_working;
use crate::keka::models::{self as keka, SystemGroupType};

/// Longest date range a single field may ask for.
pub const MAX_RANGE_DAYS: i64 = 366;

/// A person in the company, working or relieved.
#[derive(Clone)]
pub struct Employee(pub Arc<keka::Employee>);

impl Employee {
    /// Loads an employee by Keka id through the request's batch loader; `None` if Keka has no such id.
    pub async fn load(ctx: &Context<'_>, id: &str) -> Result<Option<Self>> {
        // Cached people skip the loader (and its batching delay); only misses are batched.
        if let Some(cached) = graph(ctx).keka.cached_employee(id) {
            return Ok(Some(Self(cached)));
        }
        let found = loaders(ctx)?.employees.load_one(id.to_owned()).await.map_err(graphql_error)?;
        Ok(found.map(Self))
    }

    /// Loads an employee by work email through the request's email loader; `None` if nobody has it.
    pub async fn load_by_email(ctx: &Context<'_>, email: &str) -> Result<Option<Self>> {
        let key = email.trim().to_lowercase();
        let found = loaders(ctx)?.employees_by_email.load_one(key).await.map_err(graphql_error)?;
        Ok(found.map(Self))
    }

    async fn load_ref(ctx: &Context<'_>, reference: Option<&keka::EmployeeRef>) -> Result<Option<Self>> {
        let Some(reference) = reference else { return Ok(None) };
        if only_id_selected(ctx) {
            // `manager { id }` (an org chart's edges) needs no lookup: the reference has the id.
            return Ok(Some(Self(Arc::new(keka::Employee::from_reference(reference)))));
        }
        Self::load(ctx, &reference.id).await
    }

    fn name_to_show(&self) -> Option<String> {
        self.0.display_name.clone().or_else(|| full_name(self.0.first_name.as_deref(), self.0.last_name.as_deref()))
    }

    fn job_title_text(&self) -> Option<&str> {
        self.0.job_title.as_ref().and_then(|title| title.title.as_deref())
    }

    pub fn in_probation_on(&self, today: NaiveDate) -> bool {
        is_working(&self.0) && self.0.probation_end_date.is_some_and(|end| end.date() > today)
    }

    pub fn in_notice_period_on(&self, today: NaiveDate) -> bool {
        is_working(&self.0)
            && self.0.resignation_submitted_date.is_some()
            && self.0.exit_date.is_some_and(|exit| exit.date() >= today)
    }
}

/// A connection over people from the org snapshot, leavers left out unless `include_relieved`.
pub(crate) fn people_connection(
    mut people: Vec<Arc<keka::Employee>>,
    include_relieved: bool,
    args: &ValidArgs,
) -> OffsetConnection<Plain<Employee>> {
    if !include_relieved {
        people.retain(|employee| is_working(employee));
    }
    connection_from_slice(&people, args, |employee| employee.id.as_str(), |employee| Plain(Employee(employee.clone())))
}

/// "First Last" from whichever parts exist.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [first, last].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// True when the field's selection asks for nothing but `id` (and `__typename`).
fn only_id_selected(ctx: &Context<'_>) -> bool {
    ctx.look_ahead()
        .selection_fields()
        .iter()
        .all(|field| field.selection_set().all(|child| matches!(child.name(), "id" | "__typename")))
}

/// Checks and defaults a date range argument pair.
pub fn date_range(
    from: Option<Date>,
    to: Option<Date>,
    default_from: NaiveDate,
    default_to: NaiveDate,
) -> Result<(NaiveDate, NaiveDate)> {
    let (from, to) = (from.map_or(default_from, |date| date.0), to.map_or(default_to, |date| date.0));
    if from > to {
        return Err(bad_user_input(format!("`from` ({from}) must not be after `to` ({to})")));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(bad_user_input(format!("the range from {from} to {to} is longer than {MAX_RANGE_DAYS} days")));
    }
    Ok((from, to))
}

fn days(n: u64) -> Days {
    Days::new(n)
}

/// The argument-free fields read straight from Keka's record; personal-data fields are left to their guard.
impl PlainObject for Employee {
    plain_fields! {
        fn plain_field(&self, _ctx, field) {
            "id" => Value::String(self.0.id.clone()),
            "employeeNumber" => text(self.0.employee_number.as_deref()),
            "displayName" => text(self.name_to_show().as_deref()),
            "firstName" => text(self.0.first_name.as_deref()),
            "middleName" => text(self.0.middle_name.as_deref()),
            "lastName" => text(self.0.last_name.as_deref()),
            "email" => text(self.0.email.as_deref()),
            "jobTitle" => text(self.job_title_text()),
            "employmentStatus" => EmploymentStatus::from(self.0.employment_status).to_value(),
            "joiningDate" => date_value(self.0.joining_date),
            "exitDate" => date_value(self.0.exit_date),
            "resignationDate" => date_value(self.0.resignation_submitted_date),
            "probationEndDate" => date_value(self.0.probation_end_date),
            "timeType" => TimeType::from(self.0.time_type).to_value(),
            "workerType" => WorkerType::from(self.0.worker_type).to_value(),
        }
    }
}

/// A date field's value.
fn date_value(date: Option<keka::KekaDate>) -> Value {
    date.map_or(Value::Null, |date| ScalarType::to_value(&Date::from(date)))
}

/// A person.
#[Object]
impl Employee {
    /// Keka's id for the employee (a GUID).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The company's employee number, e.g. `EMP-0042`.
    async fn employee_number(&self) -> Option<&str> {
        self.0.employee_number.as_deref()
    }

    /// The name shown across Keka.
    async fn display_name(&self) -> Option<String> {
        self.name_to_show()
    }

    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }

    async fn middle_name(&self) -> Option<&str> {
        self.0.middle_name.as_deref()
    }

    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }

    /// Work email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Job title, e.g. "Senior Engineer".
    async fn job_title(&self) -> Option<&str> {
        self.job_title_text()
    }

    /// Whether the person works here now or has left.
    async fn employment_status(&self) -> EmploymentStatus {
        self.0.employment_status.into()
    }

    /// First working day.
    async fn joining_date(&self) -> Option<Date> {
        self.0.joining_date.map(Date::from)
    }

    /// Last working day: in the past for people who left, in the future for people serving notice.
    async fn exit_date(&self) -> Option<Date> {
        self.0.exit_date.map(Date::from)
    }

    /// When the person handed in their resignation, if they did.
    async fn resignation_date(&self) -> Option<Date> {
        self.0.resignation_submitted_date.map(Date::from)
    }

    /// Still within the probation period today.
    async fn in_probation(&self, ctx: &Context<'_>) -> bool {
        self.in_probation_on(graph(ctx).today.date())
    }

    /// When probation ends (or ended).
    async fn probation_end_date(&self) -> Option<Date> {
        self.0.probation_end_date.map(Date::from)
    }

    /// Has resigned and is working out the notice period.
    async fn in_notice_period(&self, ctx: &Context<'_>) -> bool {
        self.in_notice_period_on(graph(ctx).today.date())
    }

    /// Full-time or part-time.
    async fn time_type(&self) -> TimeType {
        self.0.time_type.into()
    }

    /// Permanent or contingent.
    async fn worker_type(&self) -> WorkerType {
        self.0.worker_type.into()
    }

    async fn gender(&self) -> Gender {
        self.0.gender.into()
    }

    /// Profile picture URLs by size (`50x50`, `200x200`…).
    async fn photos(&self) -> Vec<Photo> {
        self.0
            .image
            .as_ref()
            .map(|image| {
                image.thumbs.iter().map(|(size, url)| Photo { size: size.clone(), url: url.clone() }).collect()
            })
            .unwrap_or_default()
    }

    // Personal-data fields below: each `requires_scopes` marker must name `PII_SCOPE` literally (async-graphql
    // takes a string literal there), and the published SDL is rewritten from it.
    /// Personal email address. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn personal_email(&self) -> Option<&str> {
        self.0.personal_email.as_deref()
    }

    /// Work phone number. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn work_phone(&self) -> Option<&str> {
        self.0.work_phone.as_deref()
    }

    /// Mobile phone number. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn mobile_phone(&self) -> Option<&str> {
        self.0.mobile_phone.as_deref()
    }

    /// Date of birth. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn date_of_birth(&self) -> Option<Date> {
        self.0.date_of_birth.map(Date::from)
    }

    /// Home address. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn current_address(&self) -> Option<Address> {
        self.0.current_address.clone().map(Address::from)
    }

    /// Their Keeper account: the one account of the configured node holding their work email (case-insensitive);
    /// null if none. Needs a Keeper directory (`DIRECTORY_NOT_CONFIGURED` otherwise).
    async fn directory_account(&self, ctx: &Context<'_>) -> Result<Option<DirectoryAccount>> {
        super::directory::account_of_employee(ctx, &self.0).await
    }

    /// The person they report to (Keka's `reportsTo`).
    async fn manager(&self, ctx: &Context<'_>) -> Result<Option<Plain<Employee>>> {
        Ok(Self::load_ref(ctx, self.0.reports_to.as_ref()).await?.map(Plain))
    }

    /// Their manager's manager.
    async fn l2_manager(&self, ctx: &Context<'_>) -> Result<Option<Plain<Employee>>> {
        Ok(Self::load_ref(ctx, self.0.l2_manager.as_ref()).await?.map(Plain))
    }

    /// A secondary, dotted-line manager.
    async fn dotted_line_manager(&self, ctx: &Context<'_>) -> Result<Option<Plain<Employee>>> {
        Ok(Self::load_ref(ctx, self.0.dotted_line_manager.as_ref()).await?.map(Plain))
    }

    /// The people who report to this person, in Keka's order. Leavers are left out unless `includeRelieved`.
    async fn direct_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] include_relieved: bool,
    ) -> Result<OffsetConnection<Plain<Employee>>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        Ok(people_connection(snapshot(ctx).await?.direct_reports(&self.0.id), include_relieved, &args))
    }

    /// Groups the person belongs to (department, location, business unit, cost centre, teams, custom groups), optionally of one kind.
    async fn groups(&self, ctx: &Context<'_>, kind: Option<GroupKind>) -> Result<Vec<Plain<Group>>> {
        let selection = ctx.look_ahead();
        if selection.field("type").exists() || selection.field("kind").exists() {
            // Fetched now, the types let each group answer at once (see `plain`). A failure is the `type`
            // field's to report: the groups then take the normal path, which meets the same memoised error.
            let _ = lists::group_types(ctx).await;
        }
        let mut groups = Vec::with_capacity(self.0.groups.len());
        for membership in &self.0.groups {
            let group = find_group(ctx, &membership.id).await?.unwrap_or_else(|| Group::from_membership(membership));
            if kind.is_none_or(|kind| {
                group.kind_hint() == Some(kind) || GroupKind::from_keka(membership.group_type, None) == kind
            }) {
                groups.push(Plain(group));
            }
        }
        Ok(groups)
    }

    /// The custom fields on the person's profile (T-shirt size, badge number, cost-centre code…), in Keka's order.
    async fn custom_fields(&self) -> Vec<CustomField> {
        self.0.custom_fields.iter().cloned().map(CustomField).collect()
    }

    /// One custom field by title, ignoring case; null if the person's profile has no such field.
    async fn custom_field(&self, title: String) -> Option<CustomField> {
        self.0.custom_fields.iter().find(|field| CustomField::is_titled(field, &title)).cloned().map(CustomField)
    }

    /// Their department (Keka's department group).
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Plain<Group>>> {
        Ok(self.group_of(ctx, SystemGroupType::Department).await?.map(Plain))
    }

    /// Their business unit.
    async fn business_unit(&self, ctx: &Context<'_>) -> Result<Option<Plain<Group>>> {
        Ok(self.group_of(ctx, SystemGroupType::BusinessUnit).await?.map(Plain))
    }

    /// Their cost centre.
    async fn cost_centre(&self, ctx: &Context<'_>) -> Result<Option<Plain<Group>>> {
        Ok(self.group_of(ctx, SystemGroupType::CostCenter).await?.map(Plain))
    }

    /// The office they work from (Keka's location).
    async fn office(&self, ctx: &Context<'_>) -> Result<Option<Office>> {
        match self.0.group_of_type(SystemGroupType::OrgLocation) {
            Some(membership) => office_of(ctx, membership).await,
            None => Ok(None),
        }
    }

    /// Time-off requests overlapping `from`..`to` (default: 30 days either side of today), optionally of some statuses.
    async fn timeoff_requests(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        status: Option<Vec<TimeoffStatus>>,
    ) -> Result<Vec<TimeoffRequest>> {
        let today = graph(ctx).today.date();
        let (from, to) = date_range(from, to, today - days(30), today + days(30))?;
        let key = EmployeeRange { employee_id: self.0.id.clone(), from, to };
        let requests = loaders(ctx)?.timeoff.load_one(key).await.map_err(graphql_error)?.unwrap_or_default();
        Ok(requests
            .iter()
            .map(|request| TimeoffRequest(request.clone()))
            .filter(|request| status.as_ref().is_none_or(|wanted| wanted.contains(&request.status_value())))
            .collect())
    }

    /// Leave balances by leave type.
    async fn leave_balances(&self, ctx: &Context<'_>) -> Result<Vec<LeaveBalance>> {
        let balances =
            loaders(ctx)?.balances.load_one(self.0.id.clone()).await.map_err(graphql_error)?.unwrap_or_default();
        Ok(balances.iter().cloned().map(LeaveBalance).collect())
    }

    /// Daily attendance (first in, last out, hours) from `from` to `to` (default: the last 7 days).
    async fn attendance(&self, ctx: &Context<'_>, from: Option<Date>, to: Option<Date>) -> Result<Vec<AttendanceDay>> {
        let today = graph(ctx).today.date();
        let (from, to) = date_range(from, to, today - days(6), today)?;
        let key = EmployeeRange { employee_id: self.0.id.clone(), from, to };
        let days = loaders(ctx)?.attendance.load_one(key).await.map_err(graphql_error)?.unwrap_or_default();
        Ok(days.iter().cloned().map(AttendanceDay).collect())
    }

    /// The record as Keka sent it, for fields this schema does not name yet. Personal data. Read when asked for
    /// (one Keka request per 50 people not read lately), not kept for the whole org.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn raw(&self, ctx: &Context<'_>) -> Result<Option<Json<serde_json::Value>>> {
        let record = loaders(ctx)?.employee_records.load_one(self.0.id.clone()).await.map_err(graphql_error)?;
        Ok(record.and_then(|record| record.json()).map(Json))
    }
}

impl Employee {
    async fn group_of(&self, ctx: &Context<'_>, kind: SystemGroupType) -> Result<Option<Group>> {
        let Some(membership) = self.0.group_of_type(kind) else { return Ok(None) };
        Ok(Some(find_group(ctx, &membership.id).await?.unwrap_or_else(|| Group::from_membership(membership))))
    }
}

/// A profile picture at one size.
#[derive(SimpleObject)]
pub struct Photo {
    /// e.g. `200x200`.
    pub size: String,
    pub url: String,
}
