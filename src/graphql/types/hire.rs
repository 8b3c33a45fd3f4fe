//! Keka Hire: `Job`, `Candidate`, `PreboardingCandidate`.

use std::sync::Arc;

use crate::graphql::access_control::{PII_SCOPE, RequireScope};
use crate::graphql::scalars::{Date, DateTime};
use async_graphql::Json;
use async_graphql::{Context, ID, Object, Result};

use super::employee::{Employee, full_name};
use super::enums::{GroupKind, JobStatus, PreboardingStage, PreboardingStatus};
use super::org::{Group, Office, groups_of_kind};
use crate::graphql::connection::{OffsetConnection, RelayArgs, connection_from_slice};
use crate::graphql::context::{graph, loaders};
use crate::graphql::error::graphql_error;
use crate::graphql::lists;
use crate::keka::models as keka;

pub(crate) async fn find_job(ctx: &Context<'_>, id: &str) -> Result<Option<Job>> {
    let jobs = graph(ctx).keka.jobs(None).await.map_err(graphql_error)?;
    Ok(jobs.iter().find(|job| job.id == id).cloned().map(|job| Job(Arc::new(job))))
}

async fn department_named(ctx: &Context<'_>, name: Option<&str>) -> Result<Option<Group>> {
    let Some(name) = name else { return Ok(None) };
    let departments = groups_of_kind(ctx, Some(GroupKind::Department)).await?;
    Ok(departments.into_iter().find(|group| group.name_is(name)))
}

/// An opening in Keka Hire.
#[derive(Clone)]
pub struct Job(pub Arc<keka::Job>);

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }

    /// Keka's raw `status` number, for values this schema does not name yet.
    async fn status_code(&self) -> Option<i64> {
        self.0.status.map(keka::JobStatus::code)
    }

    /// How many people the job should hire.
    async fn openings(&self) -> Option<i32> {
        match &self.0.no_of_openings {
            Some(serde_json::Value::Number(number)) => number.as_i64().and_then(|n| i32::try_from(n).ok()),
            Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// The department's name as Keka Hire records it.
    async fn department_name(&self) -> Option<&str> {
        self.0.department_name.as_deref()
    }

    /// The hiring department (matched by name to Keka's department groups).
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Group>> {
        department_named(ctx, self.0.department_name.as_deref()).await
    }

    /// The offices the job is based at (matched by name, then city, to Keka's locations).
    async fn offices(&self, ctx: &Context<'_>) -> Result<Vec<Office>> {
        let locations = lists::locations(ctx).await?;
        let mut offices = Vec::new();
        for place in &self.0.job_locations {
            let found = locations
                .iter()
                .find(|location| location.name.is_some() && location.name == place.name)
                .or_else(|| {
                    locations.iter().find(|location| {
                        place.city.is_some()
                            && location.address.as_ref().and_then(|address| address.city.as_ref())
                                == place.city.as_ref()
                    })
                });
            if let Some(location) = found
                && !offices.iter().any(|office: &Office| office.0.id == location.id)
            {
                offices.push(Office(location.clone()));
            }
        }
        Ok(offices)
    }

    /// The employees on the hiring team.
    async fn hiring_team(&self, ctx: &Context<'_>) -> Result<Vec<Employee>> {
        let ids: Vec<String> = self.0.hiring_team.iter().filter_map(|member| member.identifier.clone()).collect();
        let found = loaders(ctx)?.employees.load_many(ids.iter().cloned()).await.map_err(graphql_error)?;
        Ok(ids.iter().filter_map(|id| found.get(id).cloned().map(Employee)).collect())
    }

    /// Where candidates apply.
    async fn career_portal_url(&self) -> Option<&str> {
        self.0.career_portal_url.as_deref()
    }

    async fn target_hire_date(&self) -> Option<Date> {
        self.0.target_hire_date.map(Date::from)
    }

    async fn created_on(&self) -> Option<DateTime> {
        self.0.created_on.map(DateTime::from)
    }

    async fn published_on(&self) -> Option<DateTime> {
        self.0.published_on.map(DateTime::from)
    }

    /// The job's applicants, in Keka's order (`archived: true` for the archived ones).
    async fn candidates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] archived: bool,
    ) -> Result<OffsetConnection<Candidate>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        let candidates = graph(ctx).keka.candidates(&self.0.id, archived).await.map_err(graphql_error)?;
        Ok(connection_from_slice(
            &candidates,
            &args,
            |candidate| candidate.id.as_str(),
            |candidate| Candidate { model: Arc::new(candidate.clone()), job_id: self.0.id.clone() },
        ))
    }

    /// The record as Keka sent it, for fields this schema does not name yet.
    async fn raw(&self) -> Option<Json<serde_json::Value>> {
        self.0.raw.json().map(Json)
    }
}

