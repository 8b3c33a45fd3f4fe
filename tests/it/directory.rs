//! The Keeper directory joined to Keka through GraphQL: costs (asserted from both sandboxes' counters), the access
//! review against the sandbox's own account categories, snapshots, and the answers without or with a failing Keeper.

use insta::assert_json_snapshot;
use keka_sandbox::keeper::route;
use keka_sandbox::tenant::EmploymentStatus;
use keka_sandbox::{KeeperAccountCategory, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::helpers::{codes, spawn_app, spawn_app_with, test_today};

const ACCOUNTS_WITH_TEAMS: &str =
    "{ employees(first: 100) { nodes { id directoryAccount { status teams { name } } } } }";

const ACCESS_REVIEW: &str = "{ accessReview {
    asOf nodeId accountsReviewed employeesReviewed
    relievedWithActiveAccount { count items { employee { displayName employmentStatus } account { userName status } exitDate daysSinceExit } }
    accountsWithoutEmployee { count items { userName displayName status teams { name } } }
    workingEmployeesWithoutAccount { count items { displayName email } }
    ambiguousMatches { count items { email accounts { userName } employees { displayName } } }
} }";

/// The sandbox's own record of its Keeper node, generated exactly as the app's sandbox was.
async fn same_sandbox(employees: usize) -> RunningSandbox {
    let config = SandboxConfig { employees, today: test_today(), ..SandboxConfig::default() };
    RunningSandbox::start(config).await.expect("sandbox starts")
}

