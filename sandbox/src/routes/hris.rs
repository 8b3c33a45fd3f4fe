//! Core HR routes (§3.1–3.2): employees, employee search, groups, group types,
//! departments, locations and job titles.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::HashSet;

use super::ListRequest;
use crate::ids::Guid;
use crate::query::QueryParams;
use crate::respond::{self, ApiError};
use crate::state::AppState;
use crate::tenant::{Employee, EmploymentStatus};
use crate::wire;

/// The filters of `GET /hris/employees`, all ANDed.
struct EmployeeFilter {
    ids: Option<HashSet<Guid>>,
    numbers: Option<Vec<String>>,
    statuses: Option<Vec<EmploymentStatus>>,
    in_probation: Option<bool>,
    in_notice_period: Option<bool>,
    last_modified: Option<NaiveDateTime>,
    /// Lower-cased search key.
    search: Option<String>,
    today: NaiveDate,
}

impl EmployeeFilter {
    fn parse(q: &QueryParams, today: NaiveDate) -> Result<Self, ApiError> {
        let statuses = q
            .list("employmentStatus")
            .map(|items| {
                items
                    .iter()
                    .map(|s| match s.to_ascii_lowercase().as_str() {
                        "working" | "0" => Ok(EmploymentStatus::Working),
                        "relieved" | "1" => Ok(EmploymentStatus::Relieved),
                        _ => Err(ApiError::bad_request(format!("The value '{s}' is not valid for employmentStatus."))),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let search = match q.get("searchKey") {
            Some(key) if key.chars().count() < 3 => {
                return Err(ApiError::bad_request("searchKey must be at least 3 characters long."));
            }
            Some(key) => Some(key.to_lowercase()),
            None => None,
        };
        Ok(Self {
            ids: q.guids("employeeIds"),
            numbers: q.list("employeeNumbers").map(|items| items.iter().map(|s| s.to_ascii_lowercase()).collect()),
            statuses,
            in_probation: q.bool("inProbation")?,
            in_notice_period: q.bool("inNoticePeriod")?,
            last_modified: q.date_time("lastModified")?,
            search,
            today,
        })
    }

    fn matches(&self, e: &Employee) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
            && self.numbers.as_ref().is_none_or(|nums| nums.iter().any(|n| n.eq_ignore_ascii_case(&e.employee_number)))
            && self.statuses.as_ref().is_none_or(|s| s.contains(&e.employment_status))
            && self.in_probation.is_none_or(|want| e.in_probation(self.today) == want)
            && self.in_notice_period.is_none_or(|want| e.in_notice_period(self.today) == want)
            && self.last_modified.is_none_or(|since| e.last_modified >= since)
            && self.search.as_ref().is_none_or(|key| {
                [&e.first_name, &e.last_name, &e.display_name]
                    .iter()
                    .any(|name| name.to_lowercase().contains(key.as_str()))
            })
    }
}

/// `GET /hris/employees`
pub(super) async fn list_employees(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let filter = EmployeeFilter::parse(&req.query, t.today)?;
    let matches: Vec<&Employee> =
        t.listing.iter().map(|&index| &t.employees[index]).filter(|e| filter.matches(e)).collect();
    Ok(req.envelope(&app, &matches, |e| wire::employee(t, e)))
}

/// `GET /hris/employees/{id}`
pub(super) async fn get_employee(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = app.tenant();
    let t = &*tenant;
    let employee =
        id.parse::<Guid>().ok().and_then(|id| t.employee(id)).ok_or_else(|| ApiError::not_found("Employee"))?;
    Ok(respond::single(wire::employee(t, employee)))
}

/// Digits of a phone number without a trunk prefix, for format-insensitive comparison.
fn phone_digits(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').to_owned()
}

/// Same number, allowing one side to carry a country code the other lacks.
fn same_phone(a: &str, b: &str) -> bool {
    let (a, b) = (phone_digits(a), phone_digits(b));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 8 && long.ends_with(&short)
}

/// `POST /hris/employees/search` with `{"workEmail": ...}` or `{"workPhone": ...}`.
/// Property names match case-insensitively, like ASP.NET's JSON binding.
pub(super) async fn search_employees(State(app): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))?;
    let object = value.as_object().ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    let field = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let email = field("workEmail");
    let phone = field("workPhone");
    if email.is_none() && phone.is_none() {
        return Err(ApiError::bad_request("Either workEmail or workPhone is required."));
    }
    let tenant = app.tenant();
    let t = &*tenant;
    let found: Vec<_> = t
        .employees
        .iter()
        .filter(|e| {
            email.is_none_or(|m| e.email.eq_ignore_ascii_case(m))
                && phone.is_none_or(|p| e.work_phone.as_deref().is_some_and(|w| same_phone(w, p)))
        })
        .map(|e| wire::employee(t, e))
        .collect();
    Ok(respond::single(found))
}

/// `GET /hris/groups`
pub(super) async fn list_groups(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let type_ids = req.query.guids("groupTypeIds");
    let system_types = req.query.ints("systemGroupTypes")?;
    let since = req.query.date_time("lastModified")?;
    let groups: Vec<_> = t
        .groups
        .iter()
        .filter(|g| {
            type_ids.as_ref().is_none_or(|ids| ids.contains(&t.group_types[g.group_type].id))
                && system_types.as_ref().is_none_or(|types| types.contains(&i64::from(g.kind.code())))
                && since.is_none_or(|s| g.last_modified >= s)
        })
        .collect();
    Ok(req.envelope(&app, &groups, |g| wire::group(t, g)))
}

/// `GET /hris/grouptypes`
pub(super) async fn list_group_types(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    Ok(req.envelope(&app, &tenant.group_types, wire::group_type))
}

/// `GET /hris/departments`
pub(super) async fn list_departments(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let ids = req.query.guids("departmentIds");
    let since = req.query.date_time("lastModified")?;
    let departments: Vec<_> = t
        .departments
        .iter()
        .filter(|d| ids.as_ref().is_none_or(|ids| ids.contains(&d.id)) && since.is_none_or(|s| d.last_modified >= s))
        .collect();
    Ok(req.envelope(&app, &departments, |d| wire::department(t, d)))
}

/// `GET /hris/locations`
pub(super) async fn list_locations(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let since = req.query.date_time("lastModified")?;
    let tenant = app.tenant();
    let locations: Vec<_> = tenant.locations.iter().filter(|l| since.is_none_or(|s| l.last_modified >= s)).collect();
    Ok(req.envelope(&app, &locations, |l| wire::location(l)))
}

/// `GET /hris/jobtitles`
pub(super) async fn list_job_titles(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let since = req.query.date_time("lastModified")?;
    let tenant = app.tenant();
    let titles: Vec<_> = tenant.job_titles.iter().filter(|j| since.is_none_or(|s| j.last_modified >= s)).collect();
    Ok(req.envelope(&app, &titles, |j| wire::job_title(j)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_matching_ignores_formatting_and_country_code() {
        assert!(same_phone("+91 80 4123 5678", "08041235678"));
        assert!(same_phone("+91 80 4123 5678", "80-4123-5678"));
        assert!(!same_phone("+91 80 4123 5678", "5678"));
        assert!(!same_phone("+91 80 4123 5678", "+91 80 4123 5679"));
    }
}
