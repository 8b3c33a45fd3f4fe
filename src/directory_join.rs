//! Keka's employees joined to Keeper's accounts by email: who matches whom, and what does not add up.
//!
//! The rule (Keeper's SCIM users carry their address as `userName` and in `emails[]`, in any case and with stray
//! spaces): addresses are trimmed and case-folded; an account holds its
//! `userName` and every `emails[]` address. An employee and an account match when the employee's work email is held
//! by exactly that one account, no other employee has that address, and the account holds no other employee's
//! address. Anything else with more than one candidate is reported as ambiguous, never guessed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

use crate::keeper::{Account, Directory, normalise_email};
use crate::keka::OrgSnapshot;
use crate::keka::models::Employee;

/// An address that more than one account or more than one employee claims.
#[derive(Debug, Clone)]
pub struct Ambiguity {
    pub address: String,
    pub accounts: Vec<Arc<Account>>,
    pub employees: Vec<Arc<Employee>>,
}

#[derive(Debug, Default)]
pub struct EmailJoin {
    account_of_employee: HashMap<String, Arc<Account>>,
    employee_of_account: HashMap<String, Arc<Employee>>,
    /// Ambiguities in the order of the first account involved.
    pub ambiguities: Vec<Ambiguity>,
    /// Accounts none of whose addresses is any employee's work email (contractors, service accounts, leftovers).
    pub accounts_without_employee: Vec<Arc<Account>>,
    /// Employees whose work email no account holds (or who have none), in Keka's order.
    pub employees_without_account: Vec<Arc<Employee>>,
    ambiguous_employees: HashSet<String>,
    ambiguous_accounts: HashSet<String>,
}

impl EmailJoin {
    pub fn new(org: &OrgSnapshot, directory: &Directory) -> Self {
        let mut employees_at: HashMap<String, Vec<Arc<Employee>>> = HashMap::new();
        for employee in org.employees() {
            if let Some(address) = employee.email.as_deref().map(normalise_email).filter(|address| !address.is_empty())
            {
                employees_at.entry(address).or_default().push(employee.clone());
            }
        }
        let mut join = Self::default();
        let mut reported: HashSet<String> = HashSet::new();
        for account in directory.accounts() {
            let claimed: Vec<(&String, &Vec<Arc<Employee>>)> = account
                .addresses
                .iter()
                .filter_map(|address| employees_at.get(address).map(|employees| (address, employees)))
                .collect();
            if claimed.is_empty() {
                join.accounts_without_employee.push(account.clone());
                continue;
            }
            // The account spans two people's addresses: report under each of them.
            let spans_people = claimed.len() > 1;
            for (address, employees) in &claimed {
                let sharing = directory.accounts_with_address(address);
                if sharing.len() == 1 && employees.len() == 1 && !spans_people {
                    join.account_of_employee.insert(employees[0].id.clone(), account.clone());
                    join.employee_of_account.insert(account.id.clone(), employees[0].clone());
                } else if reported.insert((*address).clone()) {
                    join.ambiguous_accounts.extend(sharing.iter().map(|account| account.id.clone()));
                    join.ambiguous_employees.extend(employees.iter().map(|employee| employee.id.clone()));
                    join.ambiguities.push(Ambiguity {
                        address: (*address).clone(),
                        accounts: sharing,
                        employees: (*employees).clone(),
                    });
                }
            }
        }
        if !join.ambiguities.is_empty() {
            // An account spanning people is only ambiguous if another account did not already settle it.
            join.ambiguous_accounts.retain(|id| !join.employee_of_account.contains_key(id));
        }
        join.employees_without_account = org
            .employees()
            .iter()
            .filter(|employee| {
                employee
                    .email
                    .as_deref()
                    .map(normalise_email)
                    .is_none_or(|address| directory.accounts_with_address(&address).is_empty())
            })
            .cloned()
            .collect();
        join
    }

    /// The one account matched to this employee.
    pub fn account_of(&self, employee_id: &str) -> Option<&Arc<Account>> {
        self.account_of_employee.get(employee_id)
    }

    /// The one employee matched to this account.
    pub fn employee_of(&self, account_id: &str) -> Option<&Arc<Employee>> {
        self.employee_of_account.get(account_id)
    }

    pub fn is_ambiguous_employee(&self, employee_id: &str) -> bool {
        self.ambiguous_employees.contains(employee_id)
    }

    pub fn is_ambiguous_account(&self, account_id: &str) -> bool {
        self.ambiguous_accounts.contains(account_id)
    }

    /// Matched pairs, in the directory's order.
    pub fn matches<'a>(
        &'a self,
        directory: &'a Directory,
    ) -> impl Iterator<Item = (&'a Arc<Employee>, &'a Arc<Account>)> {
        directory
            .accounts()
            .iter()
            .filter_map(move |account| self.employee_of(&account.id).map(|employee| (employee, account)))
    }
}