/// Someone who applied to a job.
#[derive(Clone)]
pub struct Candidate {
    model: Arc<keka::Candidate>,
    job_id: String,
}

impl Candidate {
    pub fn new(model: Arc<keka::Candidate>, job_id: String) -> Self {
        Self { model, job_id }
    }
}

#[Object]
impl Candidate {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    async fn first_name(&self) -> Option<&str> {
        self.model.first_name.as_deref()
    }

    async fn middle_name(&self) -> Option<&str> {
        self.model.middle_name.as_deref()
    }

    async fn last_name(&self) -> Option<&str> {
        self.model.last_name.as_deref()
    }

    /// First and last name.
    async fn display_name(&self) -> Option<String> {
        full_name(self.model.first_name.as_deref(), self.model.last_name.as_deref())
    }

    async fn email(&self) -> Option<&str> {
        self.model.email.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.model.phone.as_deref()
    }

    /// The job applied to.
    async fn job(&self, ctx: &Context<'_>) -> Result<Option<Job>> {
        find_job(ctx, &self.job_id).await
    }

    /// Keka's id of the hiring stage the candidate is in (Keka does not expose stage names).
    async fn stage_id(&self) -> Option<&str> {
        self.model.job_application_details.as_ref().and_then(|details| details.job_hiring_stage_id.as_deref())
    }

    /// When the candidate reached the current stage.
    async fn moved_to_stage_on(&self) -> Option<DateTime> {
        self.model.job_application_details.as_ref().and_then(|details| details.moved_to_stage_on).map(DateTime::from)
    }

    /// Keka's application status, as Keka sent it (its values are undocumented).
    async fn status(&self) -> Option<String> {
        self.model.job_application_details.as_ref().and_then(|details| details.status.as_ref()).map(json_text)
    }

    async fn applied_on(&self) -> Option<DateTime> {
        self.model.job_application_details.as_ref().and_then(|details| details.applied_on).map(DateTime::from)
    }

    /// Where the candidate came from (job board, referral…).
    async fn source(&self) -> Option<&str> {
        self.model.job_application_details.as_ref().and_then(|details| details.source_title.as_deref())
    }

    /// Tags recruiters put on the candidate.
    async fn tags(&self) -> Vec<String> {
        self.model.candidate_tags.iter().filter_map(|tag| tag.name.clone()).collect()
    }

    /// Whether the candidate has been archived.
    async fn archived(&self) -> bool {
        self.model
            .archived_details
            .as_ref()
            .is_some_and(|details| !details.is_null() && details.as_object().is_none_or(|map| !map.is_empty()))
    }

    /// The record as Keka sent it, for fields this schema does not name yet. Personal data.
    #[graphql(requires_scopes = "read:employee_pii", guard = "RequireScope(PII_SCOPE)")]
    async fn raw(&self) -> Option<Json<serde_json::Value>> {
        self.model.raw.json().map(Json)
    }
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A hire who accepted (or is being made) an offer and is going through preboarding.
#[derive(Clone)]
pub struct PreboardingCandidate(pub Arc<keka::PreboardingCandidate>);

#[Object]
impl PreboardingCandidate {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
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

    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.0.mobile_number.as_deref()
    }

    async fn stage(&self) -> PreboardingStage {
        self.0.stage.into()
    }

    async fn status(&self) -> PreboardingStatus {
        self.0.status.into()
    }

    /// The planned first day.
    async fn expected_date_of_joining(&self) -> Option<Date> {
        self.0.expected_date_of_joining.map(Date::from)
    }

    /// Job title they will join with (Keka sends an id or a name; ids are resolved to names).
    async fn job_title(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(value) = self.0.job_title.as_deref() else { return Ok(None) };
        let titles = graph(ctx).keka.job_titles().await.map_err(graphql_error)?;
        Ok(Some(
            titles
                .iter()
                .find(|title| title.id == value)
                .and_then(|title| title.name.clone())
                .unwrap_or_else(|| value.to_owned()),
        ))
    }

    /// The department they will join (by id or name).
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Group>> {
        let Some(value) = self.0.department.as_deref() else { return Ok(None) };
        let departments = groups_of_kind(ctx, Some(GroupKind::Department)).await?;
        Ok(departments.into_iter().find(|group| group.key() == value || group.name_is(value)))
    }

    /// The office they will work from (by id or name).
    async fn office(&self, ctx: &Context<'_>) -> Result<Option<Office>> {
        let Some(value) = self.0.work_location.as_deref() else { return Ok(None) };
        let locations = lists::locations(ctx).await?;
        let by_name = || {
            locations
                .iter()
                .find(|location| location.name.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(value)))
        };
        Ok(locations.get(value).or_else(by_name).cloned().map(Office))
    }
}
