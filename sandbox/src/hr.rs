//! An HR team at work: the tenant changes over time (hires, exits, manager moves, renames,
//! leave requests, and on request new departments), and each change Keka has an event for can
//! be announced with a Keka-style Event Trigger webhook (a new department has none).
//!
//! - [`TenantCell`]: the current tenant behind copy-on-write. A request takes one `Arc` of
//!   the tenant and reads that snapshot to the end; a change copies the tenant, edits the
//!   copy and swaps it in, so readers never wait on a change (only on the pointer swap).
//! - [`apply`]: applies a [`Plan`] (from the admin route, the background task or
//!   [`RunningSandbox::apply_hr_changes`](super::RunningSandbox::apply_hr_changes)); writers
//!   are serialised, and every choice comes from the change stream of the tenant seed, so a
//!   seed and a sequence of calls give the same changes every run.
//! - [`file_leave`]: a leave request made through the API (`POST /time/leaverequests`),
//!   checked against the tenant and filed pending, through the same writer, copy-on-write
//!   swap and webhooks (`LeaveRequested`) as the HR team's leave. It is the API's write, not
//!   the HR team's: `hr_changes` does not count it, and its id comes from a counter of its
//!   own, not from the change stream, so the HR team's changes of a seed stay what they were.
//! - [`spawn`]: the background tasks of a running sandbox: random changes at
//!   `changes_per_hour`, and the webhook sender.
//!
//! Clock: `last_modified` and the `at` of a change are UTC instants without an offset, the
//! clock `lastModified` filters compare against (an offset in the query is converted to UTC,
//! a value without one is read as UTC). Stamps are whole milliseconds and strictly increase
//! from one change to the next, so `lastModified=<at of a change>` returns that change and
//! every later one, and nothing before it. A leave request stamps nobody (it changes no
//! employee record); it dates from the UTC date of its `at`, which is what "today" means to a
//! sandbox left running past midnight. A new department stamps nobody either, only itself
//! and its Department group.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{NaiveDateTime, SubsecRound as _, TimeDelta};
use http::{HeaderName, HeaderValue};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::config::SandboxConfig;
use super::ids::Guid;
use super::state::AppState;
use super::tenant::{Change, ChangeDetail, ChangeKind, Employee, ExitType, LeaveApplication, Tenant};

/// RNG stream (of the tenant seed) the changes draw from; generation uses streams 1–4.
const CHANGE_STREAM: u64 = 5;
/// RNG stream for the intervals between background changes (kept apart from the changes,
/// so the admin route gives the same changes whether or not the timer is on).
const TIMER_STREAM: u64 = 6;
/// Most changes one request may ask for.
pub(crate) const MAX_CHANGES_PER_REQUEST: u32 = 1_000;
/// How long one webhook delivery may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Webhooks waiting for delivery; more are dropped (and counted as failed).
const WEBHOOK_QUEUE: usize = 1_024;
/// Mix of kinds for random changes: hire, exit, move, rename, leave. Never a new department:
/// Keka documents no webhook for one and it changes no employee's record, so it is no part of
/// the simulated HR team's daily work; it is there, on request only, for the subgraph's
/// small-list sync tests (`/hris/departments`, `/hris/groups`). Leaving it out also keeps the
/// random changes of a seed what they were.
const RANDOM_MIX: [(ChangeKind, f64); 5] = [
    (ChangeKind::Hire, 3.0),
    (ChangeKind::Exit, 2.0),
    (ChangeKind::Move, 3.0),
    (ChangeKind::Rename, 2.0),
    (ChangeKind::Leave, 3.0),
];
/// Who the webhooks say made the change.
const UPDATED_BY: &str = "Sandbox HR";

/// The current tenant, replaced as a whole on every change.
#[derive(Debug)]
pub(crate) struct TenantCell {
    current: RwLock<Arc<Tenant>>,
}

impl TenantCell {
    pub(crate) fn new(tenant: Arc<Tenant>) -> Self {
        Self { current: RwLock::new(tenant) }
    }