/// The join of the two current snapshots, rebuilt only when one of them changes.
#[derive(Debug, Default)]
pub struct JoinCache {
    /// Weak references: they keep the snapshots' allocations (not their data) alive, so a pointer match cannot be a
    /// new snapshot at a reused address.
    current: std::sync::Mutex<Option<JoinedFrom>>,
}

struct JoinedFrom {
    org: Weak<OrgSnapshot>,
    directory: Weak<Directory>,
    join: Arc<EmailJoin>,
}

impl std::fmt::Debug for JoinedFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinedFrom").finish_non_exhaustive()
    }
}

impl JoinCache {
    pub fn get(&self, org: &Arc<OrgSnapshot>, directory: &Arc<Directory>) -> Arc<EmailJoin> {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(joined) = current.as_ref()
            && std::ptr::eq(joined.org.as_ptr(), Arc::as_ptr(org))
            && std::ptr::eq(joined.directory.as_ptr(), Arc::as_ptr(directory))
        {
            return joined.join.clone();
        }
        let join = Arc::new(EmailJoin::new(org, directory));
        *current =
            Some(JoinedFrom { org: Arc::downgrade(org), directory: Arc::downgrade(directory), join: join.clone() });
        join
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keeper::{ScimGroup, ScimUser};

    fn employee(id: &str, email: Option<&str>) -> Arc<Employee> {
        let json = serde_json::json!({ "id": id, "email": email, "displayName": id, "employmentStatus": 0 });
        Arc::new(serde_json::from_value(json).unwrap())
    }

    fn user(id: &str, user_name: &str, extra: &[&str]) -> ScimUser {
        let mut emails = vec![serde_json::json!({ "value": user_name, "primary": true })];
        emails.extend(extra.iter().map(|value| serde_json::json!({ "value": value })));
        serde_json::from_value(serde_json::json!({
            "id": id, "userName": user_name, "active": true, "emails": emails
        }))
        .unwrap()
    }

    fn ids<T>(items: &[Arc<T>], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|item| id(item).to_owned()).collect()
    }

    #[test]
    fn matches_uniquely_and_reports_everything_else() {
        let org = OrgSnapshot::new(vec![
            employee("e1", Some("Ann@acme.example ")),
            employee("e2", Some("bob@acme.example")),
            employee("e3", Some("cy@acme.example")),
            employee("e4", Some("dup@acme.example")),
            employee("e5", Some("dup@acme.example")),
            employee("e6", None),
            employee("e7", Some("two@acme.example")),
            employee("e8", Some("also@acme.example")),
        ]);
        let directory = Directory::new(
            "1".to_owned(),
            vec![
                user("a1", "ann@ACME.example", &[]),
                user("b1", "bob@acme.example", &[]),
                user("b2", "robert@idp.example", &["BOB@acme.example"]),
                user("d1", "dup@acme.example", &[]),
                user("s1", "svc@acme.example", &[]),
                user("t1", "two@acme.example", &["also@acme.example"]),
            ],
            Vec::<ScimGroup>::new(),
        );
        let join = EmailJoin::new(&org, &directory);
        assert_eq!(join.account_of("e1").map(|account| account.id.as_str()), Some("a1"));
        assert_eq!(join.employee_of("a1").map(|employee| employee.id.as_str()), Some("e1"));
        for unmatched in ["e2", "e4", "e5", "e7", "e8", "e3", "e6"] {
            assert!(join.account_of(unmatched).is_none(), "{unmatched}");
        }
        let reported: Vec<(String, Vec<String>, Vec<String>)> = join
            .ambiguities
            .iter()
            .map(|ambiguity| {
                (ambiguity.address.clone(), ids(&ambiguity.accounts, |a| &a.id), ids(&ambiguity.employees, |e| &e.id))
            })
            .collect();
        assert_eq!(
            reported,
            [
                ("bob@acme.example".to_owned(), vec!["b1".to_owned(), "b2".to_owned()], vec!["e2".to_owned()]),
                ("dup@acme.example".to_owned(), vec!["d1".to_owned()], vec!["e4".to_owned(), "e5".to_owned()]),
                ("two@acme.example".to_owned(), vec!["t1".to_owned()], vec!["e7".to_owned()]),
                ("also@acme.example".to_owned(), vec!["t1".to_owned()], vec!["e8".to_owned()]),
            ]
        );
        assert_eq!(ids(&join.accounts_without_employee, |a| &a.id), ["s1"]);
        assert_eq!(ids(&join.employees_without_account, |e| &e.id), ["e3", "e6"]);
        assert!(
            join.is_ambiguous_employee("e2") && join.is_ambiguous_account("b2") && !join.is_ambiguous_account("a1")
        );
    }
}
