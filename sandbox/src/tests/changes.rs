//! HR changes: the tenant's invariants after many changes, and the admin route, the
//! `lastModified` filter, the background task and the webhooks through real loopback requests.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Harness, config, today};
use crate::tenant::{
    ChangeDetail, ChangeKind, EmploymentStatus, ExitStatus, LeaveStatus, SystemGroupType, Tenant, TenantParams,
};
use crate::{HrChangeRequest, RunningSandbox, SandboxConfig};

const EMPLOYEES: &str = "/api/v1/hris/employees";
const CHANGES: &str = "/__sandbox/hr/changes";
/// Upper bound for anything a test waits on (a webhook, a counter).
const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The tenant after changes

/// Everything generation promises, checked after changes.
fn assert_consistent(t: &Tenant) {
    let n = t.employees.len();
    assert_eq!(t.employees.iter().filter(|e| e.reports_to.is_none()).count(), 1, "exactly one root");
    let mut listed = t.listing.clone();
    listed.sort_unstable();
    assert_eq!(listed, (0..n).collect::<Vec<_>>(), "everyone is listed once");
    for (i, e) in t.employees.iter().enumerate() {
        assert_eq!(t.employee_index(e.id), Some(i), "index of {}", e.employee_number);
        assert_eq!(super::steps_to_root(t, i), e.depth as usize, "depth of {}", e.employee_number);
        if let Some(m) = e.reports_to {
            assert_eq!(t.employees[m].employment_status, EmploymentStatus::Working, "nobody reports to a leaver");
        }
        if let Some(d) = e.dotted_line_manager {
            assert_ne!(Some(d), e.reports_to);
            assert_ne!(d, i);
        }
        for kind in [
            SystemGroupType::BusinessUnit,
            SystemGroupType::Department,
            SystemGroupType::OrgLocation,
            SystemGroupType::CostCenter,
        ] {
            assert_eq!(e.groups.iter().filter(|&&g| t.groups[g].kind == kind).count(), 1, "{kind:?}");
        }
        assert_eq!(t.employee_group(e, SystemGroupType::Department).unwrap().id, t.departments[e.department].id);
        assert_eq!(e.display_name, format!("{} {}", e.first_name, e.last_name));
        if e.employment_status == EmploymentStatus::Relieved {
            assert_eq!(e.exit_status, ExitStatus::Completed);
            assert!(e.exit_date.is_some() && e.resignation_submitted_date.is_some());
        }
    }
    assert_eq!(t.leave_balances.len(), n);
    let key = |r: &crate::tenant::LeaveRequest| (r.from_date, r.employee, r.to_date);
    assert!(t.leave_requests.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "requests in generation's order");
    let indexed: usize = (0..n).map(|i| t.leave_requests_of(i).filter(|r| r.employee == i).count()).sum();
    assert_eq!(indexed, t.leave_requests.len(), "every request indexed under its employee");
    for b in t.leave_balances.iter().flatten().filter(|b| b.annual_quota > 0.0) {
        assert!((b.accrued - b.consumed - b.available).abs() < 1e-9 && b.available >= 0.0);
    }
    assert_eq!(t.employees.iter().map(|e| e.id).collect::<HashSet<_>>().len(), n, "unique ids");
    assert_eq!(t.employees.iter().map(|e| &e.employee_number).collect::<HashSet<_>>().len(), n, "unique numbers");
    assert_eq!(t.employees.iter().map(|e| e.email.to_lowercase()).collect::<HashSet<_>>().len(), n, "unique e-mails");
    assert!(t.employees.windows(2).all(|w| w[0].employee_number < w[1].employee_number), "sorted by number");
    for d in &t.departments {
        assert!(d.heads.iter().all(|&h| t.employees[h].employment_status == EmploymentStatus::Working));
        // Every department is its Department group: same id and name.
        let g = &t.groups[d.group];
        assert_eq!((g.kind, g.id, &g.name), (SystemGroupType::Department, d.id, &d.name), "group of {}", d.name);
        assert_eq!(t.group_types[g.group_type].system_group_type, SystemGroupType::Department);
    }
    let department_groups = t.groups.iter().filter(|g| g.kind == SystemGroupType::Department).count();
    assert_eq!(department_groups, t.departments.len(), "a group per department and no other Department group");
    let names: HashSet<String> = t.departments.iter().map(|d| d.name.to_lowercase()).collect();
    assert_eq!(names.len(), t.departments.len(), "unique department names");
    assert_eq!(t.groups.iter().map(|g| g.id).collect::<HashSet<_>>().len(), t.groups.len(), "unique group ids");
    assert_eq!(t.groups.iter().map(|g| &g.code).collect::<HashSet<_>>().len(), t.groups.len(), "unique group codes");
}

fn at(n: i64) -> NaiveDateTime {
    today().and_hms_opt(23, 0, 0).unwrap() + chrono::TimeDelta::seconds(n)
}

