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
    /// By work email, trimmed and lower-cased.
    emails: HashMap<String, usize>,
}

impl OrgSnapshot {
    pub fn new(employees: Vec<Arc<Employee>>) -> Self {
        let mut positions = HashMap::with_capacity(employees.len());
        let mut reports: HashMap<String, Vec<usize>> = HashMap::new();
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        let mut emails = HashMap::with_capacity(employees.len());
        for (position, employee) in employees.iter().enumerate() {
            positions.insert(employee.id.clone(), position);
            if let Some(email) = &employee.email {
                emails.entry(email_key(email)).or_insert(position);
            }
            if let Some(manager) = &employee.reports_to {
                reports.entry(manager.id.clone()).or_default().push(position);
            }
            for group in &employee.groups {
                members.entry(group.id.clone()).or_default().push(position);
            }
        }
        Self { employees, positions, reports, members, emails }
    }

    /// This snapshot with `changed` applied: each person already in it replaced where they stand, newcomers after
    /// everyone (Keka's order puts them somewhere we cannot know; cursors carry ids, so no walk minds). Every index is
    /// derived again.
    pub fn with_changes(&self, changed: &[Arc<Employee>]) -> Self {
        let mut employees = self.employees.clone();
        let mut newcomers: HashMap<&str, usize> = HashMap::new();
        for employee in changed {
            match self.positions.get(&employee.id).or_else(|| newcomers.get(employee.id.as_str())) {
                Some(position) => employees[*position] = employee.clone(),
                None => {
                    newcomers.insert(&employee.id, employees.len());
                    employees.push(employee.clone());
                }
            }
        }
        Self::new(employees)
    }

    /// Managers that some of `people` report to but that this snapshot does not hold: a sign it missed someone.
    pub fn unknown_managers<'a>(&self, people: impl IntoIterator<Item = &'a Arc<Employee>>) -> Vec<String> {
        people
            .into_iter()
            .filter_map(|employee| employee.reports_to.as_ref())
            .filter(|manager| !self.positions.contains_key(&manager.id))
            .map(|manager| manager.id.clone())
            .collect()
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
        self.emails.get(&email_key(email)).map(|position| &self.employees[*position])
    }

    fn pick(&self, positions: Option<&Vec<usize>>) -> Vec<Arc<Employee>> {
        positions
            .map(|positions| positions.iter().map(|position| self.employees[*position].clone()).collect())
            .unwrap_or_default()
    }
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str, manager: Option<&str>, group: &str) -> Arc<Employee> {
        let json = serde_json::json!({
            "id": id,
            "displayName": name,
            "email": format!("{id}@example.com"),
            "reportsTo": manager.map(|manager| serde_json::json!({ "id": manager })),
            "groups": [{ "id": group, "title": group, "groupType": 2 }],
        });
        Arc::new(serde_json::from_value(json).unwrap())
    }

    fn ids(people: &[Arc<Employee>]) -> Vec<&str> {
        people.iter().map(|employee| employee.id.as_str()).collect()
    }

    #[test]
    fn changes_replace_people_where_they_stand_add_newcomers_and_rederive_every_index() {
        let before = OrgSnapshot::new(vec![
            person("a", "Ann", None, "g1"),
            person("b", "Bo", Some("a"), "g1"),
            person("c", "Cy", Some("a"), "g2"),
        ]);
        let after = before.with_changes(&[
            person("c", "Cyrus", Some("b"), "g1"),
            person("d", "Di", Some("b"), "g2"),
            person("d", "Dina", Some("b"), "g2"),
        ]);
        assert_eq!(ids(after.employees()), ["a", "b", "c", "d"]);
        assert_eq!(after.employee("c").unwrap().display_name.as_deref(), Some("Cyrus"));
        assert_eq!(after.employee("d").unwrap().display_name.as_deref(), Some("Dina"), "the later record wins");
        assert_eq!(ids(&after.direct_reports("a")), ["b"]);
        assert_eq!(ids(&after.direct_reports("b")), ["c", "d"]);
        assert_eq!(ids(&after.group_members("g1")), ["a", "b", "c"]);
        assert_eq!(ids(&after.group_members("g2")), ["d"]);
        assert_eq!(after.employee_by_email(" D@Example.com ").unwrap().id, "d");
        // The old snapshot is untouched (readers holding it see a consistent org).
        assert_eq!(ids(&before.direct_reports("a")), ["b", "c"]);
        assert!(before.employee("d").is_none());

        let stray = person("e", "Ed", Some("nobody"), "g1");
        assert_eq!(after.unknown_managers([&stray, &after.employees()[1]]), ["nobody"]);
    }
}
