//! The Query root: entry points into the graph. Validates input, then delegates to the types.

use std::collections::HashSet;
use std::sync::Arc;

use super::scalars::{Date, DateTime};
use async_graphql::{Context, ID, InputObject, Object, Result};

use super::connection::{OffsetConnection, RelayArgs, ValidArgs, connection_from_slice};
use super::context::{directory, graph, snapshot};
use super::error::{bad_user_input, graphql_error};
use super::lists;
use super::plain::Plain;
use super::types::custom_field::CustomField;
use super::types::directory::{
    AccessReview, DirectoryAccount, DirectoryAccountStatus, DirectoryTeam, accounts_connection, find_account,
};
use super::types::employee::{Employee, date_range};
use super::types::enums::{EmploymentStatus, GroupKind, JobStatus, PreboardingStage, PreboardingStatus, TimeoffStatus};
use super::types::hire::{Candidate, Job, PreboardingCandidate, find_job};
use super::types::org::{Group, GroupType, Office, find_group, groups_of_kind};
use super::types::time::{TimeoffRequest, TimeoffType, find_timeoff_type};
use crate::keka::models::Employee as KekaEmployee;
use crate::keka::{EmployeeFilter, PageRequest, PreboardingFilter};

/// Which employees to list. Filters combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct EmployeesFilter {
    /// Only these employment statuses (e.g. `[WORKING]`).
    pub employment_status: Option<Vec<EmploymentStatus>>,
    /// Only people in (true) or out of (false) probation.
    pub in_probation: Option<bool>,
    /// Only people serving (true) or not serving (false) notice.
    pub in_notice_period: Option<bool>,
    /// Only records changed in Keka since this instant.
    pub modified_since: Option<DateTime>,
    /// First, last or display name contains this text (at least 3 characters).
    pub search: Option<String>,
    /// Only members of this group (department, team, business unit…).
    pub group_id: Option<ID>,
    /// Only people working from this office.
    pub office_id: Option<ID>,
    /// Only people whose custom field has this value (answered from the org snapshot, at no Keka cost).
    pub custom_field: Option<CustomFieldFilter>,
}

/// A custom field's value to look for.
#[derive(Debug, Clone, InputObject)]
pub struct CustomFieldFilter {
    /// The field's title, ignoring case (e.g. `T-Shirt Size`).
    pub title: String,
    /// The value, ignoring case: the whole value, or one item of a multi-select field.
    pub value: String,
}

pub struct Query;

#[Object]
impl Query {
    /// An employee by Keka id; null if there is none.
    async fn employee(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Plain<Employee>>> {
        Ok(Employee::load(ctx, &id).await?.map(Plain))
    }

    /// An employee by work email (case-insensitive); null if there is none.
    async fn employee_by_email(&self, ctx: &Context<'_>, email: String) -> Result<Option<Employee>> {
        if !email.contains('@') {
            return Err(bad_user_input("`email` must be an email address"));
        }
        Employee::load_by_email(ctx, &email).await
    }

    /// Employees, page by page, in Keka's order.
    async fn employees(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<EmployeesFilter>,
    ) -> Result<OffsetConnection<Plain<Employee>>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        let filter = filter.unwrap_or_default();
        if let Some(search) = &filter.search
            && search.trim().chars().count() < 3
        {
            return Err(bad_user_input("`search` needs at least 3 characters"));
        }
        if let Some(custom) = &filter.custom_field
            && (custom.title.trim().is_empty() || custom.value.trim().is_empty())
        {
            return Err(bad_user_input("`customField` needs a title and a value"));
        }
        if filter.group_id.is_some() || filter.office_id.is_some() || filter.custom_field.is_some() {
            return employees_from_snapshot(ctx, &filter, &args).await;
        }
        let keka_filter = keka_filter(&filter);
        if keka_filter == EmployeeFilter::default()
            && let Some(snapshot) = graph(ctx).snapshot.fresh()
        {
            // Everyone is already in memory, in Keka's order: no need to ask again.
            return Ok(connection_from_slice(snapshot.employees(), &args, employee_id, |employee| {
                Plain(Employee(employee.clone()))
            }));
        }
        match employees_from_keka_pages(ctx, &keka_filter, &args).await {
            Err(error) if keka_filter == EmployeeFilter::default() => match graph(ctx).snapshot.stale_if_error() {
                // Keka is failing: everyone as of the last snapshot, within the stale-if-error bound.
                Some(snapshot) => Ok(connection_from_slice(snapshot.employees(), &args, employee_id, |employee| {
                    Plain(Employee(employee.clone()))
                })),
                None => Err(error),
            },
            answer => answer,
        }
    }