    /// The tenant as it is now (a snapshot later changes do not touch).
    pub(crate) fn load(&self) -> Arc<Tenant> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn store(&self, tenant: Arc<Tenant>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = tenant;
    }
}

/// `POST /__sandbox/hr/changes` body: how many changes of each kind (applied in the order
/// hires, exits, moves, renames, leaves, departments), or `count` changes of random kinds
/// (never departments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct HrChangeRequest {
    /// New employees.
    pub hires: u32,
    /// Working employees relieved.
    pub exits: u32,
    /// Working employees given a new manager.
    pub moves: u32,
    /// Working employees renamed.
    pub renames: u32,
    /// Leave requests by working employees, from today, approved.
    pub leaves: u32,
    /// New, empty departments (each also a group of the system type Department).
    pub departments: u32,
    /// Changes of random kinds (not combined with the counts above).
    pub count: u32,
}

/// What to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// These kinds, in this order.
    Kinds(Vec<ChangeKind>),
    /// This many changes of random kinds.
    Random(u32),
}

impl HrChangeRequest {
    /// Checks the request and turns it into a plan; the error is a message for a 400.
    pub(crate) fn plan(&self) -> Result<Plan, String> {
        let per_kind = [self.hires, self.exits, self.moves, self.renames, self.leaves, self.departments];
        let total: u64 = per_kind.iter().map(|&n| u64::from(n)).sum();
        if self.count > 0 && total > 0 {
            return Err("give either count or hires/exits/moves/renames/leaves/departments, not both".to_owned());
        }
        let asked = total.max(u64::from(self.count));
        if asked == 0 {
            return Err(
                "ask for at least one change: e.g. {\"hires\":2,\"exits\":1,\"moves\":3,\"renames\":2,\"leaves\":1,\"departments\":1} or {\"count\":5}"
                    .to_owned(),
            );
        }
        if asked > u64::from(MAX_CHANGES_PER_REQUEST) {
            return Err(format!("at most {MAX_CHANGES_PER_REQUEST} changes per request ({asked} asked)"));
        }
        if self.count > 0 {
            return Ok(Plan::Random(self.count));
        }
        Ok(Plan::Kinds(
            ChangeKind::ALL.iter().zip(per_kind).flat_map(|(&kind, n)| std::iter::repeat_n(kind, n as usize)).collect(),
        ))
    }

    /// Parses a request body (JSON object); the error is a message for a 400.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err("the body must be a JSON object such as {\"hires\":2,\"exits\":1} or {\"count\":5}".to_owned());
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        let request: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." { format!("invalid body: {inner}") } else { format!("invalid body at {path}: {inner}") }
        })?;
        de.end().map_err(|e| format!("invalid body: {e}"))?;
        Ok(request)
    }
}

/// One applied change, as the admin route answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HrChange {
    /// `hire`, `exit`, `move`, `rename`, `leave` or `department`.
    pub kind: ChangeKind,
    /// The employee the change is about; empty for a department, which is about nobody.
    pub employee_id: String,
    /// The employee's number; empty for a department.
    pub employee_number: String,
    /// The display name after the change; empty for a department.
    pub display_name: String,
    /// When (UTC, milliseconds, `Z`): `lastModified=<at>` returns this change and later ones.
    pub at: String,
    /// The webhook `eventType` announcing it; empty for a department, which Keka has no event
    /// for (no webhook is sent).
    pub event_type: String,
    /// Every employee whose `lastModified` is now `at` (the employee first; for an exit also
    /// the reports moved to the leaver's manager). Empty for a leave request or a department,
    /// which change no employee record, so a `lastModified` poll has nothing to refetch.
    pub affected_employee_ids: Vec<String>,
    /// The manager after the change (hire, move; for an exit the manager who takes the reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_to: Option<String>,
    /// Exit: the leaver's direct reports, who now report to `reportsTo`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reassigned_employee_ids: Vec<String>,
    /// The manager before a move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_reports_to: Option<String>,
    /// The display name before a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_display_name: Option<String>,
    /// Leave: the new request's id, to find it in `/time/leaverequests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_request_id: Option<String>,
    /// Department: the new department's id, in `/hris/departments` and (the same id) as a
    /// Department group in `/hris/groups`, both with `lastModified` = `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<String>,
    /// Department: the new department's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
}

