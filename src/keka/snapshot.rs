//! The org snapshot: every employee, walked once and indexed by manager, group and location.
//!
//! Keka cannot filter employees by manager or group, so relationships such as direct reports
//! or group members would otherwise cost one request per node. One walk (`pageSize=200`: 5
//! requests for 1,000 people) answers all of them. The snapshot lives for the cache TTL; after
//! that it is still served for a grace period while one background task rebuilds it, so
//! nobody waits on a rebuild while a usable snapshot exists.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::cache::CachedKeka;
use super::client::EmployeeFilter;
use super::error::KekaError;
use super::models::{Employee, EmploymentStatus};

/// All employees with the indexes the graph needs. Employees keep Keka's order.
#[derive(Debug)]
pub struct OrgSnapshot {
    employees: Vec<Arc<Employee>>,
    positions: HashMap<String, usize>,
    reports: HashMap<String, Vec<usize>>,
    members: HashMap<String, Vec<usize>>,
    built_at: Instant,
}

impl OrgSnapshot {
    pub fn new(employees: Vec<Arc<Employee>>) -> Self {
        let mut positions = HashMap::with_capacity(employees.len());
        let mut reports: HashMap<String, Vec<usize>> = HashMap::new();
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (position, employee) in employees.iter().enumerate() {
            positions.insert(employee.id.clone(), position);
            if let Some(manager) = &employee.reports_to {
                reports.entry(manager.id.clone()).or_default().push(position);
            }
            for group in &employee.groups {
                members.entry(group.id.clone()).or_default().push(position);
            }
        }
        Self { employees, positions, reports, members, built_at: Instant::now() }
    }

    /// Everyone Keka returned, in Keka's order.
    pub fn employees(&self) -> &[Arc<Employee>] {
        &self.employees
    }

    pub fn employee(&self, id: &str) -> Option<&Arc<Employee>> {
        self.positions.get(id).map(|position| &self.employees[*position])
    }

    /// The people whose `reportsTo` is `manager_id`, in Keka's order.
    pub fn direct_reports(&self, manager_id: &str) -> Vec<Arc<Employee>> {
        self.pick(self.reports.get(manager_id))
    }

    /// The members of a group (any kind: department, location, business unit, custom…), in Keka's order.
    pub fn group_members(&self, group_id: &str) -> Vec<Arc<Employee>> {
        self.pick(self.members.get(group_id))
    }

    /// The employee with this work email (trimmed, case-insensitive).
    pub fn employee_by_email(&self, email: &str) -> Option<&Arc<Employee>> {
        let wanted = email.trim();
        self.employees
            .iter()
            .find(|employee| employee.email.as_deref().is_some_and(|found| found.trim().eq_ignore_ascii_case(wanted)))
    }

    /// How old the snapshot is.
    pub fn age(&self) -> Duration {
        self.built_at.elapsed()
    }

    fn pick(&self, positions: Option<&Vec<usize>>) -> Vec<Arc<Employee>> {
        positions
            .map(|positions| positions.iter().map(|position| self.employees[*position].clone()).collect())
            .unwrap_or_default()
    }
}

/// Whether an employee still works here (Keka's `employmentStatus == Working`).
pub fn is_working(employee: &Employee) -> bool {
    !matches!(employee.employment_status, Some(EmploymentStatus::Relieved))
}

/// Hands out the current snapshot, rebuilding it at most once at a time.
pub struct SnapshotSource {
    keka: CachedKeka,
    ttl: Duration,
    grace: Duration,
    current: RwLock<Option<Arc<OrgSnapshot>>>,
    /// Held by whoever is rebuilding; others either serve the old snapshot or wait here.
    rebuilding: Arc<Mutex<()>>,
}

impl std::fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotSource").field("ttl", &self.ttl).field("grace", &self.grace).finish_non_exhaustive()
    }
}

impl SnapshotSource {
    pub fn new(keka: CachedKeka, ttl: Duration, grace: Duration) -> Arc<Self> {
        Arc::new(Self { keka, ttl, grace, current: RwLock::new(None), rebuilding: Arc::new(Mutex::new(())) })
    }

    fn current(&self) -> Option<Arc<OrgSnapshot>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A snapshot no older than the TTL, or one within its grace period while a rebuild runs in the background.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<OrgSnapshot>, KekaError> {
        if let Some(snapshot) = self.current() {
            let age = snapshot.age();
            if age < self.ttl {
                return Ok(snapshot);
            }
            if age < self.ttl + self.grace {
                self.refresh_in_background();
                return Ok(snapshot);
            }
        }
        let _guard = self.rebuilding.lock().await;
        // Someone else may have rebuilt it while we waited.
        if let Some(snapshot) = self.current()
            && snapshot.age() < self.ttl
        {
            return Ok(snapshot);
        }
        self.rebuild().await
    }

    /// The snapshot if it is within its TTL; never calls Keka.
    pub fn fresh(&self) -> Option<Arc<OrgSnapshot>> {
        self.current().filter(|snapshot| snapshot.age() < self.ttl)
    }

    /// The snapshot if one exists, however old; never calls Keka.
    pub fn peek(&self) -> Option<Arc<OrgSnapshot>> {
        self.current()
    }

    fn refresh_in_background(self: &Arc<Self>) {
        let Ok(guard) = self.rebuilding.clone().try_lock_owned() else {
            return; // a rebuild is already running
        };
        let source = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            if let Err(error) = source.rebuild().await {
                tracing::warn!(%error, "background rebuild of the org snapshot failed; serving the previous one");
            }
        });
    }

    async fn rebuild(&self) -> Result<Arc<OrgSnapshot>, KekaError> {
        let started = Instant::now();
        let employees = self.keka.walk_employee_pages(&EmployeeFilter::default()).await?;
        let snapshot = Arc::new(OrgSnapshot::new(employees));
        tracing::info!(
            employees = snapshot.employees().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built the org snapshot"
        );
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }
}
