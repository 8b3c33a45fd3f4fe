//! DataLoaders: many lookups made while resolving one request become a few Keka calls.
//!
//! Each lookup has a loader of its own, keyed by what it looks up (an employee id, a case-folded email, an employee
//! and a date range). Each loader groups its keys into the fewest Keka requests
//! (`employeeIds=` batches of the client's chunk size) through the cached client, so warm
//! lookups cost nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;

use crate::keka::models::{AttendanceDay, Employee, LeaveBalance, LeaveRequest, RawRecord};
use crate::keka::{CachedKeka, KekaError, OrgSnapshot, SnapshotSource};

/// Ids per leave or attendance request: keeps URLs short, like the client's employee batches.
const IDS_PER_CALL: usize = 50;

pub struct EmployeeLoader {
    keka: CachedKeka,
    snapshot: Arc<SnapshotSource>,
}

impl EmployeeLoader {
    pub fn new(keka: CachedKeka, snapshot: Arc<SnapshotSource>) -> Self {
        Self { keka, snapshot }
    }
}

impl Loader<String> for EmployeeLoader {
    type Value = Arc<Employee>;
    type Error = KekaError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Arc<Employee>>, KekaError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        tracing::debug!(ids = ids.len(), "loading a batch of employees");
        // A snapshot within its TTL (kept so by the sync) knows everyone as of its date: only people it does not
        // hold yet (hires since) are asked of Keka, and join it.
        let mut from_snapshot = HashMap::new();
        let mut asked: Vec<String> = ids.to_vec();
        let fresh = self.snapshot.fresh();
        if let Some(snapshot) = &fresh {
            asked.retain(|id| match snapshot.employee(id) {
                Some(found) => {
                    from_snapshot.insert(id.clone(), found.clone());
                    false
                }
                None => true,
            });
            if asked.is_empty() {
                return Ok(from_snapshot);
            }
        }
        match self.keka.employees_by_ids(&asked).await {
            Ok(mut found) => {
                if let Some(snapshot) = fresh
                    && !found.is_empty()
                {
                    join_snapshot(&self.snapshot, snapshot, found.values().cloned().collect());
                }
                found.extend(from_snapshot);
                Ok(found)
            }
            // Keka is failing: an org snapshot within the stale-if-error bound still knows these people.
            Err(error) => match self.snapshot.stale_if_error() {
                Some(snapshot) => {
                    tracing::warn!(%error, "Keka failed; answering employees from the stale org snapshot");
                    Ok(ids
                        .iter()
                        .filter_map(|id| snapshot.employee(id).map(|found| (id.clone(), found.clone())))
                        .collect())
                }
                None => Err(error),
            },
        }
    }
}

/// Employees' records as Keka sent them (`Employee.raw`), by id: asked for only when selected, in the same
/// `employeeIds=` batches as people.
pub struct EmployeeRecordLoader {
    keka: CachedKeka,
}

impl EmployeeRecordLoader {
    pub fn new(keka: CachedKeka) -> Self {
        Self { keka }
    }
}

impl Loader<String> for EmployeeRecordLoader {
    type Value = RawRecord;
    type Error = KekaError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, RawRecord>, KekaError> {
        self.keka.employee_records(ids).await
    }
}

/// People Keka knows and the snapshot did not (hires since its date) join it, in the background: the request that
/// found them does not wait for the snapshot's indexes.
fn join_snapshot(source: &Arc<SnapshotSource>, snapshot: Arc<OrgSnapshot>, newcomers: Vec<Arc<Employee>>) {
    let source = source.clone();
    tokio::spawn(async move {
        let joined = snapshot.with_changes(&newcomers);
        source.amend(&snapshot, Some(joined), None).await;
    });
}

/// Employees by work email (keys are trimmed and lower-cased). Keka has no email filter: a
/// couple of emails are looked up with its search endpoint, more (or any, once the org snapshot
/// exists) are answered from the snapshot, which costs one walk for any number of emails.
pub struct EmployeeByEmailLoader {
    keka: CachedKeka,
    snapshot: Arc<SnapshotSource>,
}

/// Up to this many emails are searched one by one; beyond it one snapshot walk is cheaper.
const EMAILS_SEARCHED_ONE_BY_ONE: usize = 2;

impl EmployeeByEmailLoader {
    pub fn new(keka: CachedKeka, snapshot: Arc<SnapshotSource>) -> Self {
        Self { keka, snapshot }
    }

    async fn look_up_in_snapshot(&self, emails: &[String]) -> Result<HashMap<String, Arc<Employee>>, KekaError> {
        let snapshot = self.snapshot.get().await?;
        Ok(emails
            .iter()
            .filter_map(|email| snapshot.employee_by_email(email).map(|employee| (email.clone(), employee.clone())))
            .collect())
    }
}

impl Loader<String> for EmployeeByEmailLoader {
    type Value = Arc<Employee>;
    type Error = KekaError;