/// Keka's Event Trigger `eventType` for a change. Keka's webhook guide lists "employee added",
/// "employee exit approved" and "leave requested" among its events and names formats in
/// PascalCase (`EmployeeSalaryUpdated`); it names no generic update event, so moves and renames
/// use `EmployeeUpdated` by analogy. It documents no department event: `None` for a new
/// department, which no webhook announces.
pub(crate) fn event_type(kind: ChangeKind) -> Option<&'static str> {
    match kind {
        ChangeKind::Hire => Some("EmployeeAdded"),
        ChangeKind::Exit => Some("EmployeeExitApproved"),
        ChangeKind::Move | ChangeKind::Rename => Some("EmployeeUpdated"),
        ChangeKind::Leave => Some("LeaveRequested"),
        ChangeKind::Department => None,
    }
}

/// The writer side: serialises changes and holds the change stream.
#[derive(Debug)]
struct Writer {
    rng: ChaCha8Rng,
    last_at: Option<NaiveDateTime>,
    /// Leave requests filed through the API so far (their ids derive from it).
    filed: u64,
}

impl Writer {
    /// Now (UTC, whole milliseconds), strictly after the previous stamp.
    fn stamp(&mut self) -> NaiveDateTime {
        let now = chrono::Utc::now().naive_utc().trunc_subsecs(3);
        let at = match self.last_at {
            Some(prev) if now <= prev => prev + TimeDelta::milliseconds(1),
            _ => now,
        };
        self.last_at = Some(at);
        at
    }
}

