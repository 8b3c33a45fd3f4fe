//! The org snapshot: every employee, walked once and indexed by manager, group and location.
//!
//! Keka cannot filter employees by manager or group, so relationships such as direct reports
//! or group members would otherwise cost one request per node. One walk (`pageSize=200`: 5
//! requests for 1,000 people) answers all of them. The snapshot lives for the cache TTL; after
//! that it is still served for a grace period while one background task rebuilds it, so
//! nobody waits on a rebuild while a usable snapshot exists.

use std::collections::HashMap;
use std::sync::Arc;

use super::cache::CachedKeka;
use super::client::EmployeeFilter;
use super::error::KekaError;
use super::models::{Employee, EmploymentStatus};
use crate::upstream::{Freshness, Refreshing};

/// All employees with the indexes the graph needs. Employees keep Keka's order.
#[derive(Debug)]
pub struct OrgSnapshot {
    employees: Vec<Arc<Employee>>,
    positions: HashMap<String, usize>,
    reports: HashMap<String, Vec<usize>>,
    members: HashMap<String, Vec<usize>>,
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
        Self { employees, positions, reports, members }
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

/// Hands out the current org snapshot, rebuilding it at most once at a time.
pub type SnapshotSource = Refreshing<OrgSnapshot, KekaError>;

impl OrgSnapshot {
    /// The org snapshot of this tenant: one walk of every employee page.
    pub fn source(keka: CachedKeka, freshness: Freshness) -> Arc<SnapshotSource> {
        Refreshing::new("org snapshot", freshness, move || {
            let keka = keka.clone();
            Box::pin(async move {
                let employees = keka.walk_employee_pages(&EmployeeFilter::default()).await?;
                tracing::info!(employees = employees.len(), "walked every employee for the org snapshot");
                Ok(OrgSnapshot::new(employees))
            })
        })
    }
}
