//! The simulated Keeper SCIM node: generated directory invariants and the HTTP surface.

use std::collections::{BTreeMap, HashMap, HashSet};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};

use super::{Harness, config, today};
use crate::keeper::route;
use crate::tenant::{EmploymentStatus, Tenant, TenantParams};
use crate::{
    FaultConfig, KeeperAccountCategory as C, KeeperDirectory, KeeperSandboxConfig, RunningSandbox, SandboxConfig,
};

const SCIM: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn tenant(seed: u64, employees: usize) -> Tenant {
    Tenant::generate(TenantParams { seed, employees, today: today(), location_ids_match_groups: true })
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The join of the research notes (§12): address → accounts holding it.
fn accounts_by_address(d: &KeeperDirectory) -> HashMap<String, Vec<usize>> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in d.accounts.iter().enumerate() {
        for address in a.addresses() {
            index.entry(address).or_default().push(i);
        }
    }
    index
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

#[test]
fn every_category_is_present_for_small_and_default_tenants() {
    for (seed, n) in [(42, 50), (42, 250), (7, 120), (3, 250), (11, 1_000)] {
        let t = tenant(seed, n);
        let d = KeeperDirectory::generate(&t);
        for (category, count) in d.category_counts() {
            assert!(count > 0, "seed {seed}, {n} employees: no {category:?} account");
        }
        assert_eq!(d.accounts_in(C::DuplicateAddress).count(), 1, "seed {seed}, {n}");
        let without = |status: EmploymentStatus| {
            t.employees.iter().filter(|e| e.employment_status == status && d.accounts_of(e.id).next().is_none()).count()
        };
        assert!(without(EmploymentStatus::Working) > 0, "seed {seed}, {n}: every working employee has an account");
        assert!(without(EmploymentStatus::Relieved) > 0, "seed {seed}, {n}: every relieved employee has an account");
        let extras = d.accounts.iter().filter(|a| a.employee.is_none()).count();
        assert!(extras >= 3, "seed {seed}, {n}: {extras} accounts without employee");
    }
}

#[test]
fn tiny_tenants_do_not_panic() {
    for n in [0, 1, 2, 5, 10] {
        let d = KeeperDirectory::generate(&tenant(42, n));
        assert!(d.accounts_in(C::Contractor).count() >= 2);
        assert!(d.accounts_in(C::ServiceAccount).count() >= 1);
    }
}

#[test]
fn same_seed_same_directory_other_seed_other_ids() {
    let a = KeeperDirectory::generate(&tenant(42, 250));
    let b = KeeperDirectory::generate(&tenant(42, 250));
    let c = KeeperDirectory::generate(&tenant(43, 250));
    let fingerprint = |d: &KeeperDirectory| {
        d.accounts
            .iter()
            .map(|a| (a.id.clone(), a.user_name.clone(), a.active, a.teams.clone(), a.category, a.employee))
            .collect::<Vec<_>>()
    };
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let teams = |d: &KeeperDirectory| {
        d.teams.iter().map(|t| (t.id.clone(), t.display_name.clone(), t.members.clone())).collect::<Vec<_>>()
    };
    assert_eq!(teams(&a), teams(&b));
    let a_ids: HashSet<_> = a.accounts.iter().map(|x| x.id.clone()).collect();
    assert!(c.accounts.iter().all(|x| !a_ids.contains(&x.id)));
    assert_ne!(a.teams[0].id, c.teams[0].id);
}

#[test]
fn ids_are_unique_and_well_formed() {
    for (seed, n) in [(42, 250), (5, 2_000)] {
        let d = KeeperDirectory::generate(&tenant(seed, n));
        let mut ids = HashSet::new();
        for a in &d.accounts {
            assert_eq!(a.id.len(), 15, "{}", a.id);
            assert!(a.id.bytes().all(|b| b.is_ascii_digit()) && !a.id.starts_with('0'), "{}", a.id);
            assert!(ids.insert(a.id.clone()), "duplicate user id {}", a.id);
            assert_eq!(d.account(&a.id).map(|x| &x.user_name), Some(&a.user_name));
        }
        assert!(d.accounts.windows(2).all(|w| w[0].id < w[1].id), "accounts sorted by id");
        let mut uids = HashSet::new();
        for t in &d.teams {
            assert_eq!(t.id.len(), 22, "{}", t.id);
            assert!(t.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{}", t.id);
            assert!(uids.insert(t.id.clone()), "duplicate team id {}", t.id);
            assert_eq!(d.team(&t.id).map(|x| &x.display_name), Some(&t.display_name));
        }
        assert!(d.teams.iter().any(|t| t.id.contains(['-', '_'])), "some team UID holds - or _");
        // Addresses are unique across accounts, except the one deliberate ambiguity.
        let user_names: HashSet<_> = d.accounts.iter().map(|a| norm(&a.user_name)).collect();
        assert_eq!(user_names.len(), d.accounts.len(), "userNames are unique ignoring case");
    }
}

#[test]
fn teams_and_user_groups_agree() {
    let d = KeeperDirectory::generate(&tenant(42, 250));
    for (t, team) in d.teams.iter().enumerate() {
        assert!(team.members.windows(2).all(|w| w[0] < w[1]), "{} members sorted, no duplicates", team.display_name);
        for &a in &team.members {
            assert!(d.accounts[a].teams.contains(&t), "{} lists {} but not vice versa", team.display_name, a);
        }
    }
    for (a, account) in d.accounts.iter().enumerate() {
        assert!(account.teams.windows(2).all(|w| w[0] < w[1]));
        for &t in &account.teams {
            assert!(d.teams[t].members.contains(&a), "{} lists team {t} but not vice versa", account.user_name);
        }
    }
    let names: Vec<&str> = d.teams.iter().map(|t| t.display_name.as_str()).collect();
    for extra in ["Security Admins", "Shared Vault – Finance", "Contractors", "Project Atlas (archived)"] {
        assert!(names.contains(&extra), "{extra} missing from {names:?}");
    }
    let team = |name: &str| d.teams.iter().find(|t| t.display_name == name).unwrap();
    let contractors: Vec<usize> = (0..d.accounts.len()).filter(|&a| d.accounts[a].category == C::Contractor).collect();
    assert_eq!(team("Contractors").members, contractors);
    assert!(team("Project Atlas (archived)").members.is_empty());
    assert!(team("Shared Vault – Finance").members.iter().any(|&a| d.accounts[a].category == C::ServiceAccount));

    // One team per department for most but not all departments, some named differently.
    let t = tenant(42, 250);
    let staffed: HashSet<usize> = t.employees.iter().map(|e| e.department).collect();
    let department_teams: Vec<_> = d.teams.iter().filter(|t| t.department.is_some()).collect();
    assert!(department_teams.len() < staffed.len());
    assert!(department_teams.len() * 4 >= staffed.len() * 3);
    assert!(department_teams.iter().any(|t| t.display_name.ends_with(" Team") && t.external_id.is_none()));
    assert!(department_teams.iter().any(|team| {
        let dept = t.departments.iter().find(|d| Some(d.id) == team.department).unwrap();
        team.display_name == dept.name && team.external_id.is_some()
    }));
    // Members of a department team are accounts of that department's employees.
    for team in &department_teams {
        let dept = t.departments.iter().position(|d| Some(d.id) == team.department).unwrap();
        assert!(!team.members.is_empty(), "{}", team.display_name);
        for &a in &team.members {
            let employee = t.employee(d.accounts[a].employee.unwrap()).unwrap();
            assert_eq!(employee.department, dept);
        }
    }
}

#[test]
fn accounts_follow_their_category_rules() {
    let t = tenant(42, 250);
    let d = KeeperDirectory::generate(&t);
    for a in &d.accounts {
        assert_eq!(a.emails.iter().filter(|e| e.primary).count(), 1, "{}: one primary e-mail", a.user_name);
        let employee = a.employee.map(|id| t.employee(id).expect("derived from a real employee"));
        let holds_work_email = |email: &str| a.emails.iter().any(|e| norm(&e.value) == norm(email));
        match a.category {
            C::WorkingActive | C::WorkingLocked | C::RelievedActive | C::RelievedLocked => {
                let e = employee.unwrap();
                assert_eq!(a.user_name, e.email);
                assert_eq!(a.emails[0].value, a.user_name);
                assert_eq!(a.active, matches!(a.category, C::WorkingActive | C::RelievedActive));
                let relieved = matches!(a.category, C::RelievedActive | C::RelievedLocked);
                assert_eq!(e.employment_status == EmploymentStatus::Relieved, relieved);
                let name = a.name.as_ref().unwrap();
                assert_eq!((name.given_name.as_str(), name.family_name.as_str()), (&*e.first_name, &*e.last_name));
                assert_eq!(a.display_name, format!("{} {}", e.first_name, e.last_name));
            }
            C::WorkingActiveCaseVariant => {
                let e = employee.unwrap();
                assert_ne!(a.user_name, e.email);
                assert!(a.user_name.eq_ignore_ascii_case(&e.email));
                assert!(a.active && e.employment_status == EmploymentStatus::Working);
            }
            C::WorkingActiveEmailsOnly => {
                let e = employee.unwrap();
                assert!(a.user_name.ends_with("@corp-idp.example"), "{}", a.user_name);
                assert!(holds_work_email(&e.email));
                assert!(a.active && e.employment_status == EmploymentStatus::Working);
            }
            C::Contractor => {
                assert!(employee.is_none() && a.user_name.ends_with("@contractor.example"));
                assert!(a.name.is_some());
            }
            C::ServiceAccount => {
                assert!(employee.is_none() && a.user_name.starts_with("svc-"));
                assert!(a.user_name.ends_with("@acme.example"));
                assert!(a.name.is_none());
                assert_eq!(a.display_name, a.user_name);
                assert!(a.active);
            }
            C::DuplicateAddress => {
                let e = employee.unwrap();
                assert!(holds_work_email(&e.email));
                assert!(!a.emails.iter().any(|x| x.value == e.email), "held in different case");
                assert!(a.teams.is_empty());
            }
        }
    }
    // Both primary and non-primary work e-mails occur among the emails-only matches.
    let emails_only: Vec<_> = d.accounts_in(C::WorkingActiveEmailsOnly).collect();
    let work_email_primary = |a: &&crate::KeeperAccount| {
        let e = t.employee(a.employee.unwrap()).unwrap();
        a.emails.iter().find(|x| norm(&x.value) == norm(&e.email)).unwrap().primary
    };
    assert!(emails_only.iter().any(work_email_primary));
    assert!(!emails_only.iter().all(work_email_primary));
    // Some contractor is locked.
    assert!(d.accounts_in(C::Contractor).any(|a| !a.active));
}

#[test]
fn the_join_finds_exactly_one_ambiguous_address() {
    let t = tenant(42, 250);
    let d = KeeperDirectory::generate(&t);
    let index = accounts_by_address(&d);
    let ambiguous: Vec<(&String, &Vec<usize>)> = index.iter().filter(|(_, held)| held.len() > 1).collect();
    assert_eq!(ambiguous.len(), 1, "{ambiguous:?}");
    let (address, held) = ambiguous[0];
    let categories: HashSet<_> = held.iter().map(|&a| d.accounts[a].category).collect();
    assert_eq!(categories, HashSet::from([C::WorkingActive, C::DuplicateAddress]));
    let employee = t.employees.iter().find(|e| norm(&e.email) == *address).unwrap();
    assert!(held.iter().all(|&a| d.accounts[a].employee == Some(employee.id)));

    // Every other employee-derived account is found by exactly its employee's address.
    for a in d.accounts.iter().filter(|a| a.category != C::DuplicateAddress) {
        if let Some(id) = a.employee {
            let e = t.employee(id).unwrap();
            assert!(index[&norm(&e.email)].iter().any(|&i| d.accounts[i].id == a.id));
        }
    }
    // Accounts without employee hold no employee address.
    let employee_addresses: HashSet<String> = t.employees.iter().map(|e| norm(&e.email)).collect();
    for a in d.accounts.iter().filter(|a| a.employee.is_none()) {
        assert!(a.addresses().iter().all(|x| !employee_addresses.contains(x)), "{}", a.user_name);
    }
}

#[test]
fn proportions_for_the_default_tenant() {
    let t = tenant(42, 250);
    let d = KeeperDirectory::generate(&t);
    let count = |c: C| d.accounts_in(c).count();
    let working = t.employees.iter().filter(|e| e.employment_status == EmploymentStatus::Working).count();
    let relieved = t.employees.len() - working;
    let counts: BTreeMap<String, usize> = d.category_counts().into_iter().map(|(c, n)| (format!("{c:?}"), n)).collect();
    eprintln!(
        "working {working}, relieved {relieved}, accounts {}, teams {}: {counts:?}",
        d.accounts.len(),
        d.teams.len()
    );

    let active_working =
        count(C::WorkingActive) + count(C::WorkingActiveCaseVariant) + count(C::WorkingActiveEmailsOnly);
    let share = active_working as f64 / working as f64;
    assert!((0.88..=0.95).contains(&share), "active working share {share}");
    let variant_share = count(C::WorkingActiveCaseVariant) as f64 / active_working as f64;
    assert!((0.03..=0.08).contains(&variant_share), "{variant_share}");
    let alias_share = count(C::WorkingActiveEmailsOnly) as f64 / working as f64;
    assert!((0.015..=0.035).contains(&alias_share), "{alias_share}");
    let locked_share = count(C::WorkingLocked) as f64 / working as f64;
    assert!((0.02..=0.045).contains(&locked_share), "{locked_share}");
    let relieved_active = count(C::RelievedActive) as f64 / relieved as f64;
    let relieved_locked = count(C::RelievedLocked) as f64 / relieved as f64;
    assert!((0.2..=0.4).contains(&relieved_active), "{relieved_active}");
    assert!((0.3..=0.5).contains(&relieved_locked), "{relieved_locked}");
    let extras = count(C::Contractor) + count(C::ServiceAccount);
    assert!((0.03..=0.05).contains(&(extras as f64 / t.employees.len() as f64)), "{extras} extras");
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// A running sandbox plus a client for its Keeper node.
struct Keeper {
    sandbox: RunningSandbox,
    client: reqwest::Client,
}

impl Keeper {
    async fn start(config: SandboxConfig) -> Keeper {
        let sandbox = RunningSandbox::start(config).await.expect("sandbox starts");
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        Keeper { sandbox, client }
    }

    /// GET `{base}{path}` with the current token and optional query pairs.
    async fn send(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.sandbox.keeper_base_url()))
            .query(query)
            .header(AUTHORIZATION, format!("Bearer {}", self.sandbox.keeper_token()))
            .send()
            .await
            .expect("request sent")
    }

    /// GET returning status and JSON body, asserting the SCIM content type.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        json_of(self.send(path, query).await).await
    }

    async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// Status and JSON body of a SCIM response (whose content type must be `application/scim+json`).
async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()[CONTENT_TYPE], SCIM, "status {status}");
    let body = response.json().await.expect("JSON body");
    (status, body)
}

