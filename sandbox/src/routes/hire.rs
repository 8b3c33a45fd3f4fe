//! Hire routes (§3.5): jobs, job candidates, preboarding candidates.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;

use super::ListRequest;
use crate::ids::Guid;
use crate::respond::{self, ApiError};
use crate::state::AppState;
use crate::wire;

/// `GET /hire/jobs` (`JobStatus`, `lastModified`, paging); array or envelope per config.
pub(super) async fn list_jobs(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let statuses = req.query.ints("JobStatus")?;
    let since = req.query.date_time("lastModified")?;
    let jobs: Vec<_> = t
        .jobs
        .iter()
        .filter(|j| {
            statuses.as_ref().is_none_or(|s| s.contains(&(j.status as i64)))
                && since.is_none_or(|s| j.last_modified >= s)
        })
        .collect();
    Ok(req.hire_list(&app, &jobs, |j| wire::job(t, j)))
}

/// `GET /hire/jobs/{jobId}/candidates` (`isArchived` default false, `lastModified`, paging).
pub(super) async fn list_candidates(
    State(app): State<Arc<AppState>>,
    Path(job_id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let job = job_id.parse::<Guid>().ok().and_then(|id| t.job_index(id)).ok_or_else(|| ApiError::not_found("Job"))?;
    let archived = req.query.bool("isArchived")?.unwrap_or(false);
    let since = req.query.date_time("lastModified")?;
    let candidates: Vec<_> = t
        .candidates_of(job)
        .iter()
        .filter(|c| c.archived.is_some() == archived && since.is_none_or(|s| c.last_modified >= s))
        .collect();
    Ok(req.hire_list(&app, &candidates, |c| wire::candidate(t, c)))
}

/// `GET /hire/preboarding/candidates` (`candidateIds`, `stage`, `status`, `lastModified`,
/// paging) in its own `{items, page, ...}` shape, ordered by expected joining date.
pub(super) async fn list_preboarding(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let req = ListRequest::parse(&uri)?;
    let tenant = app.tenant();
    let t = &*tenant;
    let ids = req.query.guids("candidateIds");
    let stages = req.query.ints("stage")?;
    let statuses = req.query.ints("status")?;
    let since = req.query.date_time("lastModified")?;
    let matches: Vec<_> = t
        .preboarding
        .iter()
        .filter(|p| {
            ids.as_ref().is_none_or(|ids| ids.contains(&p.id))
                && stages.as_ref().is_none_or(|s| s.contains(&i64::from(p.stage)))
                && statuses.as_ref().is_none_or(|s| s.contains(&i64::from(p.status)))
                && since.is_none_or(|s| p.last_modified >= s)
        })
        .collect();
    let items = req.paging.slice(&matches).iter().map(|p| wire::preboarding(t, p)).collect();
    Ok(respond::paged_result(req.paging, items, matches.len(), "expectedDateOfJoining", "asc"))
}
