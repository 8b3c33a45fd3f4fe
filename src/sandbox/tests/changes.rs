//! HR changes: the tenant's invariants after many changes, and the admin route, the
//! `lastModified` filter, the background task and the webhooks through real loopback requests.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Harness, config, today};
use crate::sandbox::tenant::{
    ChangeDetail, ChangeKind, EmploymentStatus, ExitStatus, SystemGroupType, Tenant, TenantParams,
};
use crate::sandbox::{HrChangeRequest, RunningSandbox, SandboxConfig};

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
    assert_eq!(t.employees.iter().map(|e| e.id).collect::<HashSet<_>>().len(), n, "unique ids");
    assert_eq!(t.employees.iter().map(|e| &e.employee_number).collect::<HashSet<_>>().len(), n, "unique numbers");
    assert_eq!(t.employees.iter().map(|e| e.email.to_lowercase()).collect::<HashSet<_>>().len(), n, "unique e-mails");
    assert!(t.employees.windows(2).all(|w| w[0].employee_number < w[1].employee_number), "sorted by number");
    for d in &t.departments {
        assert!(d.heads.iter().all(|&h| t.employees[h].employment_status == EmploymentStatus::Working));
    }
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
    for step in 0..400 {
        let kind = ChangeKind::ALL[step % 4];
        let stamp = at(step as i64);
        let departments: Vec<usize> = t.employees.iter().map(|e| e.department).collect();
        let change = t.apply_change(kind, &mut rng, stamp).expect("a 300-person tenant can take any change");
        *counts.entry(kind).or_default() += 1;
        assert_eq!(change.kind, kind);
        assert_eq!(change.affected[0], change.employee);
        for &i in &change.affected {
            assert_eq!(t.employees[i].last_modified, stamp);
        }
        let e = &t.employees[change.employee];
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
                if e.department != departments[change.employee] {
                    // A transfer: into the new manager's department, as an individual contributor.
                    assert_eq!(e.department, t.employees[*to].department);
                    assert!(t.employees.iter().all(|r| r.reports_to != Some(change.employee)));
                    transfers += 1;
                }
            }
            ChangeDetail::Rename { display_name, .. } => assert_ne!(&e.display_name, display_name),
        }
        if step % 50 == 49 {
            assert_consistent(&t);
        }
    }
    assert_consistent(&t);
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
        let (_, second) = h.post_changes(&json!({"hires": 1, "moves": 2, "exits": 1})).await;
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
struct Received {
    headers: HeaderMap,
    form: HashMap<String, String>,
}

/// A tiny webhook receiver on 127.0.0.1:0; returns its URL, the requests it gets, its task.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>, tokio::task::JoinHandle<()>) {
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

async fn next_webhook(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(PATIENCE, rx.recv()).await.expect("a webhook within the timeout").expect("receiver open")
}

async fn wait_for(sandbox: &RunningSandbox, what: &str, done: impl Fn(&crate::sandbox::SandboxStats) -> bool) {
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
    let (status, changes) = h.post_changes(&json!({"hires": 1, "exits": 1, "moves": 1, "renames": 1})).await;
    assert_eq!(status, 200);
    let expected = [
        ("EmployeeAdded", "hire"),
        ("EmployeeExitApproved", "exit"),
        ("EmployeeUpdated", "move"),
        ("EmployeeUpdated", "rename"),
    ];
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
            _ => assert_eq!(f["previousEmployeeName"], change["previousDisplayName"].as_str().unwrap()),
        }
    }
    wait_for(&h.sandbox, "4 webhooks counted", |s| s.webhooks_sent == 4).await;
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