    /// A group by id; null if there is none.
    async fn group(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Group>> {
        find_group(ctx, &id).await
    }

    /// Groups, optionally of one kind (e.g. every `DEPARTMENT`).
    async fn groups(&self, ctx: &Context<'_>, kind: Option<GroupKind>) -> Result<Vec<Group>> {
        groups_of_kind(ctx, kind).await
    }

    /// The kinds of groups configured in Keka.
    async fn group_types(&self, ctx: &Context<'_>) -> Result<Vec<GroupType>> {
        let types = graph(ctx).keka.group_types().await.map_err(graphql_error)?;
        Ok(types.iter().cloned().map(|group_type| GroupType(Arc::new(group_type))).collect())
    }

    /// Leave types (casual, sick…).
    async fn timeoff_types(&self, ctx: &Context<'_>) -> Result<Vec<TimeoffType>> {
        let types = graph(ctx).keka.leave_types().await.map_err(graphql_error)?;
        Ok(types.iter().cloned().map(TimeoffType).collect())
    }

    // Each argument is a GraphQL argument: the count is the API's, not a design smell.
    #[allow(clippy::too_many_arguments)]
    /// Who is out: time-off requests overlapping `from`..`to` (default: today), by start date.
    async fn timeoff_requests(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        status: Option<Vec<TimeoffStatus>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OffsetConnection<TimeoffRequest>> {
        let context = graph(ctx);
        let args = RelayArgs::new(first, after, last, before).validate(context.limits.max_page_size)?;
        let today = context.today.date();
        let (from, to) = date_range(from, to, today, today)?;
        let requests = context.keka.leave_requests(&[], from, to).await.map_err(graphql_error)?;
        let mut matching: Vec<TimeoffRequest> = requests
            .iter()
            .map(|request| TimeoffRequest(request.clone()))
            .filter(|request| request.overlaps(from, to))
            .filter(|request| status.as_ref().is_none_or(|wanted| wanted.contains(&request.status_value())))
            .collect();
        matching.sort_by(|a, b| (a.0.from_date, &a.0.id).cmp(&(b.0.from_date, &b.0.id)));
        Ok(connection_from_slice(&matching, &args, |request| request.0.id.as_str(), Clone::clone))
    }

    /// An office by id; null if there is none.
    async fn office(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Office>> {
        Ok(lists::locations(ctx).await?.get(&id).cloned().map(Office))
    }

    /// Every office (Keka's locations).
    async fn offices(&self, ctx: &Context<'_>) -> Result<Vec<Office>> {
        Ok(lists::locations(ctx).await?.iter().cloned().map(Office).collect())
    }

    /// A job by id; null if there is none.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Job>> {
        find_job(ctx, &id).await
    }

    /// Jobs in Keka Hire, optionally of some statuses.
    async fn jobs(&self, ctx: &Context<'_>, status: Option<Vec<JobStatus>>) -> Result<Vec<Job>> {
        let jobs = graph(ctx).keka.jobs(None).await.map_err(graphql_error)?;
        Ok(jobs
            .iter()
            .map(|job| Job(Arc::new(job.clone())))
            .filter(|job| status.as_ref().is_none_or(|wanted| wanted.contains(&JobStatus::from(job.0.status))))
            .collect())
    }

    // ---- Federation entities: `_entities` resolves representations through these. ----
    // A failure to reach Keka nulls only that representation (with a coded error) instead of
    // the whole `_entities` list, which is what returning `Err` would do.

    /// Accounts of the configured Keeper node, in Keeper's order, optionally of one status. Null with
    /// `DIRECTORY_NOT_CONFIGURED` when no Keeper node is configured.
    async fn directory_accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<DirectoryAccountStatus>,
    ) -> Result<Option<OffsetConnection<DirectoryAccount>>> {
        accounts_connection(ctx, RelayArgs::new(first, after, last, before), status).await.map(Some)
    }

    /// A Keeper account by id; null if the node has none.
    async fn directory_account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<DirectoryAccount>> {
        find_account(ctx, &id).await
    }

    /// The teams of the configured Keeper node (empty, with an error, when none is configured).
    async fn directory_teams(&self, ctx: &Context<'_>) -> Vec<DirectoryTeam> {
        match directory(ctx).await {
            Ok(directory) => directory.teams().iter().cloned().map(DirectoryTeam).collect(),
            Err(error) => {
                ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
                Vec::new()
            }
        }
    }

    /// The offboarding report: Keka's employees against the Keeper node's accounts, as of `asOf` (default today).
    /// Costs one org snapshot and one directory snapshot when cold, nothing when warm.
    async fn access_review(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<Option<AccessReview>> {
        let as_of = as_of.map_or_else(|| graph(ctx).today.date(), |date| date.0);
        AccessReview::build(ctx, as_of).await.map(Some)
    }

    #[graphql(entity)]
    async fn find_directory_account_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<DirectoryAccount> {
        entity(ctx, find_account(ctx, &id).await)
    }

    /// Federation: an employee by Keka id.
    #[graphql(entity)]
    async fn find_employee_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<Plain<Employee>> {
        entity(ctx, Employee::load(ctx, &id).await).map(Plain)
    }

    /// Federation: an employee by work email (case-insensitive), for subgraphs that know people by email.
    #[graphql(entity)]
    async fn find_employee_by_email(&self, ctx: &Context<'_>, email: String) -> Option<Employee> {
        entity(ctx, Employee::load_by_email(ctx, &email).await)
    }

    /// Federation: a group by id.
    #[graphql(entity)]
    async fn find_group_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<Group> {
        entity(ctx, find_group(ctx, &id).await)
    }

    /// Federation: a group type by id.
    #[graphql(entity)]
    async fn find_group_type_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<GroupType> {
        let found = lists::group_types(ctx).await.map(|types| types.get(&id).cloned().map(GroupType));
        entity(ctx, found)
    }

    /// Federation: a leave type by id.
    #[graphql(entity)]
    async fn find_timeoff_type_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<TimeoffType> {
        entity(ctx, find_timeoff_type(ctx, &id).await)
    }

    /// Federation: a time-off request by id (looked up among requests within 180 days of today).
    #[graphql(entity)]
    async fn find_timeoff_request_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<TimeoffRequest> {
        let today = graph(ctx).today.date();
        let around = (today - chrono::Days::new(180), today + chrono::Days::new(180));
        let found = graph(ctx).keka.leave_request(&id, around).await.map_err(graphql_error);
        entity(ctx, found.map(|request| request.map(TimeoffRequest)))
    }

    /// Federation: an office by id.
    #[graphql(entity)]
    async fn find_office_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<Office> {
        entity(ctx, self.office(ctx, id).await)
    }

    /// Federation: a job by id.
    #[graphql(entity)]
    async fn find_job_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<Job> {
        entity(ctx, find_job(ctx, &id).await)
    }

    /// Federation: a candidate by id.
    #[graphql(entity)]
    async fn find_candidate_by_id(&self, ctx: &Context<'_>, id: ID) -> Option<Candidate> {
        let found = graph(ctx).keka.candidate(&id).await.map_err(graphql_error);
        entity(ctx, found.map(|found| found.map(|(job_id, candidate)| Candidate::new(candidate, job_id))))
    }

    /// People going through preboarding, optionally at one stage or status.
    async fn preboarding_candidates(
        &self,
        ctx: &Context<'_>,
        stage: Option<PreboardingStage>,
        status: Option<PreboardingStatus>,
    ) -> Result<Vec<PreboardingCandidate>> {
        let candidates =
            graph(ctx).keka.preboarding_candidates(&PreboardingFilter::default()).await.map_err(graphql_error)?;
        Ok(candidates
            .iter()
            .map(|candidate| PreboardingCandidate(Arc::new(candidate.clone())))
            .filter(|candidate| stage.is_none_or(|stage| PreboardingStage::from(candidate.0.stage) == stage))
            .filter(|candidate| status.is_none_or(|status| PreboardingStatus::from(candidate.0.status) == status))
            .collect())
    }
}

/// An entity's result: found, `None` for unknown, and on failure `None` plus a coded error at its position.
fn entity<T>(ctx: &Context<'_>, found: Result<Option<T>>) -> Option<T> {
    match found {
        Ok(found) => found,
        Err(error) => {
            ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
            None
        }
    }
}

fn keka_filter(filter: &EmployeesFilter) -> EmployeeFilter {
    EmployeeFilter {
        employment_status: filter.employment_status.iter().flatten().filter_map(|status| status.to_keka()).collect(),
        in_probation: filter.in_probation,
        in_notice_period: filter.in_notice_period,
        modified_since: filter.modified_since.map(|since| since.0),
        search_key: filter.search.as_ref().map(|search| search.trim().to_owned()),
        ..EmployeeFilter::default()
    }
}

/// Serves a window from exactly the Keka pages that cover it. Pages are fixed at the client's
/// page size (200), so every window maps to the same cached pages.
async fn employees_from_keka_pages(
    ctx: &Context<'_>,
    filter: &EmployeeFilter,
    args: &ValidArgs,
) -> Result<OffsetConnection<Plain<Employee>>> {
    let keka = &graph(ctx).keka;
    let page_size = keka.client().config().page_size.clamp(1, PageRequest::MAX_SIZE) as usize;
    // A cursor far past the end must not overflow the page number (the page then simply comes back empty).
    let page_of = |position: usize| u32::try_from(position / page_size).unwrap_or(u32::MAX).saturating_add(1);
    // With a cursor, the probe is the page holding the cursor's item, where it is looked for by id (see below).
    let probe_number = match (&args.after_id, args.after, &args.before_id, args.before) {
        (Some(_), Some(at), _, _) | (None, _, Some(_), Some(at)) => page_of(at),
        _ => args.start_hint().map_or(1, page_of),
    };
    let probe =
        keka.employees_page(filter, PageRequest::new(probe_number, page_size as u32)).await.map_err(graphql_error)?;
    // A change that moved the cursor's item within its page is followed; one that moved it to another page falls
    // back to its position. (Without a filter, a fresh org snapshot answers instead, which finds it anywhere.)
    let first_on_probe = (probe.number as usize).saturating_sub(1) * page_size;
    let args = &args
        .resolved(|id| probe.items.iter().position(|employee| employee.id == id).map(|index| first_on_probe + index));
    let total = probe.total_records.map_or_else(
        || (probe.number as usize).saturating_sub(1) * page_size + probe.items.len() + usize::from(probe.has_next),
        |total| total as usize,
    );
    let window = args.window(total);
    let mut nodes = Vec::with_capacity(window.len());
    if !window.is_empty() {
        let numbers: Vec<u32> = (page_of(window.start)..=page_of(window.end - 1)).collect();
        let pages = futures::future::try_join_all(numbers.iter().map(|number| {
            let probe = probe.clone();
            async move {
                if *number == probe.number {
                    Ok(probe)
                } else {
                    keka.employees_page(filter, PageRequest::new(*number, page_size as u32)).await
                }
            }
        }))
        .await
        .map_err(graphql_error)?;
        for position in window.start..window.end {
            let page = &pages[(page_of(position) - numbers[0]) as usize];
            if let Some(employee) = page.items.get(position % page_size) {
                nodes.push((employee.id.clone(), Plain(Employee(employee.clone()))));
            }
        }
    }
    let window = crate::graphql::connection::Window { end: window.start + nodes.len(), ..window };
    Ok(window.into_connection(nodes))
}

/// Group and office filters are not Keka filters: answer from the org snapshot.
async fn employees_from_snapshot(
    ctx: &Context<'_>,
    filter: &EmployeesFilter,
    args: &ValidArgs,
) -> Result<OffsetConnection<Plain<Employee>>> {
    let snapshot = snapshot(ctx).await?;
    let today = graph(ctx).today.date();
    let mut people: Vec<Arc<KekaEmployee>> = match (&filter.group_id, &filter.office_id) {
        (Some(group_id), _) => snapshot.group_members(group_id),
        (None, _) => snapshot.employees().to_vec(),
    };
    if let Some(wanted) = &filter.custom_field {
        people.retain(|employee| {
            employee.custom_fields.iter().any(|field| {
                CustomField::is_titled(field, &wanted.title) && CustomField::has_value(field, &wanted.value)
            })
        });
    }
    if let Some(office_id) = &filter.office_id {
        let office = Query.office(ctx, office_id.clone()).await?;
        let group_id = match office {
            Some(office) => office.group_id(ctx).await?,
            None => None,
        };
        let members: HashSet<String> =
            group_id.map(|id| snapshot.group_members(&id).iter().map(|e| e.id.clone()).collect()).unwrap_or_default();
        people.retain(|employee| members.contains(&employee.id));
    }
    if let Some(statuses) = &filter.employment_status {
        people.retain(|employee| statuses.contains(&EmploymentStatus::from(employee.employment_status)));
    }
    if let Some(in_probation) = filter.in_probation {
        people.retain(|employee| Employee(employee.clone()).in_probation_on(today) == in_probation);
    }
    if let Some(in_notice) = filter.in_notice_period {
        people.retain(|employee| Employee(employee.clone()).in_notice_period_on(today) == in_notice);
    }
    if let Some(search) = &filter.search {
        let needle = search.trim().to_lowercase();
        people.retain(|employee| {
            [&employee.first_name, &employee.last_name, &employee.display_name]
                .into_iter()
                .flatten()
                .any(|name| name.to_lowercase().contains(&needle))
        });
    }
    if let Some(DateTime(since)) = filter.modified_since {
        // Keka does not say when a record changed, so ask it which ones did.
        let changed = graph(ctx)
            .keka
            .all_employees(&EmployeeFilter { modified_since: Some(since), ..EmployeeFilter::default() })
            .await
            .map_err(graphql_error)?;
        let changed: HashSet<&str> = changed.iter().map(|employee| employee.id.as_str()).collect();
        people.retain(|employee| changed.contains(employee.id.as_str()));
    }
    Ok(connection_from_slice(&people, args, employee_id, |employee| Plain(Employee(employee.clone()))))
}

/// An employee's id, naming it in cursors.
pub(super) fn employee_id(employee: &Arc<KekaEmployee>) -> &str {
    &employee.id
}
