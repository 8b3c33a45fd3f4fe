//! Typed Keka endpoints over one private pipeline: token → rate-limit slot → request →
//! classify → retry → decode. One `KekaClient` (cheap to clone) serves the whole process.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::KekaConfig;
use super::auth::{TokenSource, describe_reqwest_error};
use super::error::KekaError;
use super::models::{
    AttendanceDay, Candidate, Department, Employee, EmployeeLeaveBalances, EmployeeRecord, EmploymentStatus, ErrorBody,
    Group, GroupFilter, GroupType, ItemsPage, Job, JobStatus, JobTitle, LeaveApplication, LeaveRequest, LeaveType,
    ListEnvelope, Location, NewRecord, PreboardingCandidate, PreboardingStage, PreboardingStatus, RawDictionaries,
    Record, Recorded, SingleEnvelope, attach_raw,
};
use super::pagination::{Page, PageRequest, date_windows, walk_pages};
use crate::store::Store;
use crate::upstream::retry::{self, AttemptOutcome, RetryPolicy};
use crate::upstream::{Attempt, Budget, GaveUp, Pacer, RequestContext, UpstreamMetrics};

/// Filters of `GET /hris/employees`. Unset filters are not sent (Keka reads `inProbation=false`
/// as "not in probation", not as "any").
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EmployeeFilter {
    pub employee_ids: Vec<String>,
    pub employee_numbers: Vec<String>,
    pub employment_status: Vec<EmploymentStatus>,
    pub in_probation: Option<bool>,
    pub in_notice_period: Option<bool>,
    pub modified_since: Option<DateTime<Utc>>,
    /// First, last or display name; Keka wants at least 3 characters.
    pub search_key: Option<String>,
}

/// Filters of `GET /hire/preboarding/candidates`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PreboardingFilter {
    pub candidate_ids: Vec<String>,
    pub stage: Option<PreboardingStage>,
    pub status: Option<PreboardingStatus>,
}

#[derive(Clone)]
pub struct KekaClient {
    inner: Arc<Inner>,
    /// How long each GET's answer is shared with the fleet (with Redis).
    shared_for: Duration,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    tokens: TokenSource,
    pacer: Pacer,
    config: KekaConfig,
    /// Where GET answers are shared with the fleet (with Redis).
    store: Store,
    requests_sent: AtomicU64,
    metrics: Arc<UpstreamMetrics>,
    /// How records keep their raw JSON compactly (one zstd dictionary per kind of record).
    raw_dictionaries: RawDictionaries,
}

/// The `upstream` label of Keka's metrics.
pub(crate) const UPSTREAM: &str = "keka";

impl std::fmt::Debug for KekaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KekaClient").field("base_url", &self.inner.base_url).finish_non_exhaustive()
    }
}

/// One API call before it is sent.
struct Call {
    method: Method,
    /// Path below the API root, e.g. `hris/employees/123`.
    path: String,
    /// The route's name for logs and errors, e.g. `/hris/employees/{id}`: no ids, no secrets.
    endpoint: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
}

impl Call {
    fn get(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), endpoint, query: Vec::new(), body: None }
    }

    fn post(endpoint: &'static str, path: impl Into<String>, body: serde_json::Value) -> Self {
        Self { method: Method::POST, path: path.into(), endpoint, query: Vec::new(), body: Some(body) }
    }

    /// A call that changes Keka: sent again only when Keka surely did not apply it (see [`maybe_applied`]).
    fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    fn query_list(self, name: &'static str, values: &[String]) -> Self {
        if values.is_empty() { self } else { self.query(name, values.join(",")) }
    }

    /// The request as the fleet's answer cache knows it: method, path and query (no token, no secret).
    fn describe(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&self.query);
        format!("{} {}?{}", self.method, self.path, query.finish())
    }

    fn page(self, page: PageRequest) -> Self {
        self.query("pageNumber", page.number.to_string()).query("pageSize", page.size.to_string())
    }
}