fn assert_scim_error(body: &Value, status: u16) {
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(body["status"], status.to_string());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

fn assert_list(body: &Value, total: usize, start: usize, items: usize) {
    assert_eq!(body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(body["totalResults"], total, "{body}");
    assert_eq!(body["startIndex"], start);
    assert_eq!(body["itemsPerPage"], items);
    assert_eq!(body["Resources"].as_array().map(Vec::len), Some(items));
}

/// Walks a list with `count` per page the way §12 advises (advance by what came back).
async fn walk(k: &Keeper, path: &str, count: usize) -> (Vec<Value>, usize) {
    let count = count.to_string();
    let mut start = 1;
    let mut items = Vec::new();
    let mut requests = 0;
    loop {
        let (status, body) = k.get(path, &[("startIndex", &start.to_string()), ("count", &count)]).await;
        requests += 1;
        assert_eq!(status, 200);
        let page = body["Resources"].as_array().expect("Resources").clone();
        assert_eq!(body["itemsPerPage"], page.len());
        assert_eq!(body["startIndex"], start);
        let total = body["totalResults"].as_u64().unwrap() as usize;
        if page.is_empty() {
            assert!(start > total);
            break;
        }
        start += page.len();
        items.extend(page);
        if start > total {
            break;
        }
    }
    (items, requests)
}

#[tokio::test]
async fn paging_by_seven_covers_every_user_and_team_exactly_once() {
    let k = Keeper::start(config()).await;
    let d = k.sandbox.keeper_directory_arc();
    assert_eq!(k.sandbox.keeper_node_id(), "512540212789503");
    assert!(k.sandbox.keeper_base_url().starts_with("http://127.0.0.1:"));
    assert!(k.sandbox.keeper_base_url().ends_with("/api/rest/scim/v2/512540212789503"));

    let (users, requests) = walk(&k, "/Users", 7).await;
    assert_eq!(requests, d.accounts.len().div_ceil(7));
    let ids: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, d.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), "every account once, in order");

    let (groups, group_requests) = walk(&k, "/Groups", 7).await;
    assert_eq!(group_requests, d.teams.len().div_ceil(7));
    assert_eq!(groups.len(), d.teams.len());

    // The exact shape of a user with a name and a team, and of a service account.
    let a = d.accounts.iter().find(|a| a.category == C::WorkingActive && !a.teams.is_empty()).unwrap();
    let user = users.iter().find(|u| u["id"] == a.id.as_str()).unwrap();
    let name = a.name.as_ref().unwrap();
    assert_eq!(
        *user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": a.user_name,
            "displayName": a.display_name,
            "name": {"givenName": name.given_name, "familyName": name.family_name},
            "id": a.id,
            "emails": [{"primary": true, "value": a.user_name, "type": "work"}],
            "groups": a.teams.iter().map(|&t| json!({"value": d.teams[t].id})).collect::<Vec<_>>(),
            "active": true,
        })
    );
    let keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 8, "no meta, no externalId: {keys:?}");
    let svc = d.accounts.iter().find(|a| a.category == C::ServiceAccount).unwrap();
    let svc_json = users.iter().find(|u| u["id"] == svc.id.as_str()).unwrap();
    assert!(svc_json.get("name").is_none());
    assert_eq!(svc_json["displayName"], svc_json["userName"]);
    assert!(users.iter().any(|u| u["active"] == false));
    assert!(users.iter().any(|u| u["groups"] == json!([])));

    // groups[] on users and members[] on groups agree over the wire.
    let mut from_users: HashSet<(String, String)> = HashSet::new();
    for u in &users {
        for g in u["groups"].as_array().unwrap() {
            assert_eq!(g.as_object().unwrap().len(), 1, "only value: {g}");
            from_users.insert((u["id"].as_str().unwrap().to_owned(), g["value"].as_str().unwrap().to_owned()));
        }
    }
    let mut from_groups: HashSet<(String, String)> = HashSet::new();
    for g in &groups {
        assert_eq!(g["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]));
        assert!(g["displayName"].is_string());
        for m in g["members"].as_array().unwrap() {
            assert_eq!(m.as_object().unwrap().len(), 1, "only value: {m}");
            from_groups.insert((m["value"].as_str().unwrap().to_owned(), g["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(from_users, from_groups);
    assert!(!from_users.is_empty());

    // Single reads give the same resources.
    let (status, one) = k.get(&format!("/Users/{}", a.id), &[]).await;
    assert_eq!((status, &one), (200, user));
    let (status, team) = k.get(&format!("/Groups/{}", groups[0]["id"].as_str().unwrap()), &[]).await;
    assert_eq!((status, &team), (200, &groups[0]));
    // excludedAttributes=members drops the member lists.
    let (_, slim) = k.get("/Groups", &[("excludedAttributes", "members")]).await;
    assert!(slim["Resources"].as_array().unwrap().iter().all(|g| g.get("members").is_none()));

    let stats = k.sandbox.keeper_stats();
    assert_eq!(stats.count_status(route::USERS, 200), requests as u64);
    assert_eq!(stats.count_status(route::GROUPS, 200), group_requests as u64 + 1);
    assert_eq!(stats.count_status(route::USER, 200), 1);
    assert_eq!(stats.count_status(route::GROUP, 200), 1);
    assert_eq!(stats.api_requests(), stats.total);
    assert_eq!(k.sandbox.stats().total, 0, "Keeper requests are not counted as Keka's");
    k.shutdown().await;
}

#[tokio::test]
async fn count_defaults_to_100_and_zero_and_out_of_range_pages_are_empty() {
    let k = Keeper::start(config()).await;
    let n = k.sandbox.keeper_directory().accounts.len();
    assert!(n > 100);

    let (status, body) = k.get("/Users", &[]).await;
    assert_eq!(status, 200);
    assert_list(&body, n, 1, 100);

    let (_, body) = k.get("/Users", &[("startIndex", "0"), ("count", "3")]).await;
    assert_list(&body, n, 1, 3);
    let (_, body) = k.get("/Users", &[("startIndex", "-5"), ("count", "3")]).await;
    assert_list(&body, n, 1, 3);

    for count in ["0", "-2"] {
        let (status, body) = k.get("/Users", &[("count", count)]).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"schemas": [LIST_SCHEMA], "totalResults": n, "startIndex": 1, "itemsPerPage": 0}));
    }

    let last = n.to_string();
    let (_, body) = k.get("/Users", &[("startIndex", &last), ("count", "10")]).await;
    assert_list(&body, n, n, 1);
    let beyond = (n + 1).to_string();
    let (_, body) = k.get("/Users", &[("startIndex", &beyond), ("count", "10")]).await;
    assert_list(&body, n, n + 1, 0);
    let (_, body) = k.get("/Users", &[("startIndex", "100000")]).await;
    assert_list(&body, n, 100_000, 0);

    let (status, body) = k.get("/Users", &[("count", "many")]).await;
    assert_eq!(status, 400);
    assert_scim_error(&body, 400);
    assert_eq!(body["scimType"], "invalidValue");
    k.shutdown().await;
}

#[tokio::test]
async fn count_is_clamped_to_1000() {
    let k = Keeper::start(SandboxConfig { employees: 1_100, ..config() }).await;
    let n = k.sandbox.keeper_directory().accounts.len();
    assert!(n > 1_000, "{n} accounts");
    let (_, body) = k.get("/Users", &[("count", "5000")]).await;
    assert_list(&body, n, 1, 1_000);
    let (_, body) = k.get("/Users", &[("startIndex", "1001"), ("count", "1000")]).await;
    assert_list(&body, n, 1_001, n - 1_000);
    k.shutdown().await;

    // Both limits are configurable.
    let keeper = KeeperSandboxConfig { default_count: 4, max_count: 6, ..KeeperSandboxConfig::default() };
    let k = Keeper::start(SandboxConfig { employees: 50, keeper, ..config() }).await;
    let n = k.sandbox.keeper_directory().accounts.len();
    let (_, body) = k.get("/Users", &[]).await;
    assert_list(&body, n, 1, 4);
    let (_, body) = k.get("/Groups", &[("count", "100")]).await;
    assert_list(&body, k.sandbox.keeper_directory().teams.len(), 1, 6);
    k.shutdown().await;
}

#[tokio::test]
async fn user_name_filter_ignores_case_and_matches_user_name_only() {
    let k = Keeper::start(config()).await;
    let d = k.sandbox.keeper_directory_arc();
    let t = k.sandbox.tenant_arc();
    let filter = |address: &str| format!("userName eq {}", serde_json::to_string(address).unwrap());
    let hits = |body: &Value| -> Vec<String> {
        body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
    };

    let plain = d.accounts_in(C::WorkingActive).nth(3).unwrap();
    let (status, body) = k.get("/Users", &[("filter", &filter(&plain.user_name.to_uppercase()))]).await;
    assert_eq!(status, 200);
    assert_list(&body, 1, 1, 1);
    assert_eq!(hits(&body), vec![plain.id.clone()]);

    // A userName in different case is found by the employee's (lower-case) work e-mail.
    let variant = d.accounts_in(C::WorkingActiveCaseVariant).next().unwrap();
    let email = &t.employee(variant.employee.unwrap()).unwrap().email;
    let (_, body) = k.get("/Users", &[("filter", &filter(email))]).await;
    assert_eq!(hits(&body), vec![variant.id.clone()]);
    assert_eq!(body["Resources"][0]["userName"], variant.user_name.as_str());

    // The filter looks at userName only: an address held only in emails[] is a miss.
    let alias = d.accounts_in(C::WorkingActiveEmailsOnly).next().unwrap();
    let email = &t.employee(alias.employee.unwrap()).unwrap().email;
    let (_, body) = k.get("/Users", &[("filter", &filter(email))]).await;
    assert_list(&body, 0, 1, 0);
    let (_, body) = k.get("/Users", &[("filter", &filter(&alias.user_name))]).await;
    assert_eq!(hits(&body), vec![alias.id.clone()]);

    let (status, body) = k.get("/Users", &[("filter", &filter("nobody@acme.example"))]).await;
    assert_eq!(status, 200);
    assert_list(&body, 0, 1, 0);

    // Paging applies after the filter.
    let (_, body) = k.get("/Users", &[("filter", &filter(&plain.user_name)), ("count", "0")]).await;
    assert_eq!(body["totalResults"], 1);
    assert!(body.get("Resources").is_none());
    k.shutdown().await;
}

#[tokio::test]
async fn other_filters_are_invalid_filter_400s() {
    let k = Keeper::start(config()).await;
    for filter in [
        r#"emails.value eq "a@acme.example""#,
        r#"userName co "acme""#,
        r#"userName sw "a""#,
        r#"userName eq "a@acme.example" or userName eq "b@acme.example""#,
        r#"active eq true"#,
        r#"userName eq a@acme.example"#,
        "",
    ] {
        let (status, body) = k.get("/Users", &[("filter", filter)]).await;
        assert_eq!(status, 400, "{filter}");
        assert_scim_error(&body, 400);
        assert_eq!(body["scimType"], "invalidFilter", "{filter}");
    }
    let (status, body) = k.get("/Groups", &[("filter", r#"displayName eq "Contractors""#)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["scimType"], "invalidFilter");
    assert_eq!(k.sandbox.keeper_stats().count_status(route::USERS, 400), 7);
    k.shutdown().await;
}

#[tokio::test]
async fn bearer_token_is_checked_and_can_be_rotated() {
    let k = Keeper::start(config()).await;
    assert_eq!(k.sandbox.keeper_token(), "sandbox-keeper-token");
    let url = format!("{}/Users", k.sandbox.keeper_base_url());

    let (status, body) = json_of(k.client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_scim_error(&body, 401);
    assert_eq!(body.as_object().unwrap().len(), 3, "schemas, status, detail: {body}");
    for auth in ["Bearer wrong", "Basic c2FuZGJveC1rZWVwZXItdG9rZW4=", "sandbox-keeper-token", "Bearer"] {
        let (status, body) = json_of(k.client.get(&url).header(AUTHORIZATION, auth).send().await.unwrap()).await;
        assert_eq!(status, 401, "{auth}");
        assert_scim_error(&body, 401);
    }
    // The Keka token does not open the Keeper node, nor the Keeper token the Keka API.
    let keka = k.client.get(format!("{}/hris/employees", k.sandbox.base_url())).bearer_auth(k.sandbox.keeper_token());
    assert_eq!(keka.send().await.unwrap().status(), 401);

    let old = k.sandbox.keeper_token();
    assert_eq!(k.get("/Users", &[("count", "1")]).await.0, 200);
    let new = k.sandbox.rotate_keeper_token();
    assert_ne!(new, old);
    assert_eq!(new.len(), 43);
    assert_eq!(k.sandbox.keeper_token(), new);
    let with_old = k.client.get(&url).header(AUTHORIZATION, format!("Bearer {old}")).send().await.unwrap();
    assert_eq!(with_old.status(), 401);
    assert_eq!(k.get("/Users", &[("count", "1")]).await.0, 200);

    // Rotation over the admin API.
    let response = k.client.post(format!("http://{}/__sandbox/keeper/rotate-token", k.sandbox.addr())).send().await;
    let body: Value = response.unwrap().json().await.unwrap();
    let newer = body["token"].as_str().unwrap().to_owned();
    assert_eq!(k.sandbox.keeper_token(), newer);
    let with_new = k.client.get(&url).header(AUTHORIZATION, format!("Bearer {new}")).send().await.unwrap();
    assert_eq!(with_new.status(), 401);
    let with_newer = k.client.get(&url).header(AUTHORIZATION, format!("Bearer {newer}")).send().await.unwrap();
    assert_eq!(with_newer.status(), 200);

    let stats = k.sandbox.keeper_stats();
    assert_eq!(stats.count_status(route::USERS, 401), 7);
    assert_eq!(stats.count_status(route::USERS, 200), 3);
    assert_eq!(k.sandbox.stats().count_status("/api/v1/hris/employees", 401), 1);
    k.shutdown().await;
}

#[tokio::test]
async fn unknown_users_groups_nodes_and_paths_are_scim_404s() {
    let k = Keeper::start(config()).await;
    let d = k.sandbox.keeper_directory_arc();
    for path in ["/Users/100000000000000", "/Users/not-an-id", "/Groups/AAAAAAAAAAAAAAAAAAAAAA", "/Groups/x", "/Bulk"] {
        let (status, body) = k.get(path, &[]).await;
        assert_eq!(status, 404, "{path}");
        assert_scim_error(&body, 404);
    }
    // A team UID with - or _ in it resolves.
    let odd = d.teams.iter().find(|t| t.id.contains(['-', '_'])).unwrap();
    assert_eq!(k.get(&format!("/Groups/{}", odd.id), &[]).await.0, 200);

    let origin = format!("http://{}", k.sandbox.addr());
    let token = format!("Bearer {}", k.sandbox.keeper_token());
    for path in [
        "/api/rest/scim/v2/999999999999999/Users",
        "/api/rest/scim/v2/999999999999999/Groups",
        &format!("/api/rest/scim/v2/999999999999999/Users/{}", d.accounts[0].id),
        "/api/rest/scim/v2/Users",
        "/api/rest/scim/v2",
    ] {
        let response = k.client.get(format!("{origin}{path}")).header(AUTHORIZATION, &token).send().await.unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(status, 404, "{path}");
        assert_scim_error(&body, 404);
    }
    // Without the token, an unknown path is a 401 like any other.
    let (status, _) = json_of(k.client.get(format!("{origin}/api/rest/scim/v2/x")).send().await.unwrap()).await;
    assert_eq!(status, 401);

    let stats = k.sandbox.keeper_stats();
    assert_eq!(stats.count_status(route::USER, 404), 3);
    assert_eq!(stats.count_status(route::GROUP, 404), 2);
    assert_eq!(stats.count_status(route::USERS, 404), 1);
    assert_eq!(stats.count_status(route::UNMATCHED, 404), 3);
    assert_eq!(stats.count_status(route::UNMATCHED, 401), 1);
    assert_eq!(stats.api_requests(), 12);
    assert_eq!(k.sandbox.stats().total, 0);
    k.shutdown().await;
}

#[tokio::test]
async fn keeper_faults_are_separate_from_kekas_and_counted() {
    let h = Harness::start(config()).await;
    let k = Keeper { sandbox: h.sandbox, client: h.client.clone() };
    let keka = |k: &Keeper| {
        let request = k.client.get(format!("http://{}/api/v1/hris/employees", k.sandbox.addr())).bearer_auth(&h.token);
        async move { request.send().await.unwrap().status().as_u16() }
    };

    k.sandbox.set_keeper_faults(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
    let (status, body) = k.get("/Users", &[]).await;
    assert_eq!(status, 500);
    assert_scim_error(&body, 500);
    assert_eq!(keka(&k).await, 200, "Keka is not faulted by the Keeper settings");

    k.sandbox.set_keeper_faults(FaultConfig { html_error_rate: 1.0, ..FaultConfig::default() });
    let response = k.send("/Groups", &[]).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("<html>"));

    k.sandbox.set_keeper_faults(FaultConfig { malformed_json_rate: 1.0, ..FaultConfig::default() });
    let response = k.send("/Users", &[("count", "3")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], SCIM);
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.is_empty() && serde_json::from_slice::<Value>(&bytes).is_err());

    // 401s come before faults.
    let url = format!("{}/Users", k.sandbox.keeper_base_url());
    assert_eq!(k.client.get(&url).send().await.unwrap().status(), 401);

    // Over the admin API, and the other way round: Keka faults leave Keeper alone.
    let admin = format!("http://{}/__sandbox/keeper", k.sandbox.addr());
    let response = k.client.put(format!("{admin}/faults")).json(&json!({"error_rate": 0.0})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    k.sandbox.set_faults(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
    assert_eq!(k.get("/Users", &[("count", "1")]).await.0, 200);
    assert_eq!(keka(&k).await, 500);

    let stats: Value = k.client.get(format!("{admin}/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["total"], 5);
    assert_eq!(stats, serde_json::to_value(k.sandbox.keeper_stats()).unwrap());
    let s = k.sandbox.keeper_stats();
    assert_eq!(s.count_status(route::USERS, 500), 1);
    assert_eq!(s.count_status(route::GROUPS, 502), 1);
    assert_eq!(s.count_status(route::USERS, 200), 2, "the malformed answer is a 200");
    assert_eq!(s.count_status(route::USERS, 401), 1);
    assert_eq!(s.api_requests(), 5);
    assert_eq!(k.sandbox.stats().api_requests(), 2, "the Keka counters saw only Keka's requests");

    let response = k.client.post(format!("{admin}/stats/reset")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(k.sandbox.keeper_stats().total, 0);
    assert_eq!(k.sandbox.stats().api_requests(), 2);
    k.get("/Users", &[("count", "1")]).await;
    k.sandbox.reset_keeper_stats();
    assert_eq!(k.sandbox.keeper_stats().total, 0);
    k.shutdown().await;
}

#[tokio::test]
async fn optional_rate_budget_answers_scim_429s() {
    let keeper = KeeperSandboxConfig {
        rate_limit_per_window: 2,
        rate_limit_window: std::time::Duration::from_secs(3_600),
        retry_after_header: true,
        ..KeeperSandboxConfig::default()
    };
    let k = Keeper::start(SandboxConfig { employees: 50, keeper, ..config() }).await;
    // 401s do not use the budget.
    let url = format!("{}/Users", k.sandbox.keeper_base_url());
    assert_eq!(k.client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(k.get("/Users", &[]).await.0, 200);
    assert_eq!(k.get("/Groups", &[]).await.0, 200);
    let response = k.send("/Users", &[]).await;
    assert!(response.headers()[RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() > 0);
    let (status, body) = json_of(response).await;
    assert_eq!(status, 429);
    assert_scim_error(&body, 429);
    let stats = k.sandbox.keeper_stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.count_status(route::USERS, 429), 1);
    k.shutdown().await;

    // Off by default.
    let k = Keeper::start(SandboxConfig { employees: 50, ..config() }).await;
    for _ in 0..60 {
        assert_eq!(k.get("/Users", &[("count", "0")]).await.0, 200);
    }
    k.shutdown().await;
}

#[tokio::test]
async fn configured_node_id_and_token_are_used_and_validated() {
    let keeper = KeeperSandboxConfig {
        node_id: "345074852429829".to_owned(),
        token: "custom-token".to_owned(),
        ..KeeperSandboxConfig::default()
    };
    let k = Keeper::start(SandboxConfig { employees: 20, keeper, ..config() }).await;
    assert!(k.sandbox.keeper_base_url().ends_with("/api/rest/scim/v2/345074852429829"));
    assert_eq!(k.sandbox.keeper_token(), "custom-token");
    assert_eq!(k.get("/Users", &[]).await.0, 200);
    let info: Value =
        k.client.get(format!("http://{}/__sandbox/", k.sandbox.addr())).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["keeper"]["baseUrl"], k.sandbox.keeper_base_url());
    assert_eq!(info["keeper"]["token"], "custom-token");
    k.shutdown().await;

    for keeper in [
        KeeperSandboxConfig { node_id: "12/34".to_owned(), ..KeeperSandboxConfig::default() },
        KeeperSandboxConfig { node_id: String::new(), ..KeeperSandboxConfig::default() },
        KeeperSandboxConfig { token: " ".to_owned(), ..KeeperSandboxConfig::default() },
        KeeperSandboxConfig { max_count: 0, ..KeeperSandboxConfig::default() },
    ] {
        assert!(RunningSandbox::start(SandboxConfig { employees: 5, keeper, ..config() }).await.is_err());
    }
}

#[test]
fn sandbox_flags_configure_the_keeper_node() {
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        sandbox: crate::SandboxArgs,
    }

    let defaults = Flags::try_parse_from(["sandbox"]).unwrap().sandbox.into_config().keeper;
    assert_eq!(defaults, KeeperSandboxConfig::default());
    let keeper = Flags::try_parse_from([
        "sandbox",
        "--keeper-node-id",
        "345074852429829",
        "--keeper-token",
        "t0k3n",
        "--keeper-default-count",
        "50",
        "--keeper-max-count",
        "500",
        "--keeper-rate-limit-per-minute",
        "60",
    ])
    .unwrap()
    .sandbox
    .into_config()
    .keeper;
    assert_eq!(
        keeper,
        KeeperSandboxConfig {
            node_id: "345074852429829".to_owned(),
            token: "t0k3n".to_owned(),
            default_count: 50,
            max_count: 500,
            rate_limit_per_window: 60,
            ..KeeperSandboxConfig::default()
        }
    );
    assert!(Flags::try_parse_from(["sandbox", "--keeper-node-id", "abc"]).is_err());
    assert!(Flags::try_parse_from(["sandbox", "--keeper-max-count", "0"]).is_err());
}