#[test]
fn hundreds_of_random_changes_keep_the_tenant_consistent_and_stamp_what_they_touch() {
    let mut t =
        Tenant::generate(TenantParams { seed: 9, employees: 300, today: today(), location_ids_match_groups: true });
    let before = t.employees.len();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut counts: HashMap<ChangeKind, usize> = HashMap::new();
    let mut transfers = 0;
    let kinds = ChangeKind::ALL.len();
    for step in 0..100 * kinds {
        if step > 0 && step % 50 == 0 {
            assert_consistent(&t);
        }
        let kind = ChangeKind::ALL[step % kinds];
        let stamp = at(step as i64);
        let departments: Vec<usize> = t.employees.iter().map(|e| e.department).collect();
        let balances = t.leave_balances.clone();
        let change = t.apply_change(kind, &mut rng, stamp).expect("a 300-person tenant can take any change");
        *counts.entry(kind).or_default() += 1;
        assert_eq!(change.kind, kind);
        if matches!(kind, ChangeKind::Leave | ChangeKind::Department) {
            assert!(change.affected.is_empty());
            assert!(t.employees.iter().all(|e| e.last_modified != stamp), "{kind:?} stamps nobody");
        } else {
            assert_eq!(Some(change.affected[0]), change.employee);
        }
        for &i in &change.affected {
            assert_eq!(t.employees[i].last_modified, stamp);
        }
        let Some(who) = change.employee else {
            let ChangeDetail::Department { department } = change.detail else {
                panic!("only a department is about nobody: {change:?}")
            };
            assert_eq!(department, t.departments.len() - 1, "appended");
            let d = &t.departments[department];
            assert_eq!((d.last_modified, t.groups[d.group].last_modified), (stamp, stamp));
            assert!(t.employees.iter().all(|e| e.department != department), "nobody in it");
            continue;
        };
        let e = &t.employees[who];
        match &change.detail {
            ChangeDetail::Hire { manager } => {
                assert_eq!(e.reports_to, Some(*manager));
                assert_eq!(e.joining_date, today());
                assert_eq!(t.employees[*manager].employment_status, EmploymentStatus::Working);
            }
            ChangeDetail::Exit { manager, reassigned } => {
                assert_eq!(e.employment_status, EmploymentStatus::Relieved);
                assert_eq!(e.exit_date, Some(today()));
                for &r in reassigned {
                    assert_eq!(t.employees[r].reports_to, Some(*manager));
                }
            }
            ChangeDetail::Move { from, to } => {
                assert_ne!(from, to);
                assert_eq!(e.reports_to, Some(*to));
                if e.department != departments[who] {
                    // A transfer: into the new manager's department, as an individual contributor.
                    assert_eq!(e.department, t.employees[*to].department);
                    assert!(t.employees.iter().all(|r| r.reports_to != Some(who)));
                    transfers += 1;
                }
            }
            ChangeDetail::Rename { display_name, .. } => assert_ne!(&e.display_name, display_name),
            ChangeDetail::Leave { request, leave_type, from, to, days } => {
                assert_eq!(e.employment_status, EmploymentStatus::Working);
                assert_eq!(*from, stamp.date());
                assert!(*days == 1.0 || *days == 2.0, "{days}");
                assert!(e.employed_on(*to));
                let r = t.leave_requests_of(who).find(|r| r.id == *request).expect("indexed");
                assert_eq!((r.from_date, r.to_date, r.leave_type, r.days), (*from, *to, *leave_type, *days));
                assert_eq!(r.status, LeaveStatus::Approved);
                let own = t.leave_requests_of(who).filter(|o| o.overlaps(*from, *to)).count();
                assert_eq!(own, 1, "no other request of theirs on those days");
                assert_eq!(t.leave_requests.iter().filter(|o| o.id == *request).count(), 1, "a fresh id");
                let balance = |all: &[Vec<crate::tenant::LeaveBalance>]| {
                    let b = all[who].iter().find(|b| b.leave_type == *leave_type).unwrap();
                    (b.consumed, b.available)
                };
                let (consumed, available) = balance(&balances);
                assert_eq!(balance(&t.leave_balances), (consumed + days, available - days));
            }
            ChangeDetail::Department { .. } => unreachable!("about nobody, handled above"),
        }
    }
    assert_consistent(&t);
    assert_eq!(counts.len(), kinds);
    assert_eq!(t.employees.len(), before + 100);
    assert!(counts.values().all(|&n| n == 100));
    assert!(transfers > 0, "some moves cross departments");
    // Nothing else was stamped with a change's time.
    let stamped = t.employees.iter().filter(|e| e.last_modified >= at(0)).count();
    assert!(stamped >= 200, "{stamped}");
}

#[test]
fn a_tenant_of_one_takes_only_hires_and_renames() {
    let mut t =
        Tenant::generate(TenantParams { seed: 3, employees: 1, today: today(), location_ids_match_groups: true });
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert!(t.apply_change(ChangeKind::Exit, &mut rng, at(0)).is_none(), "the CEO never leaves");
    assert!(t.apply_change(ChangeKind::Move, &mut rng, at(0)).is_none());
    assert!(t.apply_change(ChangeKind::Rename, &mut rng, at(1)).is_some());
    assert!(t.apply_change(ChangeKind::Hire, &mut rng, at(2)).is_some());
    assert_eq!(t.employees[1].reports_to, Some(0));
    assert_consistent(&t);
}