impl KekaClient {
    pub fn new(config: KekaConfig) -> Result<Self, KekaError> {
        Self::with_metrics(config, Arc::default())
    }

    /// A client that counts its requests, waits, retries and token refreshes in `metrics`.
    pub fn with_metrics(config: KekaConfig, metrics: Arc<UpstreamMetrics>) -> Result<Self, KekaError> {
        Self::with_store(config, metrics, Store::Local, Duration::ZERO)
    }

    /// Like [`Self::with_metrics`], keeping its state in `store`: with Redis, the budget is the fleet's (one window
    /// per API key) and every GET's answer is shared with the fleet for `shared_for`.
    pub fn with_store(
        config: KekaConfig,
        metrics: Arc<UpstreamMetrics>,
        store: Store,
        shared_for: Duration,
    ) -> Result<Self, KekaError> {
        let budget =
            store.budget("keka", config.rate_limit_per_window, config.rate_limit_window + config.rate_limit_margin);
        Self::build(config, metrics, budget, store, shared_for)
    }

    fn build(
        config: KekaConfig,
        metrics: Arc<UpstreamMetrics>,
        budget: Arc<dyn Budget>,
        store: Store,
        shared_for: Duration,
    ) -> Result<Self, KekaError> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|error| KekaError::InvalidRequest(format!("cannot build the HTTP client: {error}")))?;
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_max: config.backoff_max,
            rate_limit_window: config.rate_limit_window,
            max_wait: config.max_rate_limit_wait,
        };
        let tokens = TokenSource::new(&config, http.clone(), retry, metrics.clone())?;
        let pacer = Pacer::new(UPSTREAM, budget, config.interactive_reserve, retry, metrics.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: config.base_url.as_str().trim_end_matches('/').to_owned(),
                http,
                tokens,
                pacer,
                config,
                store,
                requests_sent: AtomicU64::new(0),
                metrics,
                raw_dictionaries: RawDictionaries::default(),
            }),
            shared_for,
        })
    }

    /// This client, sharing the answers it fetches with the fleet for `ttl` (the caller's TTL for what it asks:
    /// a window of leave that closed months ago keeps longer than this week's).
    pub fn sharing_for(&self, ttl: Duration) -> Self {
        Self { inner: self.inner.clone(), shared_for: ttl }
    }

    /// What this client counts for `/metrics`.
    pub fn metrics(&self) -> &Arc<UpstreamMetrics> {
        &self.inner.metrics
    }

    pub fn config(&self) -> &KekaConfig {
        &self.inner.config
    }

    /// API requests sent to Keka so far, retries included (token requests excluded).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// Access tokens fetched so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.inner.tokens.tokens_fetched()
    }

    /// Obtains a token without calling the API: proves the credentials work (readiness).
    pub async fn check_credentials(&self) -> Result<(), KekaError> {
        self.inner.tokens.bearer().await.map(drop)
    }

    // ---- Core HR -------------------------------------------------------------------------

    /// One page of `GET /hris/employees`.
    pub async fn employees_page(
        &self,
        filter: &EmployeeFilter,
        page: PageRequest,
    ) -> Result<Page<Employee>, KekaError> {
        let call = employee_query(Call::get("/hris/employees", "hris/employees"), filter).page(page);
        self.envelope_page(call, page).await
    }

    /// Every employee matching `filter`, walking all pages.
    pub async fn all_employees(&self, filter: &EmployeeFilter) -> Result<Vec<Employee>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(|page| self.employees_page(filter, page), size).await
    }

    /// `GET /hris/employees/{id}`; `None` when Keka does not know the id.
    pub async fn employee(&self, id: &str) -> Result<Option<Employee>, KekaError> {
        let call = Call::get("/hris/employees/{id}", format!("hris/employees/{}", encode_segment(id)));
        match self.fetch::<SingleEnvelope<Employee>>(call).await {
            Ok(envelope) => Ok(envelope.data),
            Err(KekaError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Employees' records as Keka sent them, by id, through the same requests as [`Self::employees_by_ids`] (so the
    /// fleet's cache answers either). Unknown ids are simply absent.
    pub async fn employee_records(&self, ids: &[String]) -> Result<Vec<EmployeeRecord>, KekaError> {
        let ids = unique(ids);
        let chunk_size = self.inner.config.ids_per_request.clamp(1, PageRequest::MAX_SIZE as usize);
        let size = self.inner.config.page_size;
        let walks = ids.chunks(chunk_size).map(|chunk| {
            let filter = EmployeeFilter { employee_ids: chunk.to_vec(), ..EmployeeFilter::default() };
            async move {
                walk_pages(
                    |page| {
                        let call = employee_query(Call::get("/hris/employees", "hris/employees"), &filter).page(page);
                        self.envelope_page(call, page)
                    },
                    size,
                )
                .await
            }
        });
        let pages: Vec<Vec<EmployeeRecord>> = futures::future::try_join_all(walks).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// Employees by id through `employeeIds=`, in chunks that keep URLs short. Unknown ids are simply absent.
    pub async fn employees_by_ids(&self, ids: &[String]) -> Result<Vec<Employee>, KekaError> {
        let ids = unique(ids);
        let chunk_size = self.inner.config.ids_per_request.clamp(1, PageRequest::MAX_SIZE as usize);
        let filters: Vec<EmployeeFilter> = ids
            .chunks(chunk_size)
            .map(|chunk| EmployeeFilter { employee_ids: chunk.to_vec(), ..EmployeeFilter::default() })
            .collect();
        let pages: Vec<Vec<Employee>> =
            futures::future::try_join_all(filters.iter().map(|filter| self.all_employees(filter))).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// `POST /hris/employees/search` by work email. Keka has no email filter on the list.
    pub async fn employee_by_work_email(&self, email: &str) -> Result<Option<Employee>, KekaError> {
        let call = Call {
            method: Method::POST,
            path: "hris/employees/search".to_owned(),
            endpoint: "/hris/employees/search",
            query: Vec::new(),
            body: Some(serde_json::json!({ "workEmail": email })),
        };
        // The answer's `data` is undocumented: accept a list of matches or a single profile.
        let envelope = match self.fetch::<SingleEnvelope<OneOrMany<Employee>>>(call).await {
            Err(KekaError::NotFound { .. }) => return Ok(None),
            other => other?,
        };
        let wanted = email.trim();
        Ok(envelope
            .data
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .find(|employee| employee.email.as_deref().is_some_and(|found| found.trim().eq_ignore_ascii_case(wanted))))
    }

    pub async fn groups(&self, filter: &GroupFilter) -> Result<Vec<Group>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(
            |page| {
                let mut call = Call::get("/hris/groups", "hris/groups")
                    .query_list("groupTypeIds", &filter.group_type_ids)
                    .query_list(
                        "systemGroupTypes",
                        &filter.system_group_types.iter().map(|kind| kind.code().to_string()).collect::<Vec<_>>(),
                    );
                if let Some(since) = filter.last_modified {
                    call = call.query("lastModified", format_datetime(since.0));
                }
                self.envelope_page(call.page(page), page)
            },
            size,
        )
        .await
    }

    pub async fn group_types(&self) -> Result<Vec<GroupType>, KekaError> {
        self.walk_simple("/hris/grouptypes", "hris/grouptypes").await
    }

    /// Every department, or (`modified_since`) those changed since then.
    pub async fn departments(&self, modified_since: Option<DateTime<Utc>>) -> Result<Vec<Department>, KekaError> {
        self.walk_since("/hris/departments", "hris/departments", modified_since).await
    }

    /// Every location, or (`modified_since`) those changed since then.
    pub async fn locations(&self, modified_since: Option<DateTime<Utc>>) -> Result<Vec<Location>, KekaError> {
        self.walk_since("/hris/locations", "hris/locations", modified_since).await
    }

    /// Every job title, or (`modified_since`) those changed since then.
    pub async fn job_titles(&self, modified_since: Option<DateTime<Utc>>) -> Result<Vec<JobTitle>, KekaError> {
        self.walk_since("/hris/jobtitles", "hris/jobtitles", modified_since).await
    }

    // ---- Leave and attendance ------------------------------------------------------------

    pub async fn leave_types(&self) -> Result<Vec<LeaveType>, KekaError> {
        self.walk_simple("/time/leavetypes", "time/leavetypes").await
    }

    /// Leave requests overlapping `from..=to` (all employees when `employee_ids` is empty).
    /// Ranges over 90 days are split into windows; a request seen in two windows is kept once.
    pub async fn leave_requests(
        &self,
        employee_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LeaveRequest>, KekaError> {
        let windows = checked_windows(from, to)?;
        let size = self.inner.config.page_size;
        let mut seen = HashSet::new();
        let mut requests = Vec::new();
        for (start, end) in windows {
            let found = walk_pages(
                |page| {
                    let call = Call::get("/time/leaverequests", "time/leaverequests")
                        .query_list("employeeIds", employee_ids)
                        .query("from", format_date(start))
                        .query("to", format_date(end))
                        .page(page);
                    self.envelope_page(call, page)
                },
                size,
            )
            .await?;
            requests.extend(found.into_iter().filter(|request: &LeaveRequest| seen.insert(request.id.clone())));
        }
        Ok(requests)
    }

    /// Leave balances of the given employees (all when empty).
    pub async fn leave_balances(&self, employee_ids: &[String]) -> Result<Vec<EmployeeLeaveBalances>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(
            |page| {
                let call = Call::get("/time/leavebalance", "time/leavebalance")
                    .query_list("employeeIds", employee_ids)
                    .page(page);
                self.envelope_page(call, page)
            },
            size,
        )
        .await
    }

    /// Daily attendance summaries in `from..=to`, split into 90-day windows.
    pub async fn attendance(
        &self,
        employee_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceDay>, KekaError> {
        let size = self.inner.config.page_size;
        let mut days = Vec::new();
        for (start, end) in checked_windows(from, to)? {
            days.extend(
                walk_pages(
                    |page| {
                        let call = Call::get("/time/attendance", "time/attendance")
                            .query_list("employeeIds", employee_ids)
                            .query("from", format_date(start))
                            .query("to", format_date(end))
                            .page(page);
                        self.envelope_page(call, page)
                    },
                    size,
                )
                .await?,
            );
        }
        Ok(days)
    }

    // ---- Hire ----------------------------------------------------------------------------

    pub async fn jobs_page(&self, status: Option<JobStatus>, page: PageRequest) -> Result<Page<Job>, KekaError> {
        let mut call = Call::get("/hire/jobs", "hire/jobs");
        if let Some(status) = status {
            call = call.query("JobStatus", status.code().to_string());
        }
        self.hire_page(call.page(page), page).await
    }

    pub async fn jobs(&self, status: Option<JobStatus>) -> Result<Vec<Job>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(|page| self.jobs_page(status, page), size).await
    }

    /// A page of a job's candidates (`archived` selects the archived ones instead of the active ones).
    pub async fn candidates_page(
        &self,
        job_id: &str,
        archived: bool,
        page: PageRequest,
    ) -> Result<Page<Candidate>, KekaError> {
        let call =
            Call::get("/hire/jobs/{jobId}/candidates", format!("hire/jobs/{}/candidates", encode_segment(job_id)))
                .query("isArchived", archived.to_string())
                .page(page);
        self.hire_page(call, page).await
    }

    pub async fn candidates(&self, job_id: &str, archived: bool) -> Result<Vec<Candidate>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(|page| self.candidates_page(job_id, archived, page), size).await
    }

    pub async fn preboarding_candidates(
        &self,
        filter: &PreboardingFilter,
    ) -> Result<Vec<PreboardingCandidate>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(
            |page| async move {
                let mut call = Call::get("/hire/preboarding/candidates", "hire/preboarding/candidates")
                    .query_list("candidateIds", &filter.candidate_ids);
                if let Some(stage) = filter.stage {
                    call = call.query("stage", stage.code().to_string());
                }
                if let Some(status) = filter.status {
                    call = call.query("status", status.code().to_string());
                }
                let items: ItemsPage<PreboardingCandidate> = self.fetch(call.page(page)).await?;
                Ok(Page::from_items_page(items, page))
            },
            size,
        )
        .await
    }

    // ---- Pages and walks -----------------------------------------------------------------

    async fn envelope_page<T: DeserializeOwned + Record>(
        &self,
        call: Call,
        page: PageRequest,
    ) -> Result<Page<T>, KekaError> {
        let envelope: ListEnvelope<T> = self.fetch(call).await?;
        Ok(Page::from_envelope(envelope, page))
    }

    /// Hire lists come as a bare array or as the envelope, depending on the source: accept both.
    async fn hire_page<T: DeserializeOwned + Record>(
        &self,
        call: Call,
        page: PageRequest,
    ) -> Result<Page<T>, KekaError> {
        match self.fetch::<ArrayOrEnvelope<T>>(call).await? {
            ArrayOrEnvelope::Array(items) => Ok(Page::from_array(items, page)),
            ArrayOrEnvelope::Envelope(envelope) => Ok(Page::from_envelope(envelope, page)),
        }
    }

    async fn walk_simple<T: DeserializeOwned + Record>(
        &self,
        endpoint: &'static str,
        path: &'static str,
    ) -> Result<Vec<T>, KekaError> {
        self.walk_since(endpoint, path, None).await
    }

    /// Walks a list, or with `modified_since` only what changed since then (Keka's `lastModified`).
    async fn walk_since<T: DeserializeOwned + Record>(
        &self,
        endpoint: &'static str,
        path: &'static str,
        modified_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<T>, KekaError> {
        let size = self.inner.config.page_size;
        walk_pages(
            |page| {
                let mut call = Call::get(endpoint, path);
                if let Some(since) = modified_since {
                    call = call.query("lastModified", format_datetime(since));
                }
                self.envelope_page(call.page(page), page)
            },
            size,
        )
        .await
    }

    // ---- Writes --------------------------------------------------------------------------

    /// `POST /time/leaverequests`: files a leave request and returns its id. Keka refusing it (overlap, balance, a
    /// closed period) is [`KekaError::Upstream`] with Keka's messages; a send whose fate is unknown (timed out,
    /// broken off, 5xx, or a success without an id) is [`KekaError::Unconfirmed`], never sent again.
    pub async fn request_leave(&self, application: &LeaveApplication) -> Result<String, KekaError> {
        // Named apart from the GET of the same path, so metrics and logs tell reads from writes.
        const ENDPOINT: &str = "POST /time/leaverequests";
        let body = serde_json::to_value(application)
            .map_err(|error| KekaError::InvalidRequest(format!("cannot encode a leave request: {error}")))?;
        let envelope: SingleEnvelope<NewRecord> = self.fetch(Call::post(ENDPOINT, "time/leaverequests", body)).await?;
        if envelope.succeeded == Some(false) {
            return Err(KekaError::Upstream { endpoint: ENDPOINT.to_owned(), status: 200, errors: envelope.errors.0 });
        }
        envelope.data.map(NewRecord::id).filter(|id| !id.trim().is_empty()).ok_or_else(|| KekaError::Unconfirmed {
            endpoint: ENDPOINT.to_owned(),
            reason: "Keka answered success without the new request's id".to_owned(),
        })
    }

    // ---- The pipeline --------------------------------------------------------------------

    async fn fetch<T: DeserializeOwned + Recorded>(&self, call: Call) -> Result<T, KekaError> {
        // A child of the GraphQL request's span: one per call, retries included.
        let span = tracing::info_span!("keka_call", endpoint = call.endpoint);
        if call.method != Method::GET {
            let body = self.send(&call).instrument(span).await?;
            return decode_recorded(call.endpoint, &body, &self.inner.raw_dictionaries);
        }
        // Only an answer that decodes is shared; the replica that fetched it keeps what it decoded.
        let mut decoded = None;
        let fetch = async {
            // Boxed: an HTTP exchange is a large future, and this one also waits inside the store's.
            let body = Box::pin(self.send(&call)).await?;
            decoded = Some(decode_recorded::<T>(call.endpoint, &body, &self.inner.raw_dictionaries)?);
            Ok::<_, KekaError>(body)
        };
        let body = self.inner.store.answer(&call.describe(), self.shared_for, fetch).instrument(span).await?;
        match decoded {
            Some(value) => Ok(value),
            None => decode_recorded(call.endpoint, &body, &self.inner.raw_dictionaries),
        }
    }

    async fn send(&self, call: &Call) -> Result<bytes::Bytes, KekaError> {
        let inner = &*self.inner;
        let url = format!("{}/{}", inner.base_url, call.path);
        let refreshed_token = AtomicBool::new(false);
        let sent = inner
            .pacer
            .send(call.endpoint, || async {
                // The token after the budget's wait: one taken before could be revoked or expire while waiting. A
                // token request (ours or one we queue behind) keeps to the deadline too.
                let token = match RequestContext::within_deadline(inner.tokens.bearer()).await {
                    Ok(Ok(token)) => token,
                    Ok(Err(error)) => return Attempt::Abort(error),
                    Err(passed) => return Attempt::Abort(KekaError::from(passed)),
                };
                match self.attempt(call, &url, &token).await {
                    Exchange::Success(body) => Attempt::Success(body),
                    Exchange::Failed(AttemptOutcome::Status { status: 401, .. }, _)
                        if !refreshed_token.swap(true, Ordering::Relaxed) =>
                    {
                        // Revoked or expired early: one fresh token, one more try. The token lock may be held by a
                        // refresh another caller started: wait only within our deadline (past it, the next attempt
                        // fails at once).
                        let _ = RequestContext::within_deadline(inner.tokens.invalidate(&token)).await;
                        Attempt::Refreshed
                    }
                    Exchange::Failed(outcome, _) if call.is_write() && maybe_applied(outcome) => {
                        // Keka may have applied it: sending it again could apply it twice. Whoever asked finds out.
                        Attempt::Abort(KekaError::Unconfirmed {
                            endpoint: call.endpoint.to_owned(),
                            reason: format!("{outcome:?}"),
                        })
                    }
                    Exchange::Failed(outcome, body) => {
                        Attempt::Failed(outcome, classify_failure(call.endpoint, outcome, body.as_deref()))
                    }
                    Exchange::Unsent(outcome) => {
                        Attempt::Failed(outcome, classify_failure(call.endpoint, outcome, None))
                    }
                }
            })
            .await;
        sent.map_err(|gave_up| match gave_up {
            GaveUp::NoSlot(no_slot) => KekaError::RateLimitDeadline { wait: no_slot.wait, max_wait: no_slot.max_wait },
            GaveUp::Failed(error) => error,
        })
    }
}

/// One HTTP exchange, reduced to what the retry rules and the final error need.
enum Exchange {
    Success(bytes::Bytes),
    /// Keka got the request, or may have.
    Failed(AttemptOutcome, Option<bytes::Bytes>),
    /// The request never left: no connection, or no time left to send it.
    Unsent(AttemptOutcome),
}

/// Whether a write that failed this way may have been applied. A 429 or a 401 is Keka refusing before acting, and any
/// other 4xx is Keka refusing the write itself; no answer, or a 5xx, says nothing either way.
fn maybe_applied(outcome: AttemptOutcome) -> bool {
    match outcome {
        AttemptOutcome::Status { status, .. } => status >= 500,
        AttemptOutcome::Timeout | AttemptOutcome::Connection => true,
    }
}

impl KekaClient {
    /// One HTTP exchange, reduced to what the retry policy needs.
    async fn attempt(&self, call: &Call, url: &str, token: &oauth2::AccessToken) -> Exchange {
        let inner = &*self.inner;
        let timeout = RequestContext::capped(inner.config.request_timeout);
        if timeout.is_zero() {
            return Exchange::Unsent(AttemptOutcome::Timeout);
        }
        let mut request = inner
            .http
            .request(call.method.clone(), url)
            .timeout(timeout)
            .bearer_auth(token.secret())
            .query(&call.query);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        RequestContext::record_request();
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(endpoint = call.endpoint, error = %describe_reqwest_error(&error), "Keka call failed");
                let outcome = transport_outcome(&error);
                let label = if outcome == AttemptOutcome::Timeout { "timeout" } else { "connection" };
                inner.metrics.request(UPSTREAM, call.endpoint, label);
                if error.is_connect() {
                    return Exchange::Unsent(outcome);
                }
                return Exchange::Failed(outcome, None);
            }
        };
        let status = response.status();
        inner.metrics.request(UPSTREAM, call.endpoint, status.as_str());
        if status == StatusCode::TOO_MANY_REQUESTS {
            inner.metrics.throttled(UPSTREAM);
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry::parse_retry_after(value, Utc::now()));
        match response.bytes().await {
            Ok(body) => {
                tracing::debug!(
                    endpoint = call.endpoint,
                    status = status.as_u16(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "Keka call"
                );
                if status.is_success() {
                    Exchange::Success(body)
                } else {
                    Exchange::Failed(AttemptOutcome::Status { status: status.as_u16(), retry_after }, Some(body))
                }
            }
            Err(error) => {
                tracing::debug!(endpoint = call.endpoint, error = %describe_reqwest_error(&error), "Keka answer broke off");
                inner.metrics.request(UPSTREAM, call.endpoint, "broken_answer");
                Exchange::Failed(transport_outcome(&error), None)
            }
        }
    }
}

fn transport_outcome(error: &reqwest::Error) -> AttemptOutcome {
    if error.is_timeout() { AttemptOutcome::Timeout } else { AttemptOutcome::Connection }
}

/// Turns the last failed attempt into the layer's error.
fn classify_failure(endpoint: &'static str, outcome: AttemptOutcome, body: Option<&[u8]>) -> KekaError {
    let endpoint = endpoint.to_owned();
    match outcome {
        AttemptOutcome::Timeout => KekaError::Transport { endpoint, message: "timed out".to_owned(), timed_out: true },
        AttemptOutcome::Connection => {
            KekaError::Transport { endpoint, message: "connection failed".to_owned(), timed_out: false }
        }
        AttemptOutcome::Status { status, retry_after } => match status {
            401 => KekaError::Unauthorized { reason: format!("Keka refused a fresh access token on {endpoint}") },
            403 => KekaError::Forbidden { endpoint },
            404 => KekaError::NotFound { endpoint },
            429 => KekaError::RateLimited { endpoint, retry_after },
            _ => {
                let errors = body
                    .and_then(|body| serde_json::from_slice::<ErrorBody>(body).ok())
                    .map(|error| error.messages())
                    .unwrap_or_default();
                KekaError::Upstream { endpoint, status, errors }
            }
        },
    }
}

/// Decodes an answer and gives its records their raw JSON (see `models::RawRecord`).
fn decode_recorded<T: DeserializeOwned + Recorded>(
    endpoint: &'static str,
    body: &[u8],
    dictionaries: &RawDictionaries,
) -> Result<T, KekaError> {
    let mut decoded = decode::<T>(endpoint, body)?;
    attach_raw(&mut decoded, body, endpoint, dictionaries);
    Ok(decoded)
}

/// Decodes an answer, reporting the JSON path that failed. A 200 with `succeeded: false` is an error too.
pub(super) fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, KekaError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => Ok(value),
        Err(error) => {
            if let Ok(failure) = serde_json::from_slice::<FailedEnvelope>(body)
                && failure.succeeded == Some(false)
            {
                return Err(KekaError::Upstream {
                    endpoint: endpoint.to_owned(),
                    status: 200,
                    errors: failure.body.messages(),
                });
            }
            Err(KekaError::Decode {
                endpoint: endpoint.to_owned(),
                path: error.path().to_string(),
                message: error.inner().to_string(),
            })
        }
    }
}