    async fn load(&self, emails: &[String]) -> Result<HashMap<String, Arc<Employee>>, KekaError> {
        if self.snapshot.peek().is_some() || emails.len() > EMAILS_SEARCHED_ONE_BY_ONE {
            return self.look_up_in_snapshot(emails).await;
        }
        let searches =
            futures::future::join_all(emails.iter().map(|email| self.keka.employee_by_work_email(email))).await;
        let mut found = HashMap::new();
        for (email, result) in emails.iter().zip(searches) {
            match result {
                Ok(Some(employee)) => {
                    found.insert(email.clone(), employee);
                }
                Ok(None) => {}
                // The search endpoint is thinly documented: if Keka refuses it, read everyone instead.
                Err(
                    KekaError::NotFound { .. }
                    | KekaError::Upstream { status: 400..=499, .. }
                    | KekaError::Decode { .. },
                ) => {
                    return self.look_up_in_snapshot(emails).await;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(found)
    }
}

/// One employee's leave or attendance in a date range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmployeeRange {
    pub employee_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Groups keys by date range, so each range is one call (per chunk of ids) for everybody asking.
fn by_range(keys: &[EmployeeRange]) -> BTreeMap<(NaiveDate, NaiveDate), Vec<String>> {
    let mut ranges: BTreeMap<(NaiveDate, NaiveDate), Vec<String>> = BTreeMap::new();
    for key in keys {
        ranges.entry((key.from, key.to)).or_default().push(key.employee_id.clone());
    }
    for ids in ranges.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    ranges
}

pub struct TimeoffLoader {
    keka: CachedKeka,
}

impl TimeoffLoader {
    pub fn new(keka: CachedKeka) -> Self {
        Self { keka }
    }
}

impl Loader<EmployeeRange> for TimeoffLoader {
    type Value = Arc<Vec<Arc<LeaveRequest>>>;
    type Error = KekaError;

    async fn load(&self, keys: &[EmployeeRange]) -> Result<HashMap<EmployeeRange, Self::Value>, KekaError> {
        let mut found: HashMap<EmployeeRange, Vec<Arc<LeaveRequest>>> =
            keys.iter().map(|key| (key.clone(), Vec::new())).collect();
        for ((from, to), ids) in by_range(keys) {
            for chunk in ids.chunks(IDS_PER_CALL) {
                for request in self.keka.leave_requests(chunk, from, to).await?.iter() {
                    let Some(employee_id) = request.employee_identifier.clone() else { continue };
                    if let Some(requests) = found.get_mut(&EmployeeRange { employee_id, from, to }) {
                        requests.push(request.clone());
                    }
                }
            }
        }
        Ok(found.into_iter().map(|(key, requests)| (key, Arc::new(requests))).collect())
    }
}

pub struct AttendanceLoader {
    keka: CachedKeka,
}

impl AttendanceLoader {
    pub fn new(keka: CachedKeka) -> Self {
        Self { keka }
    }
}

impl Loader<EmployeeRange> for AttendanceLoader {
    type Value = Arc<Vec<AttendanceDay>>;
    type Error = KekaError;

    async fn load(&self, keys: &[EmployeeRange]) -> Result<HashMap<EmployeeRange, Self::Value>, KekaError> {
        let mut found: HashMap<EmployeeRange, Vec<AttendanceDay>> =
            keys.iter().map(|key| (key.clone(), Vec::new())).collect();
        for ((from, to), ids) in by_range(keys) {
            for chunk in ids.chunks(IDS_PER_CALL) {
                for day in self.keka.attendance(chunk, from, to).await?.iter() {
                    let key = EmployeeRange { employee_id: day.employee_identifier.clone(), from, to };
                    if let Some(days) = found.get_mut(&key) {
                        days.push(day.clone());
                    }
                }
            }
        }
        Ok(found
            .into_iter()
            .map(|(key, mut days)| {
                days.sort_by_key(|day| day.attendance_date);
                (key, Arc::new(days))
            })
            .collect())
    }
}

pub struct LeaveBalanceLoader {
    keka: CachedKeka,
}

impl LeaveBalanceLoader {
    pub fn new(keka: CachedKeka) -> Self {
        Self { keka }
    }
}

impl Loader<String> for LeaveBalanceLoader {
    type Value = Arc<Vec<LeaveBalance>>;
    type Error = KekaError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Self::Value>, KekaError> {
        let mut found: HashMap<String, Arc<Vec<LeaveBalance>>> = HashMap::with_capacity(ids.len());
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(IDS_PER_CALL) {
            for employee in self.keka.leave_balances(chunk).await?.iter() {
                found.insert(employee.employee_identifier.clone(), Arc::new(employee.leave_balance.clone()));
            }
        }
        for id in ids {
            found.entry(id).or_default();
        }
        Ok(found)
    }
}