#[test]
fn new_departments_take_unused_names_before_numbered_ones_and_touch_no_employee() {
    let mut t =
        Tenant::generate(TenantParams { seed: 5, employees: 40, today: today(), location_ids_match_groups: false });
    let generated: HashSet<String> = t.departments.iter().map(|d| d.name.clone()).collect();
    let (departments, groups) = (t.departments.len(), t.groups.len());
    let employees: Vec<(String, NaiveDateTime, usize)> =
        t.employees.iter().map(|e| (e.display_name.clone(), e.last_modified, e.department)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut suffixes = Vec::new();
    for n in 0..40 {
        let change = t.apply_change(ChangeKind::Department, &mut rng, at(n)).expect("a department needs nobody");
        assert_eq!((change.kind, change.employee, change.affected.len()), (ChangeKind::Department, None, 0));
        let ChangeDetail::Department { department } = change.detail else { panic!("{change:?}") };
        let d = &t.departments[department];
        assert!(!generated.contains(&d.name), "{} is generated", d.name);
        assert!(d.heads.is_empty() && !d.is_archived, "{d:?}");
        assert_eq!(d.last_modified, at(n));
        assert!(d.parent.is_none_or(|p| p < departments), "a generated parent, if any");
        let g = &t.groups[d.group];
        assert_eq!((g.id, &g.name, g.kind, g.last_modified), (d.id, &d.name, SystemGroupType::Department, at(n)));
        assert!(g.code.starts_with("DEPT-"), "{}", g.code);
        assert_eq!(g.id.to_string().len(), t.departments[0].id.to_string().len(), "the same id format");
        // `<pool name> <n>` only once the pool is used up, and round by round.
        let suffix = d.name.rsplit_once(' ').and_then(|(_, n)| n.parse::<u32>().ok()).unwrap_or(1);
        if suffix > 1 {
            let base = d.name.rsplit_once(' ').unwrap().0;
            assert!(t.departments.iter().any(|o| o.name == base), "{} before {base}", d.name);
        }
        suffixes.push(suffix);
    }
    assert!(suffixes.windows(2).all(|w| w[0] <= w[1]), "{suffixes:?}");
    assert!(suffixes.contains(&1) && suffixes.contains(&3), "{suffixes:?}");
    assert_eq!((t.departments.len(), t.groups.len()), (departments + 40, groups + 40));
    let after: Vec<(String, NaiveDateTime, usize)> =
        t.employees.iter().map(|e| (e.display_name.clone(), e.last_modified, e.department)).collect();
    assert_eq!(after, employees, "no employee record changed");
    assert_consistent(&t);
}

// ---------------------------------------------------------------------------------------------
// Through HTTP

impl Harness {
    async fn post_changes(&self, body: &Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}{CHANGES}", self.origin())).json(body).send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn admin_stats(&self) -> Value {
        let url = format!("{}/__sandbox/stats", self.origin());
        self.client.get(url).send().await.expect("request sent").json().await.expect("JSON body")
    }

    /// Ids of every employee `lastModified=<since>` returns (all pages).
    async fn modified_since(&self, since: &str) -> HashSet<String> {
        let items = self.get_all(&format!("{EMPLOYEES}?lastModified={since}&pageSize=200")).await;
        items.iter().map(|e| e["id"].as_str().expect("id").to_owned()).collect()
    }
}

fn ids(values: &Value) -> HashSet<String> {
    values.as_array().expect("array").iter().map(|v| v.as_str().expect("id").to_owned()).collect()
}

/// Union of `affectedEmployeeIds` of a list of changes.
fn affected(changes: &Value) -> HashSet<String> {
    changes.as_array().expect("changes").iter().flat_map(|c| ids(&c["affectedEmployeeIds"])).collect()
}