#[derive(serde::Deserialize)]
struct FailedEnvelope {
    succeeded: Option<bool>,
    #[serde(flatten)]
    body: ErrorBody,
}

/// A bare JSON array or the standard envelope (Hire lists).
pub(super) enum ArrayOrEnvelope<T> {
    Array(Vec<T>),
    Envelope(ListEnvelope<T>),
}

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for ArrayOrEnvelope<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Dispatch on the JSON type instead of `#[serde(untagged)]`, so a bad field inside
        // the array still reports its own path rather than "did not match any variant".
        deserializer.deserialize_any(ArrayOrEnvelopeVisitor(std::marker::PhantomData))
    }
}

struct ArrayOrEnvelopeVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for ArrayOrEnvelopeVisitor<T> {
    type Value = ArrayOrEnvelope<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array or a Keka list envelope")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(ArrayOrEnvelope::Array)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(ArrayOrEnvelope::Envelope)
    }
}

impl<T: Record> Recorded for ArrayOrEnvelope<T> {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        let items = match self {
            Self::Array(items) => items,
            Self::Envelope(envelope) => &mut envelope.data,
        };
        items.iter_mut().map(|record| record as &mut dyn Record).collect()
    }
}

/// `data` that may be one object or a list of them.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T: Record> Recorded for OneOrMany<T> {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        match self {
            Self::Many(items) => items.iter_mut().map(|record| record as &mut dyn Record).collect(),
            Self::One(item) => vec![item],
        }
    }
}