/// One webhook to send.
#[derive(Debug)]
struct Delivery {
    event_type: &'static str,
    form: Vec<(&'static str, String)>,
}

/// The HR side of the shared state.
#[derive(Debug)]
pub(crate) struct Hr {
    writer: Mutex<Writer>,
    webhooks: Option<mpsc::Sender<Delivery>>,
    /// Taken by [`spawn`], which starts the sender.
    receiver: Mutex<Option<mpsc::Receiver<Delivery>>>,
}

impl Hr {
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(CHANGE_STREAM);
        let (webhooks, receiver) = match config.webhook_url {
            Some(_) => {
                let (tx, rx) = mpsc::channel(WEBHOOK_QUEUE);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        Self { writer: Mutex::new(Writer { rng, last_at: None, filed: 0 }), webhooks, receiver: Mutex::new(receiver) }
    }
}

/// Checks the HR and webhook settings before the sandbox starts.
pub(crate) fn validate(config: &SandboxConfig) -> anyhow::Result<()> {
    if !config.changes_per_hour.is_finite() || config.changes_per_hour < 0.0 {
        bail!("changes_per_hour must be a non-negative number, not {}", config.changes_per_hour);
    }
    if let Some(url) = &config.webhook_url
        && !matches!(url.scheme(), "http" | "https")
    {
        bail!("the webhook URL must be http or https, not {}", redacted(url));
    }
    webhook_header(config)?;
    Ok(())
}

/// The custom header to send with webhooks, if a secret is configured.
fn webhook_header(config: &SandboxConfig) -> anyhow::Result<Option<(HeaderName, HeaderValue)>> {
    let Some(secret) = &config.webhook_secret else {
        return Ok(None);
    };
    let name = HeaderName::from_bytes(config.webhook_header.trim().as_bytes())
        .with_context(|| format!("{:?} is not a valid webhook header name", config.webhook_header))?;
    let mut value = HeaderValue::from_str(secret.expose_secret())
        .map_err(|_| anyhow::anyhow!("the webhook secret is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

/// A URL for logs and the info page: any password replaced.
pub(crate) fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

/// Applies `plan` now and returns what was applied (changes the tenant cannot take, such as
/// an exit when nobody but the CEO works here, are skipped). CPU work proportional to the
/// tenant's size: call it off the async workers.
pub(crate) fn apply(app: &AppState, plan: &Plan) -> Vec<HrChange> {
    let mut writer = app.hr.writer.lock().unwrap_or_else(PoisonError::into_inner);
    let mut next = Tenant::clone(&app.tenant.load());
    let mut applied = Vec::new();
    let mut deliveries = Vec::new();
    let steps = match plan {
        Plan::Kinds(kinds) => kinds.len(),
        Plan::Random(n) => *n as usize,
    };
    for step in 0..steps {
        let kind = match plan {
            Plan::Kinds(kinds) => kinds[step],
            Plan::Random(_) => random_kind(&mut writer.rng),
        };
        let at = writer.stamp();
        let Some(change) = next.apply_change(kind, &mut writer.rng, at) else {
            tracing::debug!(kind = kind.as_str(), "sandbox HR change skipped: nobody it could apply to");
            continue;
        };
        let record = describe(&next, &change);
        match &record.department_id {
            Some(department) => tracing::info!(
                kind = record.kind.as_str(),
                %department,
                name = record.department_name.as_deref().unwrap_or_default(),
                at = %record.at,
                "sandbox HR change"
            ),
            None => tracing::info!(
                kind = record.kind.as_str(),
                employee = %record.employee_id,
                employee_number = %record.employee_number,
                at = %record.at,
                "sandbox HR change"
            ),
        }
        // Changes Keka has no event for (a new department) are announced by no webhook.
        if app.hr.webhooks.is_some()
            && let Some(delivery) = webhook_form(&next, &change, UPDATED_BY)
        {
            deliveries.push(delivery);
        }
        applied.push(record);
    }
    if !applied.is_empty() {
        app.tenant.store(Arc::new(next));
        app.stats.record_hr_changes(applied.len() as u64);
    }
    drop(writer);
    deliver(app, deliveries);
    applied
}

/// Files a leave request made through the API: checked against the tenant as it is, then
/// added (pending) to a copy that is swapped in, and announced like the HR team's leave. The
/// error is the message of the 400 when a check fails (nothing changes then). CPU work
/// proportional to the tenant's size: call it off the async workers.
pub(crate) fn file_leave(app: &AppState, application: &LeaveApplication) -> Result<Guid, String> {
    let mut writer = app.hr.writer.lock().unwrap_or_else(PoisonError::into_inner);
    // Loaded under the writer lock: no other change can land between the checks and the swap.
    let current = app.tenant.load();
    let reviewed = current.review_leave_application(application)?;
    let at = writer.stamp();
    writer.filed += 1;
    let mut next = Tenant::clone(&current);
    let change = next.file_leave(reviewed, writer.filed, at);
    let ChangeDetail::Leave { request, .. } = change.detail else { unreachable!("filing leave is a leave change") };
    let record = describe(&next, &change);
    // Announced as made by whoever asked: the `requestedBy` employee, or the employee.
    let asker = application.requested_by.unwrap_or(application.employee);
    let updated_by = next.employee(asker).map_or(UPDATED_BY, |e| e.display_name.as_str());
    tracing::info!(
        kind = "leave",
        employee = %record.employee_id,
        employee_number = %record.employee_number,
        leave_request = %request,
        at = %record.at,
        "sandbox leave request filed through the API"
    );
    let delivery = if app.hr.webhooks.is_some() { webhook_form(&next, &change, updated_by) } else { None };
    app.tenant.store(Arc::new(next));
    drop(writer);
    deliver(app, delivery);
    Ok(request)
}

/// Queues webhooks for the sender (outside the writer lock); a full queue drops them.
fn deliver(app: &AppState, deliveries: impl IntoIterator<Item = Delivery>) {
    let Some(queue) = &app.hr.webhooks else {
        return;
    };
    for delivery in deliveries {
        if let Err(err) = queue.try_send(delivery) {
            tracing::warn!(error = %err, "sandbox webhook dropped: the delivery queue is full");
            app.stats.record_webhook(false);
        }
    }
}

fn random_kind<R: Rng + ?Sized>(rng: &mut R) -> ChangeKind {
    let total: f64 = RANDOM_MIX.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (kind, weight) in RANDOM_MIX {
        if x < weight {
            return kind;
        }
        x -= weight;
    }
    RANDOM_MIX[RANDOM_MIX.len() - 1].0
}

/// `2026-12-05T08:29:00.123Z`
fn utc_millis(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn describe(t: &Tenant, change: &Change) -> HrChange {
    let e = change.employee.map(|i| &t.employees[i]);
    let id = |i: usize| t.employees[i].id.to_string();
    let (reports_to, previous_reports_to, previous_display_name) = match &change.detail {
        ChangeDetail::Hire { manager } | ChangeDetail::Exit { manager, .. } => (Some(id(*manager)), None, None),
        ChangeDetail::Move { from, to } => (Some(id(*to)), Some(id(*from)), None),
        ChangeDetail::Rename { display_name, .. } => (None, None, Some(display_name.clone())),
        ChangeDetail::Leave { .. } | ChangeDetail::Department { .. } => (None, None, None),
    };
    let department = match &change.detail {
        ChangeDetail::Department { department } => Some(&t.departments[*department]),
        _ => None,
    };
    let leave_request_id = match &change.detail {
        ChangeDetail::Leave { request, .. } => Some(request.to_string()),
        _ => None,
    };
    let reassigned_employee_ids = match &change.detail {
        ChangeDetail::Exit { reassigned, .. } => reassigned.iter().map(|&i| id(i)).collect(),
        _ => Vec::new(),
    };
    HrChange {
        kind: change.kind,
        employee_id: e.map(|e| e.id.to_string()).unwrap_or_default(),
        employee_number: e.map(|e| e.employee_number.clone()).unwrap_or_default(),
        display_name: e.map(|e| e.display_name.clone()).unwrap_or_default(),
        at: utc_millis(change.at),
        event_type: event_type(change.kind).unwrap_or_default().to_owned(),
        affected_employee_ids: change.affected.iter().map(|&i| id(i)).collect(),
        reports_to,
        reassigned_employee_ids,
        previous_reports_to,
        previous_display_name,
        leave_request_id,
        department_id: department.map(|d| d.id.to_string()),
        department_name: department.map(|d| d.name.clone()),
    }
}

/// A date as Keka's webhook formats write it (`Mar 01, 2023`).
fn event_date(d: chrono::NaiveDate) -> String {
    d.format("%b %d, %Y").to_string()
}

/// The form of a Keka Event Trigger webhook: the three documented parameters
/// (`employeeIndentifier` sic, `eventType`, `subDomain`), then the event's own fields, named
/// the way Keka's documented `EmployeeSalaryUpdated` format names them (`employeeName`,
/// `employeeNumber`, `previous…`/`updated…`, `updatedBy`, `updatedOn`). How Keka packs the
/// event object into the form is not documented; the sandbox sends its fields as parameters.
/// `None` for a change Keka has no event for (a new department): nothing is sent.
/// `updated_by` is who made the change: [`UPDATED_BY`] for the HR team, a name for the API.
fn webhook_form(t: &Tenant, change: &Change, updated_by: &str) -> Option<Delivery> {
    let event_type = event_type(change.kind)?;
    let e = &t.employees[change.employee?];
    let name = |i: usize| t.employees[i].display_name.clone();
    let mut form: Vec<(&'static str, String)> = vec![
        ("employeeIndentifier", e.id.to_string()),
        ("eventType", event_type.to_owned()),
        ("subDomain", t.company.subdomain.clone()),
        ("employeeName", e.display_name.clone()),
        ("employeeNumber", e.employee_number.clone()),
    ];
    match &change.detail {
        ChangeDetail::Hire { manager } => {
            form.extend([
                ("email", e.email.clone()),
                ("jobTitle", t.job_titles[e.job_title].name.clone()),
                ("department", t.departments[e.department].name.clone()),
                ("location", t.locations[e.location].name.clone()),
                ("reportingManager", name(*manager)),
                ("joiningDate", event_date(e.joining_date)),
            ]);
        }
        ChangeDetail::Exit { manager, .. } => {
            form.extend([
                ("exitDate", e.exit_date.map(event_date).unwrap_or_default()),
                ("exitType", exit_type_name(e).to_owned()),
                ("exitReason", e.exit_reason.clone().unwrap_or_default()),
                ("reportingManager", name(*manager)),
            ]);
        }
        ChangeDetail::Move { from, to } => {
            form.extend([("previousReportingManager", name(*from)), ("updatedReportingManager", name(*to))]);
        }
        ChangeDetail::Rename { display_name, .. } => {
            form.extend([
                ("previousEmployeeName", display_name.clone()),
                ("updatedEmployeeName", e.display_name.clone()),
            ]);
        }
        ChangeDetail::Leave { leave_type, from, to, .. } => {
            form.extend([
                ("leaveType", t.leave_types[*leave_type].name.clone()),
                ("fromDate", event_date(*from)),
                ("toDate", event_date(*to)),
            ]);
        }
        // No event: returned above.
        ChangeDetail::Department { .. } => return None,
    }
    form.extend([
        ("updatedBy", updated_by.to_owned()),
        // Keka's convention: no offset; the sandbox's clock is UTC.
        ("updatedOn", change.at.format("%Y-%m-%dT%H:%M:%S").to_string()),
    ]);
    Some(Delivery { event_type, form })
}

fn exit_type_name(e: &Employee) -> &'static str {
    match e.exit_type {
        ExitType::None => "None",
        ExitType::EmployeeResignation => "EmployeeResignation",
        ExitType::CompanyAction => "CompanyAction",
    }
}

/// Starts the background tasks of a running sandbox: the webhook sender (with a webhook URL)
/// and random changes (with `changes_per_hour` > 0). The caller aborts them on shutdown.
pub(crate) fn spawn(app: &Arc<AppState>) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut tasks = Vec::new();
    let receiver = app.hr.receiver.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let (Some(url), Some(receiver)) = (app.config.webhook_url.clone(), receiver) {
        let header = webhook_header(&app.config)?;
        let mut builder = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(WEBHOOK_TIMEOUT)
            .user_agent("Keka-Webhook (keka-subgraph sandbox)");
        if is_loopback(&url) {
            // Never send loopback traffic through a proxy from the environment.
            builder = builder.no_proxy();
        }
        let client = builder.build().context("building the sandbox's webhook client")?;
        tasks.push(tokio::spawn(send_webhooks(Arc::clone(app), client, url, header, receiver)));
    }
    if app.config.changes_per_hour > 0.0 {
        tasks.push(tokio::spawn(change_over_time(Arc::clone(app), app.config.changes_per_hour)));
    }
    Ok(tasks)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Delivers webhooks one at a time, in the order of the changes.
async fn send_webhooks(
    app: Arc<AppState>,
    client: reqwest::Client,
    url: Url,
    header: Option<(HeaderName, HeaderValue)>,
    mut receiver: mpsc::Receiver<Delivery>,
) {
    let target = redacted(&url);
    while let Some(delivery) = receiver.recv().await {
        let mut request = client.post(url.clone()).form(&delivery.form);
        if let Some((name, value)) = &header {
            request = request.header(name, value.clone());
        }
        let delivered = match request.send().await {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(url = %target, event_type = delivery.event_type, status = response.status().as_u16(), "sandbox webhook rejected");
                false
            }
            Err(err) => {
                let error = error_chain(&err.without_url());
                tracing::warn!(url = %target, event_type = delivery.event_type, %error, "sandbox webhook failed");
                false
            }
        };
        app.stats.record_webhook(delivered);
    }
}

/// An error and its causes, e.g. `error sending request: client error (Connect): tcp connect
/// error: Connection refused`. (The request's headers, so the secret, are never part of it.)
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Applies one random change at a time, at exponentially distributed intervals averaging
/// `per_hour` changes an hour.
async fn change_over_time(app: Arc<AppState>, per_hour: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(app.config.seed);
    rng.set_stream(TIMER_STREAM);
    let mean_secs = 3600.0 / per_hour;
    loop {
        // 1 - u lies in (0, 1], so the logarithm is finite and the wait non-negative.
        let u: f64 = rng.random();
        let wait = (-(1.0 - u).ln() * mean_secs).clamp(0.0, 86_400.0 * 365.0);
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        let app = Arc::clone(&app);
        let applied = tokio::task::spawn_blocking(move || apply(&app, &Plan::Random(1))).await;
        if let Err(err) = applied {
            tracing::error!(error = %err, "sandbox HR change panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_become_plans_or_messages() {
        let plan = |body: &str| HrChangeRequest::parse(body.as_bytes()).and_then(|r| r.plan());
        assert_eq!(
            plan(r#"{"hires":2,"renames":1,"exits":1}"#),
            Ok(Plan::Kinds(vec![ChangeKind::Hire, ChangeKind::Hire, ChangeKind::Exit, ChangeKind::Rename]))
        );
        assert_eq!(
            plan(r#"{"leaves":1,"hires":1}"#),
            Ok(Plan::Kinds(vec![ChangeKind::Hire, ChangeKind::Leave])),
            "leaves come after the employee changes"
        );
        assert_eq!(
            plan(r#"{"departments":2,"leaves":1,"hires":1}"#),
            Ok(Plan::Kinds(vec![ChangeKind::Hire, ChangeKind::Leave, ChangeKind::Department, ChangeKind::Department])),
            "departments come last"
        );
        assert_eq!(plan(r#"{"count":3}"#), Ok(Plan::Random(3)));
        for bad in [
            "",
            "{}",
            "[]",
            "not json",
            r#"{"count":0}"#,
            r#"{"hires":-1}"#,
            r#"{"hires":"2"}"#,
            r#"{"hire":2}"#,
            r#"{"count":2,"moves":1}"#,
            r#"{"count":2,"leaves":1}"#,
            r#"{"leave":1}"#,
            r#"{"count":2,"departments":1}"#,
            r#"{"department":1}"#,
            r#"{"count":1001}"#,
            r#"{"hires":600,"moves":600}"#,
            r#"{"hires":1} trailing"#,
        ] {
            let err = plan(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(plan(r#"{"hire":2}"#).unwrap_err().contains("hire"));
    }

    #[test]
    fn random_changes_never_set_up_a_department() {
        assert!(RANDOM_MIX.iter().all(|(kind, _)| *kind != ChangeKind::Department));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert!((0..10_000).all(|_| random_kind(&mut rng) != ChangeKind::Department));
        assert_eq!(event_type(ChangeKind::Department), None, "Keka has no department event");
    }

    #[test]
    fn stamps_are_whole_milliseconds_and_strictly_increase() {
        let mut writer = Writer { rng: ChaCha8Rng::seed_from_u64(1), last_at: None, filed: 0 };
        let stamps: Vec<_> = (0..50).map(|_| writer.stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        assert!(stamps.iter().all(|s| s.and_utc().timestamp_subsec_nanos() % 1_000_000 == 0));
    }

    #[test]
    fn passwords_are_redacted() {
        let url = Url::parse("https://user:hunter2@hooks.example/keka?x=1").unwrap();
        assert_eq!(redacted(&url), "https://user:***@hooks.example/keka?x=1");
        assert!(is_loopback(&Url::parse("http://127.0.0.1:9/").unwrap()));
        assert!(is_loopback(&Url::parse("http://localhost:9/").unwrap()));
        assert!(!is_loopback(&Url::parse("http://hooks.example/").unwrap()));
    }
}