/// A client's "UTC now minus a margin", without an offset (Keka's convention).
fn client_since() -> String {
    (Utc::now().naive_utc() - chrono::TimeDelta::seconds(2)).format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[tokio::test]
async fn a_last_modified_query_right_after_changes_returns_exactly_the_changed_employees() {
    let h = Harness::start(config()).await;
    let stats = h.admin_stats().await;
    assert_eq!(
        (&stats["hr_changes"], &stats["webhooks_sent"], &stats["webhooks_failed"]),
        (&json!(0), &json!(0), &json!(0))
    );
    let since = client_since();
    assert!(h.modified_since(&since).await.is_empty(), "nothing changed yet");

    let (status, changes) = h.post_changes(&json!({"hires": 2, "exits": 1, "moves": 3, "renames": 2})).await;
    assert_eq!(status, 200, "{changes}");
    let list = changes.as_array().unwrap();
    let kinds: Vec<&str> = list.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hire", "hire", "exit", "move", "move", "move", "rename", "rename"]);
    for c in list {
        assert_eq!(c["affectedEmployeeIds"][0], c["employeeId"]);
        let at = c["at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == "2026-01-01T00:00:00.000Z".len(), "{at}");
    }
    let stamps: Vec<&str> = list.iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");

    let expected = affected(&changes);
    assert_eq!(h.modified_since(&since).await, expected);
    // The same instant with an offset, and as UTC with `Z`, selects the same.
    assert_eq!(h.modified_since(&format!("{since}Z")).await, expected);
    assert_eq!(h.modified_since(&format!("{since}%2B00:00")).await, expected);
    // From the `at` of a change on: that change and later ones only.
    let last = &list[list.len() - 1];
    assert_eq!(h.modified_since(last["at"].as_str().unwrap()).await, ids(&last["affectedEmployeeIds"]));
    let from_moves: HashSet<String> = list[3..].iter().flat_map(|c| ids(&c["affectedEmployeeIds"])).collect();
    assert_eq!(h.modified_since(list[3]["at"].as_str().unwrap()).await, from_moves);

    assert_eq!(h.admin_stats().await["hr_changes"], 8);
    assert_eq!(h.sandbox.stats().hr_changes, 8);
    // The admin route is not an API request.
    assert_eq!(h.sandbox.stats().count(CHANGES), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn hires_appear_in_the_full_list_and_in_total_records() {
    let h = Harness::start(config()).await;
    let (_, before) = h.get_json(&format!("{EMPLOYEES}?pageSize=1")).await;
    assert_eq!(before["totalRecords"], 250);

    let (status, changes) = h.post_changes(&json!({"hires": 3})).await;
    assert_eq!(status, 200);
    let (_, after) = h.get_json(&format!("{EMPLOYEES}?pageSize=1")).await;
    assert_eq!(after["totalRecords"], 253);
    let all = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    assert_eq!(all.len(), 253);
    let by_id: HashMap<&str, &Value> = all.iter().map(|e| (e["id"].as_str().unwrap(), e)).collect();
    assert_eq!(by_id.len(), 253);
    // Hires take the next numbers, but land anywhere in the listing (Keka's order is not creation order).
    let mut numbers: Vec<&str> = all.iter().map(|e| e["employeeNumber"].as_str().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(&numbers[250..], ["ACM00251", "ACM00252", "ACM00253"]);

    for c in changes.as_array().unwrap() {
        let id = c["employeeId"].as_str().unwrap();
        let (status, body) = h.get_json(&format!("{EMPLOYEES}/{id}")).await;
        assert_eq!(status, 200);
        let e = &body["data"];
        assert_eq!(*by_id[id], *e);
        assert_eq!(e["employmentStatus"], 0);
        assert_eq!(e["joiningDate"], format!("{}T00:00:00", today()));
        assert_eq!(e["displayName"], c["displayName"]);
        assert_eq!(e["employeeNumber"], c["employeeNumber"]);
        assert!(e["email"].as_str().unwrap().ends_with("@acme.example"));
        assert!(e["jobTitle"]["title"].as_str().is_some_and(|t| !t.is_empty()));
        let group_types: HashSet<i64> =
            e["groups"].as_array().unwrap().iter().map(|g| g["groupType"].as_i64().unwrap()).collect();
        assert!([1, 2, 3, 4].iter().all(|k| group_types.contains(k)), "{group_types:?}");
        // Reports to a working employee, the one the change names.
        assert_eq!(e["reportsTo"]["id"], c["reportsTo"]);
        let manager = by_id[c["reportsTo"].as_str().unwrap()];
        assert_eq!(manager["employmentStatus"], 0);
        // Found by the filters a client uses.
        let (_, found) =
            h.get_json(&format!("{EMPLOYEES}?employeeNumbers={}", c["employeeNumber"].as_str().unwrap())).await;
        assert_eq!(found["data"][0]["id"], id);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn an_exit_shows_relieved_and_its_reports_move_to_the_leavers_manager() {
    let h = Harness::start(config()).await;
    let mut leavers = HashSet::new();
    let mut reassigned = 0;
    // Most people manage nobody: exit one at a time until a manager has left (bounded).
    for _ in 0..40 {
        if reassigned > 0 && leavers.len() >= 5 {
            break;
        }
        let (status, changes) = h.post_changes(&json!({"exits": 1})).await;
        assert_eq!(status, 200);
        let c = &changes[0];
        let id = c["employeeId"].as_str().unwrap();
        leavers.insert(id.to_owned());
        let (_, body) = h.get_json(&format!("{EMPLOYEES}/{id}")).await;
        let e = &body["data"];
        assert_eq!(e["employmentStatus"], 1, "relieved");
        assert_eq!(e["exitStatus"], 2, "exit completed");
        assert_eq!(e["accountStatus"], 2, "account disabled");
        assert_eq!(e["exitDate"], format!("{}T00:00:00", today()));
        assert!(e["resignationSubmittedDate"].is_string());
        assert!(matches!(e["exitType"].as_i64(), Some(1 | 2)));
        assert!(e["exitReason"].is_string());
        // Their reports now report to the leaver's manager, and are part of the change.
        assert_eq!(e["reportsTo"]["id"], c["reportsTo"], "the leaver's own manager is kept");
        let touched = ids(&c["affectedEmployeeIds"]);
        for r in ids(c.get("reassignedEmployeeIds").unwrap_or(&json!([]))) {
            let (_, report) = h.get_json(&format!("{EMPLOYEES}/{r}")).await;
            assert_eq!(report["data"]["reportsTo"]["id"], c["reportsTo"]);
            assert!(touched.contains(&r));
            reassigned += 1;
        }
    }
    assert!(reassigned > 0, "at least one leaver had reports");
    // Nobody reports to a leaver, and the Relieved filter finds them.
    let all = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    let by_id: HashMap<&str, &Value> = all.iter().map(|e| (e["id"].as_str().unwrap(), e)).collect();
    for e in &all {
        if let Some(m) = e["reportsTo"]["id"].as_str() {
            assert_eq!(by_id[m]["employmentStatus"], 0, "{} reports to a leaver", e["employeeNumber"]);
        }
    }
    let relieved = h.get_all(&format!("{EMPLOYEES}?employmentStatus=Relieved&pageSize=200")).await;
    let relieved: HashSet<String> = relieved.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert!(leavers.is_subset(&relieved));
    assert_tree(&all);
    h.shutdown().await;
}

/// Walks `reportsTo` from everyone: one root, no cycles.
fn assert_tree(all: &[Value]) {
    let manager: HashMap<&str, Option<&str>> =
        all.iter().map(|e| (e["id"].as_str().unwrap(), e["reportsTo"]["id"].as_str())).collect();
    assert_eq!(manager.values().filter(|m| m.is_none()).count(), 1, "one root");
    for start in manager.keys() {
        let mut cur = *start;
        let mut steps = 0;
        while let Some(Some(m)) = manager.get(cur) {
            cur = m;
            steps += 1;
            assert!(steps <= all.len(), "cycle above {start}");
        }
    }
}

#[tokio::test]
async fn a_move_changes_reports_to_without_creating_a_cycle() {
    let h = Harness::start(config()).await;
    let before = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    let (status, changes) = h.post_changes(&json!({"moves": 10})).await;
    assert_eq!(status, 200);
    let after = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    assert_tree(&after);
    let old: HashMap<&str, &Value> = before.iter().map(|e| (e["id"].as_str().unwrap(), e)).collect();
    let new: HashMap<&str, &Value> = after.iter().map(|e| (e["id"].as_str().unwrap(), e)).collect();
    let list = changes.as_array().unwrap();
    assert_eq!(list.len(), 10);
    let moved: HashSet<&str> = list.iter().map(|c| c["employeeId"].as_str().unwrap()).collect();
    for c in list {
        let id = c["employeeId"].as_str().unwrap();
        assert_ne!(c["reportsTo"], c["previousReportsTo"]);
        assert_ne!(c["reportsTo"].as_str(), Some(id), "never their own manager");
        assert_eq!(c["affectedEmployeeIds"], json!([id]));
        assert_eq!(new[id]["employmentStatus"], 0);
        assert_eq!(new[c["reportsTo"].as_str().unwrap()]["employmentStatus"], 0);
        if list.iter().filter(|o| o["employeeId"] == c["employeeId"]).count() == 1 {
            assert_eq!(old[id]["reportsTo"]["id"], c["previousReportsTo"]);
            assert_eq!(new[id]["reportsTo"]["id"], c["reportsTo"]);
        }
    }
    // Nobody else's manager changed.
    for (id, e) in &new {
        if !moved.contains(id) {
            assert_eq!(e["reportsTo"]["id"], old[id]["reportsTo"]["id"]);
        }
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_rename_changes_the_names() {
    let h = Harness::start(config()).await;
    let (status, changes) = h.post_changes(&json!({"renames": 4})).await;
    assert_eq!(status, 200);
    for c in changes.as_array().unwrap() {
        let (_, body) = h.get_json(&format!("{EMPLOYEES}/{}", c["employeeId"].as_str().unwrap())).await;
        let e = &body["data"];
        assert_eq!(e["displayName"], c["displayName"]);
        assert_ne!(c["displayName"], c["previousDisplayName"]);
        assert_eq!(
            e["displayName"].as_str().unwrap(),
            format!("{} {}", e["firstName"].as_str().unwrap(), e["lastName"].as_str().unwrap())
        );
        // The search key finds the new name.
        let last = e["lastName"].as_str().unwrap();
        if last.chars().count() >= 3 {
            let (_, found) = h.get_json(&format!("{EMPLOYEES}?searchKey={last}&pageSize=200")).await;
            assert!(found["data"].as_array().unwrap().iter().any(|f| f["id"] == c["employeeId"]));
        }
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_leave_request_is_listed_approved_and_consumes_balance_without_touching_the_employee() {
    let h = Harness::start(config()).await;
    let employees_before = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    let balances_before = h.get_all("/api/v1/time/leavebalance?pageSize=200").await;
    let since = client_since();

    let (status, changes) = h.post_changes(&json!({"leaves": 1})).await;
    assert_eq!(status, 200, "{changes}");
    assert_eq!(changes.as_array().unwrap().len(), 1);
    let c = &changes[0];
    assert_eq!(c["kind"], "leave");
    assert_eq!(c["eventType"], "LeaveRequested");
    assert_eq!(c["affectedEmployeeIds"], json!([]), "no employee record changed");
    for absent in ["reportsTo", "reassignedEmployeeIds", "previousReportsTo", "previousDisplayName"] {
        assert!(c.get(absent).is_none(), "{absent} in {c}");
    }
    let id = c["employeeId"].as_str().unwrap();
    let request_id = c["leaveRequestId"].as_str().expect("leaveRequestId");
    let me = employees_before.iter().find(|e| e["id"] == id).expect("an existing employee");
    assert_eq!(me["employmentStatus"], 0, "a working employee");
    assert_eq!((&c["employeeNumber"], &c["displayName"]), (&me["employeeNumber"], &me["displayName"]));

    // Listed for the day of the change (its UTC date) and for a wider window around it.
    let day = NaiveDate::parse_from_str(&c["at"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap();
    let path = "/api/v1/time/leaverequests";
    let (status, listed) = h.get_json(&format!("{path}?from={day}&to={day}&employeeIds={id}")).await;
    assert_eq!(status, 200);
    let found: Vec<&Value> = listed["data"].as_array().unwrap().iter().filter(|r| r["id"] == request_id).collect();
    assert_eq!(found.len(), 1, "{listed}");
    let r = found[0];
    assert_eq!(r["employeeIdentifier"], id);
    assert_eq!(r["employeeNumber"], c["employeeNumber"]);
    assert_eq!(r["status"], 1, "approved");
    assert_eq!(r["fromDate"], format!("{day}T00:00:00"));
    let to = NaiveDate::parse_from_str(&r["toDate"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap();
    assert!(to >= day && (to - day).num_days() < 14, "{to}");
    let selection = &r["selection"][0];
    let days = selection["count"].as_f64().unwrap();
    assert!(days == 1.0 || days == 2.0, "{days}");
    let wide = h.get_all(&format!("{path}?from={}&to={}&pageSize=200", day - chrono::Days::new(10), to)).await;
    assert_eq!(wide.iter().filter(|w| w["id"] == request_id).count(), 1);

    // The balance of that type went down by the days taken; nothing else moved.
    let leave_type = selection["leaveTypeIdentifier"].as_str().unwrap();
    let (_, after) = h.get_json(&format!("/api/v1/time/leavebalance?employeeIds={id}")).await;
    let before = balances_before.iter().find(|b| b["employeeIdentifier"] == id).unwrap();
    let by_type = |item: &Value| -> HashMap<String, (f64, f64, f64)> {
        item["leaveBalance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let amount = |k: &str| b[k].as_f64().unwrap();
                let key = b["leaveTypeId"].as_str().unwrap().to_owned();
                (key, (amount("accruedAmount"), amount("consumedAmount"), amount("availableBalance")))
            })
            .collect()
    };
    let (old, mut new) = (by_type(before), by_type(&after["data"][0]));
    let (accrued, consumed, available) = old[leave_type];
    assert!(available >= days, "the employee had balance for it");
    assert_eq!(new.remove(leave_type), Some((accrued, consumed + days, available - days)));
    assert!(new.iter().all(|(t, b)| old[t] == *b), "other types unchanged");
    let (_, types) = h.get_json("/api/v1/time/leavetypes").await;
    let name =
        types["data"].as_array().unwrap().iter().find(|t| t["identifier"] == leave_type).unwrap()["name"].clone();
    assert_eq!(selection["leaveTypeName"], name);

    // Not an employee change: no `lastModified` poll returns anyone, and every profile is as it was.
    assert!(h.modified_since(&since).await.is_empty());
    assert!(!h.modified_since(c["at"].as_str().unwrap()).await.contains(id));
    assert_eq!(h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await, employees_before);
    assert_eq!(h.admin_stats().await["hr_changes"], 1);
    h.shutdown().await;
}

/// `at` of a change moved by `ms` milliseconds, as a query value without an offset.
fn at_plus(at: &Value, ms: i64) -> String {
    let at = NaiveDateTime::parse_from_str(at.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3fZ").unwrap();
    (at + chrono::TimeDelta::milliseconds(ms)).format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

#[tokio::test]
async fn a_new_department_is_listed_as_a_department_and_a_department_group_without_touching_employees() {
    const DEPARTMENTS: &str = "/api/v1/hris/departments";
    const GROUPS: &str = "/api/v1/hris/groups";
    let h = Harness::start(config()).await;
    let employees_before = h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await;
    let departments_before = h.get_all(&format!("{DEPARTMENTS}?pageSize=200")).await;
    let groups_before = h.get_all(&format!("{GROUPS}?pageSize=200")).await;
    let since = client_since();

    let (status, changes) = h.post_changes(&json!({"departments": 1})).await;
    assert_eq!(status, 200, "{changes}");
    assert_eq!(changes.as_array().unwrap().len(), 1);
    let c = &changes[0];
    let keys: HashSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    let expected = [
        "kind",
        "employeeId",
        "employeeNumber",
        "displayName",
        "at",
        "eventType",
        "affectedEmployeeIds",
        "departmentId",
        "departmentName",
    ];
    assert_eq!(keys, HashSet::from(expected), "{c}");
    assert_eq!(c["kind"], "department");
    assert_eq!((&c["employeeId"], &c["employeeNumber"], &c["displayName"]), (&json!(""), &json!(""), &json!("")));
    assert_eq!(c["eventType"], "", "Keka has no department event");
    assert_eq!(c["affectedEmployeeIds"], json!([]), "no employee record changed");
    let id = c["departmentId"].as_str().expect("departmentId");
    let name = c["departmentName"].as_str().expect("departmentName");
    assert!(!name.is_empty());
    assert!(departments_before.iter().all(|d| d["id"] != id && d["name"] != name), "a new id and name");
    assert_eq!(id.len(), departments_before[0]["id"].as_str().unwrap().len(), "the same id format");

    // Only it changed since a moment before the change, from `at` on, and nothing after it.
    let (status, body) = h.get_json(&format!("{DEPARTMENTS}?lastModified={since}")).await;
    assert_eq!(status, 200);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    let d = &listed[0];
    assert_eq!((&d["id"], &d["name"]), (&json!(id), &json!(name)));
    assert_eq!((&d["isArchived"], &d["departmentHeads"]), (&json!(false), &json!([])), "empty: no head");
    if let Some(parent) = d["parentId"].as_str() {
        assert!(departments_before.iter().any(|p| p["id"] == parent), "parent {parent} exists");
    }
    for from in [at_plus(&c["at"], -1), at_plus(&c["at"], 0), c["at"].as_str().unwrap().to_owned()] {
        let (_, body) = h.get_json(&format!("{DEPARTMENTS}?lastModified={from}")).await;
        assert_eq!(body["data"], json!([d]), "lastModified={from}");
    }
    let (_, body) = h.get_json(&format!("{DEPARTMENTS}?lastModified={}", at_plus(&c["at"], 1))).await;
    assert_eq!(body["data"], json!([]));
    let (_, body) = h.get_json(&format!("{DEPARTMENTS}?departmentIds={id}")).await;
    assert_eq!(body["data"], json!([d]));
    // Among the others in the full list, which are as they were.
    let all = h.get_all(&format!("{DEPARTMENTS}?pageSize=200")).await;
    assert_eq!(all.len(), departments_before.len() + 1);
    assert_eq!(all.iter().filter(|o| o["id"] != id).cloned().collect::<Vec<_>>(), departments_before);
    assert!(all.contains(d));

    // And a group of the system type Department, with the same id, name and `lastModified`.
    let (_, types) = h.get_json("/api/v1/hris/grouptypes").await;
    let department_type =
        types["data"].as_array().unwrap().iter().find(|t| t["systemGroupType"] == 2).expect("Department type")["id"]
            .clone();
    let (status, body) = h.get_json(&format!("{GROUPS}?lastModified={since}")).await;
    assert_eq!(status, 200);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    let g = &listed[0];
    assert_eq!((&g["id"], &g["name"], &g["groupTypeId"]), (&json!(id), &json!(name), &department_type));
    assert!(g["code"].as_str().is_some_and(|code| code.starts_with("DEPT-")), "{g}");
    assert!(groups_before.iter().all(|o| o["code"] != g["code"]), "a code no group has");
    let (_, body) = h.get_json(&format!("{GROUPS}?lastModified={}", at_plus(&c["at"], 0))).await;
    assert_eq!(body["data"], json!([g]));
    let (_, body) = h.get_json(&format!("{GROUPS}?lastModified={}", at_plus(&c["at"], 1))).await;
    assert_eq!(body["data"], json!([]));
    let department_groups = h.get_all(&format!("{GROUPS}?systemGroupTypes=2&pageSize=200")).await;
    assert_eq!(department_groups.len(), all.len(), "a group per department");
    assert!(department_groups.contains(g));
    assert_eq!(h.get_all(&format!("{GROUPS}?pageSize=200")).await.len(), groups_before.len() + 1);

    // Nobody belongs to it and no employee changed.
    assert!(h.modified_since(&since).await.is_empty());
    assert_eq!(h.get_all(&format!("{EMPLOYEES}?pageSize=200")).await, employees_before);

    // More of them: new names, each listed from its own `at` on.
    let (_, more) = h.post_changes(&json!({"departments": 2})).await;
    let more = more.as_array().unwrap();
    let names: HashSet<&str> =
        more.iter().map(|m| m["departmentName"].as_str().unwrap()).chain(std::iter::once(name)).collect();
    assert_eq!(names.len(), 3, "{more:?}");
    let (_, body) = h.get_json(&format!("{DEPARTMENTS}?lastModified={}", at_plus(&more[1]["at"], 0))).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["id"], more[1]["departmentId"]);
    let (_, body) = h.get_json(&format!("{GROUPS}?lastModified={since}")).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
    assert!(h.modified_since(&since).await.is_empty());
    assert_eq!(h.admin_stats().await["hr_changes"], 3);
    h.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_changes() {
    let without_time = |changes: &Value| -> Vec<Value> {
        changes
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.as_object_mut().unwrap().remove("at");
                c
            })
            .collect()
    };
    let mut runs = Vec::new();
    for seed in [42, 42, 43] {
        let h = Harness::start(SandboxConfig { seed, ..config() }).await;
        let (_, first) = h.post_changes(&json!({"count": 12})).await;
        let (_, second) = h.post_changes(&json!({"hires": 1, "moves": 2, "exits": 1, "departments": 2})).await;
        let via_api = h
            .sandbox
            .apply_hr_changes(HrChangeRequest { renames: 1, ..HrChangeRequest::default() })
            .await
            .expect("valid request");
        let changed: Vec<Value> = {
            let mut ids: Vec<String> = affected(&first).into_iter().chain(affected(&second)).collect();
            ids.sort();
            let mut profiles = Vec::new();
            for id in ids {
                profiles.push(h.get_json(&format!("{EMPLOYEES}/{id}")).await.1);
            }
            profiles
        };
        runs.push((
            without_time(&first),
            without_time(&second),
            via_api.len(),
            via_api[0].employee_id.clone(),
            changed,
        ));
        h.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0].0.len(), 12);
    let kinds: HashSet<&str> = runs[0].0.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 3, "a random mix: {kinds:?}");
    assert_ne!(runs[0].0, runs[2].0, "another seed, other changes");
}

#[tokio::test]
async fn the_admin_route_rejects_bad_bodies() {
    let h = Harness::start(config()).await;
    let url = format!("{}{CHANGES}", h.origin());
    for body in [
        "",
        "{}",
        "[]",
        "nonsense",
        r#"{"hires":-1}"#,
        r#"{"hires":"two"}"#,
        r#"{"hire":1}"#,
        r#"{"count":0}"#,
        r#"{"count":3,"hires":1}"#,
        r#"{"count":3,"departments":1}"#,
        r#"{"count":100000}"#,
    ] {
        let response = h.client.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let message: Value = response.json().await.unwrap();
        assert!(message["error"].as_str().is_some_and(|m| !m.is_empty()), "{body:?}: {message}");
    }
    assert_eq!(h.admin_stats().await["hr_changes"], 0);
    let (_, body) = h.get_json(&format!("{EMPLOYEES}?pageSize=1")).await;
    assert_eq!(body["totalRecords"], 250);
    assert!(h.sandbox.apply_hr_changes(HrChangeRequest::default()).await.is_err());
    h.shutdown().await;
}

#[tokio::test]
async fn changes_per_hour_applies_changes_in_the_background_until_shutdown() {
    // A mean interval of 10 ms.
    let h = Harness::start(SandboxConfig { changes_per_hour: 360_000.0, ..config() }).await;
    let since = client_since();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while h.sandbox.stats().hr_changes < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no background changes within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!h.modified_since(&since).await.is_empty());
    h.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/// One received webhook: headers and the decoded form.
pub(super) struct Received {
    pub(super) headers: HeaderMap,
    pub(super) form: HashMap<String, String>,
}

/// A tiny webhook receiver on 127.0.0.1:0; returns its URL, the requests it gets, its task.
pub(super) async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>, tokio::task::JoinHandle<()>) {
    async fn hook(State(tx): State<mpsc::UnboundedSender<Received>>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let form = url::form_urlencoded::parse(&body).into_owned().collect();
        let _ = tx.send(Received { headers, form });
        StatusCode::OK
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/keka/events", axum::routing::post(hook)).with_state(tx);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/keka/events"), rx, task)
}

pub(super) async fn next_webhook(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(PATIENCE, rx.recv()).await.expect("a webhook within the timeout").expect("receiver open")
}

pub(super) async fn wait_for(sandbox: &RunningSandbox, what: &str, done: impl Fn(&crate::SandboxStats) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(&sandbox.stats()) {
        assert!(tokio::time::Instant::now() < deadline, "{what} within {PATIENCE:?}: {:?}", sandbox.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn each_change_posts_a_keka_style_webhook_with_the_secret_header() {
    let (url, mut rx, server) = receiver().await;
    let h = Harness::start(SandboxConfig {
        webhook_url: Some(url.parse().unwrap()),
        webhook_secret: Some("s3cret-value".into()),
        ..config()
    })
    .await;
    let (status, changes) =
        h.post_changes(&json!({"hires": 1, "exits": 1, "moves": 1, "renames": 1, "leaves": 1})).await;
    assert_eq!(status, 200);
    let expected = [
        ("EmployeeAdded", "hire"),
        ("EmployeeExitApproved", "exit"),
        ("EmployeeUpdated", "move"),
        ("EmployeeUpdated", "rename"),
        ("LeaveRequested", "leave"),
    ];
    assert_eq!(changes.as_array().unwrap().len(), expected.len());
    for (change, (event_type, kind)) in changes.as_array().unwrap().iter().zip(expected) {
        assert_eq!(change["kind"], kind);
        assert_eq!(change["eventType"], event_type);
        let hook = next_webhook(&mut rx).await;
        assert_eq!(hook.headers["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(hook.headers["x-webhook-secret"], "s3cret-value");
        let f = &hook.form;
        assert_eq!(f["employeeIndentifier"], change["employeeId"].as_str().unwrap(), "Keka's spelling");
        assert_eq!(f["eventType"], event_type);
        assert_eq!(f["subDomain"], "acme");
        assert_eq!(f["employeeName"], change["displayName"].as_str().unwrap());
        assert_eq!(f["employeeNumber"], change["employeeNumber"].as_str().unwrap());
        assert_eq!(f["updatedBy"], "Sandbox HR");
        // No offset, UTC: the `at` of the change without milliseconds and `Z`.
        assert_eq!(f["updatedOn"], change["at"].as_str().unwrap()[..19]);
        match kind {
            "hire" => assert!(f.contains_key("joiningDate") && f.contains_key("reportingManager")),
            "exit" => assert!(f.contains_key("exitDate") && f.contains_key("exitReason")),
            "move" => assert_ne!(f["previousReportingManager"], f["updatedReportingManager"]),
            "rename" => assert_eq!(f["previousEmployeeName"], change["previousDisplayName"].as_str().unwrap()),
            _ => {
                let names: Vec<&str> = hook.form.keys().map(String::as_str).collect();
                for key in ["leaveType", "fromDate", "toDate"] {
                    assert!(f.get(key).is_some_and(|v| !v.is_empty()), "{key} in {names:?}");
                }
                // Keka's webhook date format, starting on the day of the change.
                let day = NaiveDate::parse_from_str(&change["at"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap();
                assert_eq!(f["fromDate"], day.format("%b %d, %Y").to_string());
                let to = NaiveDate::parse_from_str(&f["toDate"], "%b %d, %Y").expect("toDate as `Mar 01, 2023`");
                assert!(to >= day);
                assert_eq!(f.len(), 10, "no employee-change fields: {names:?}");
            }
        }
    }
    wait_for(&h.sandbox, "5 webhooks counted", |s| s.webhooks_sent == 5).await;
    assert_eq!(h.sandbox.stats().webhooks_failed, 0);
    h.shutdown().await;

    // Another header name, and no header without a secret.
    for (header, secret) in [("X-Keka-Token", Some("t0ken")), ("X-Webhook-Secret", None)] {
        let sandbox = RunningSandbox::start(SandboxConfig {
            webhook_url: Some(url.parse().unwrap()),
            webhook_header: header.to_owned(),
            webhook_secret: secret.map(Into::into),
            ..config()
        })
        .await
        .unwrap();
        sandbox.apply_hr_changes(HrChangeRequest { renames: 1, ..HrChangeRequest::default() }).await.unwrap();
        let hook = next_webhook(&mut rx).await;
        assert_eq!(hook.headers.get(header).map(|v| v.to_str().unwrap()), secret);
        sandbox.shutdown().await;
    }
    server.abort();
}

#[tokio::test]
async fn a_new_department_sends_no_webhook() {
    let (url, mut rx, server) = receiver().await;
    let h = Harness::start(SandboxConfig { webhook_url: Some(url.parse().unwrap()), ..config() }).await;
    let (status, first) = h.post_changes(&json!({"renames": 1, "departments": 1})).await;
    assert_eq!(status, 200);
    let (_, second) = h.post_changes(&json!({"departments": 2})).await;
    let (_, third) = h.post_changes(&json!({"renames": 1})).await;
    let kinds: Vec<&Value> =
        [&first, &second, &third].iter().flat_map(|c| c.as_array().unwrap()).map(|c| &c["kind"]).collect();
    assert_eq!(kinds, ["rename", "department", "department", "department", "rename"]);
    // Webhooks go out in the order of the changes: the two renames' come one after the other.
    for rename in [&first[0], &third[0]] {
        let hook = next_webhook(&mut rx).await;
        assert_eq!(hook.form["eventType"], "EmployeeUpdated");
        assert_eq!(hook.form["employeeIndentifier"], rename["employeeId"].as_str().unwrap());
    }
    wait_for(&h.sandbox, "2 webhooks counted", |s| s.webhooks_sent == 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = h.sandbox.stats();
    assert_eq!((stats.hr_changes, stats.webhooks_sent, stats.webhooks_failed), (5, 2, 0));
    assert!(rx.try_recv().is_err(), "nothing more was sent");
    h.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn failed_webhooks_are_counted() {
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keka/events", closed.local_addr().unwrap());
    drop(closed);
    let sandbox =
        RunningSandbox::start(SandboxConfig { webhook_url: Some(url.parse().unwrap()), ..config() }).await.unwrap();
    let applied = sandbox.apply_hr_changes(HrChangeRequest { moves: 2, ..HrChangeRequest::default() }).await.unwrap();
    assert_eq!(applied.len(), 2);
    wait_for(&sandbox, "2 failed webhooks", |s| s.webhooks_failed == 2).await;
    let stats = sandbox.stats();
    assert_eq!((stats.hr_changes, stats.webhooks_sent), (2, 0));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_webhook_settings_stop_the_start() {
    for config in [
        SandboxConfig { webhook_url: Some("ftp://127.0.0.1/x".parse().unwrap()), ..config() },
        SandboxConfig {
            webhook_url: Some("http://127.0.0.1:9/".parse().unwrap()),
            webhook_header: "not a header".to_owned(),
            webhook_secret: Some("x".into()),
            ..config()
        },
        SandboxConfig { changes_per_hour: -1.0, ..config() },
        SandboxConfig { changes_per_hour: f64::NAN, ..config() },
    ] {
        assert!(RunningSandbox::start(config).await.is_err());
    }
}