impl<T> OneOrMany<T> {
    pub(super) fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(items) => items,
            Self::One(item) => vec![item],
        }
    }
}

fn employee_query(mut call: Call, filter: &EmployeeFilter) -> Call {
    call = call.query_list("employeeIds", &filter.employee_ids).query_list("employeeNumbers", &filter.employee_numbers);
    if !filter.employment_status.is_empty() {
        let names: Vec<String> = filter
            .employment_status
            .iter()
            .map(|status| status.name().map_or_else(|| status.code().to_string(), str::to_owned))
            .collect();
        call = call.query_list("employmentStatus", &names);
    }
    if let Some(in_probation) = filter.in_probation {
        call = call.query("inProbation", in_probation.to_string());
    }
    if let Some(in_notice) = filter.in_notice_period {
        call = call.query("inNoticePeriod", in_notice.to_string());
    }
    if let Some(since) = filter.modified_since {
        call = call.query("lastModified", format_datetime(since));
    }
    if let Some(search) = &filter.search_key {
        call = call.query("searchKey", search.clone());
    }
    call
}

fn checked_windows(from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, NaiveDate)>, KekaError> {
    if from > to {
        return Err(KekaError::InvalidRequest(format!("`from` ({from}) is after `to` ({to})")));
    }
    Ok(date_windows(from, to))
}

fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn format_datetime(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Ids go into paths: percent-encode anything that is not a plain id character.
fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}