#[tokio::test]
async fn a_page_of_accounts_costs_one_directory_snapshot_cold_and_nothing_warm() {
    let app = spawn_app(250).await;
    let cold = app.query(ACCOUNTS_WITH_TEAMS).await;
    assert!(cold.get("errors").is_none(), "{cold}");
    let keeper = app.keeper_stats().await;
    // 246 accounts and 17 teams, one page of (at most) 1,000 each.
    assert_eq!((keeper.count(route::USERS), keeper.count(route::GROUPS), keeper.api_requests()), (1, 1, 2));
    // Keka: the one employee page; the join needs no org walk.
    assert_eq!(app.keka_stats().await.count("/api/v1/hris/employees"), 1);
    let nodes = cold["data"]["employees"]["nodes"].as_array().unwrap();
    let with_account = nodes.iter().filter(|node| node["directoryAccount"].is_object()).count();
    assert!(with_account >= 85, "most working people have an account: {with_account} of 100");
    assert!(
        nodes.iter().any(|node| node["directoryAccount"]["teams"].as_array().is_some_and(|teams| !teams.is_empty()))
    );

    app.reset_keka_stats().await;
    app.reset_keeper_stats().await;
    let warm = app.query(ACCOUNTS_WITH_TEAMS).await;
    assert_eq!(warm, cold);
    assert_eq!(app.keeper_stats().await.api_requests(), 0);
    assert_eq!(app.keka_stats().await.api_requests(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_access_review_finds_the_sandboxs_drift_for_one_snapshot_of_each_side() {
    let app = spawn_app(250).await;
    let review = app.query(ACCESS_REVIEW).await;
    assert!(review.get("errors").is_none(), "{review}");
    let keeper = app.keeper_stats().await;
    assert_eq!(keeper.api_requests(), 2);
    // 250 people at 200 a page: the org snapshot is two pages.
    assert_eq!(app.keka_stats().await.count("/api/v1/hris/employees"), 2);

    let sandbox = same_sandbox(250).await;
    let directory = sandbox.keeper_directory();
    let in_category = |category| directory.accounts_in(category).count() as u64;
    let working_without_account = sandbox
        .tenant()
        .employees
        .iter()
        .filter(|employee| employee.employment_status == EmploymentStatus::Working)
        .filter(|employee| directory.accounts_of(employee.id).next().is_none())
        .count() as u64;
    let review = &review["data"]["accessReview"];
    assert_eq!(review["relievedWithActiveAccount"]["count"], in_category(KeeperAccountCategory::RelievedActive));
    assert_eq!(
        review["accountsWithoutEmployee"]["count"],
        in_category(KeeperAccountCategory::Contractor) + in_category(KeeperAccountCategory::ServiceAccount)
    );
    assert_eq!(review["workingEmployeesWithoutAccount"]["count"], working_without_account);
    assert_eq!(review["ambiguousMatches"]["count"], in_category(KeeperAccountCategory::DuplicateAddress));
    assert_eq!(review["nodeId"], sandbox.keeper_node_id());
    assert_json_snapshot!("access_review", review);
    sandbox.shutdown().await;

    app.reset_keka_stats().await;
    app.reset_keeper_stats().await;
    let warm = app.query(ACCESS_REVIEW).await;
    assert_eq!(&warm["data"]["accessReview"], review);
    assert_eq!((app.keka_stats().await.api_requests(), app.keeper_stats().await.api_requests()), (0, 0));
    app.stop().await;
}

#[tokio::test]
async fn an_employee_and_their_account_point_at_each_other() {
    let app = spawn_app(60).await;
    let sandbox = same_sandbox(60).await;
    let directory = sandbox.keeper_directory();
    // Someone matched only through `emails[]`: the IdP alias is the login, the work email a second address.
    let alias = directory.accounts_in(KeeperAccountCategory::WorkingActiveEmailsOnly).next().expect("one in 60");
    let employee_id = alias.employee.expect("derived from an employee").to_string();
    sandbox.shutdown().await;

    let answer = app
        .post(json!({
            "query": "query($id: ID!) { employee(id: $id) { displayName email directoryAccount { userName email displayName status teams { name } employee { displayName } } } }",
            "variables": { "id": employee_id },
        }))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let employee = &answer["data"]["employee"];
    assert_eq!(employee["directoryAccount"]["employee"]["displayName"], employee["displayName"]);
    assert_ne!(employee["directoryAccount"]["userName"], employee["email"]);
    assert_json_snapshot!("employee_directory_account", employee);
    app.stop().await;
}

#[tokio::test]
async fn directory_accounts_are_entities_resolved_in_order_with_unknown_ids_null() {
    let app = spawn_app(60).await;
    let listed = app.query("{ directoryAccounts(first: 3, status: LOCKED) { totalCount nodes { id status } } }").await;
    let ids: Vec<String> = listed["data"]["directoryAccounts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty() && listed["data"]["directoryAccounts"]["nodes"][0]["status"] == "LOCKED", "{listed}");
    let mut representations: Vec<Value> =
        ids.iter().rev().map(|id| json!({ "__typename": "DirectoryAccount", "id": id })).collect();
    representations.insert(1, json!({ "__typename": "DirectoryAccount", "id": "999999999999999" }));
    let answer = app
        .post(json!({
            "query": "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on DirectoryAccount { id status } } }",
            "variables": { "representations": representations },
        }))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let found: Vec<Value> = answer["data"]["_entities"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    let mut expected: Vec<Value> = ids.iter().rev().map(|id| json!(id)).collect();
    expected.insert(1, Value::Null);
    assert_eq!(found, expected);
    app.stop().await;
}

#[tokio::test]
async fn without_keeper_the_directory_fields_say_so_and_the_rest_of_the_graph_answers() {
    let app = spawn_app_with(20, |settings| settings.keeper = None).await;
    let answer = app
        .query("{ employees(first: 2) { nodes { displayName directoryAccount { id } } } directoryTeams { id } accessReview { nodeId } directoryAccounts { totalCount } directoryAccount(id: \"1\") { id } }")
        .await;
    let data = &answer["data"];
    assert!(data["employees"]["nodes"][1]["displayName"].is_string(), "{answer}");
    assert_eq!(data["employees"]["nodes"][0]["directoryAccount"], Value::Null);
    assert_eq!(data["directoryTeams"], json!([]));
    assert_eq!(data["accessReview"], Value::Null);
    assert_eq!(data["directoryAccounts"], Value::Null);
    assert_eq!(codes(&answer), vec!["DIRECTORY_NOT_CONFIGURED"; 6]);
    app.stop().await;
}

#[tokio::test]
async fn a_failing_keeper_codes_the_directory_fields_and_keka_still_answers() {
    let app = spawn_app(20).await;
    app.set_keeper_faults(json!({ "error_rate": 1.0 })).await;
    let answer = app.query("{ employees(first: 2) { nodes { displayName directoryAccount { id } } } }").await;
    assert!(answer["data"]["employees"]["nodes"][0]["displayName"].is_string(), "{answer}");
    assert_eq!(answer["data"]["employees"]["nodes"][0]["directoryAccount"], Value::Null);
    assert!(!codes(&answer).is_empty() && codes(&answer).iter().all(|code| code == "UPSTREAM_UNAVAILABLE"), "{answer}");

    // Keeper recovers: so does the field, without a restart, once the failed rebuild's error (shared for a second,
    // so a burst of fields cannot storm Keeper) has lapsed.
    app.set_keeper_faults(json!({})).await;
    let mut answer = Value::Null;
    for _ in 0..50 {
        answer = app.query("{ employees(first: 2) { nodes { directoryAccount { id } } } }").await;
        if answer.get("errors").is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(answer.get("errors").is_none(), "{answer}");
    app.stop().await;
}
