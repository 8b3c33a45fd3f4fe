//! The served GraphQL API against the sandbox: answers, Relay paging, Keka cost, errors.

use std::collections::HashSet;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use insta::assert_json_snapshot;
use keka_subgraph::graphql::{AccessDirectives, schema_sdl};
use keka_subgraph::keka::{EmployeeFilter, KekaClient, PageRequest};
use serde_json::{Value, json};

use crate::helpers::{codes, shared_secret_auth, spawn_app, spawn_app_with};

const EMPLOYEES_ROUTE: &str = "/api/v1/hris/employees";

#[tokio::test]
async fn a_cold_page_with_managers_and_groups_costs_one_page_plus_manager_batches_plus_two_lists() {
    let app = spawn_app(1000).await;
    let query =
        "{ employees(first: 100) { edges { node { id manager { displayName } groups { name type { name } } } } } }";

    let cold = app.query(query).await;
    let cold_stats = app.keka_stats().await;
    app.reset_keka_stats().await;
    let warm = app.query(query).await;
    let warm_stats = app.keka_stats().await;

    assert!(cold.get("errors").is_none(), "{cold}");
    assert_eq!(cold, warm);
    let edges = cold["data"]["employees"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert!(edges.iter().all(|edge| edge["node"]["groups"].as_array().is_some_and(|groups| groups.len() >= 4)));
    assert!(edges.iter().all(|edge| edge["node"]["groups"][0]["type"]["name"].is_string()));
    // What the data needs: page 1 (200 people) holds the 100 shown; managers outside it come in batches of 50.
    let client = KekaClient::new(app.sandbox_keka.clone()).unwrap();
    let page = client.employees_page(&EmployeeFilter::default(), PageRequest::new(1, 200)).await.unwrap();
    let on_page: HashSet<&str> = page.items.iter().map(|employee| employee.id.as_str()).collect();
    let missing: HashSet<&str> = page.items[..100]
        .iter()
        .filter_map(|employee| employee.reports_to.as_ref().map(|manager| manager.id.as_str()))
        .filter(|id| !on_page.contains(id))
        .collect();
    let manager_batches = missing.len().div_ceil(50) as u64;
    assert_eq!(cold_stats.count(EMPLOYEES_ROUTE), 1 + manager_batches, "{cold_stats:?}");
    assert_eq!(cold_stats.count("/api/v1/hris/groups"), 1);
    assert_eq!(cold_stats.count("/api/v1/hris/grouptypes"), 1);
    assert_eq!(cold_stats.api_requests(), 3 + manager_batches);
    assert_eq!(warm_stats.api_requests(), 0, "{warm_stats:?}");
    app.stop().await;
}

#[tokio::test]
async fn direct_reports_of_a_whole_page_cost_one_snapshot() {
    let app = spawn_app(1000).await;

    let response = app.query("{ employees(first: 100) { nodes { id directReports { totalCount } } } }").await;

    assert!(response.get("errors").is_none(), "{response}");
    let stats = app.keka_stats().await;
    // Page 1 is shared by the window and the snapshot walk: 1,000 people at 200 per page.
    assert_eq!(stats.count(EMPLOYEES_ROUTE), 5, "{stats:?}");
    assert_eq!(stats.api_requests(), 5);
    let counts: u64 = response["data"]["employees"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["directReports"]["totalCount"].as_u64().unwrap())
        .sum();
    assert!(counts > 0);
    app.stop().await;
}

#[tokio::test]
async fn paging_forward_and_backward_visits_every_employee_once() {
    let app = spawn_app(230).await;
    let mut forward = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let cursor = after.as_ref().map_or("null".to_owned(), |cursor| format!("\"{cursor}\""));
        let response = app.query(&format!("{{ employees(first: 100, after: {cursor}) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}")).await;
        let connection = &response["data"]["employees"];
        assert_eq!(connection["totalCount"], 230);
        forward
            .extend(connection["nodes"].as_array().unwrap().iter().map(|node| node["id"].as_str().unwrap().to_owned()));
        if connection["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let mut backward = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..10 {
        let cursor = before.as_ref().map_or("null".to_owned(), |cursor| format!("\"{cursor}\""));
        let response = app.query(&format!("{{ employees(last: 70, before: {cursor}) {{ pageInfo {{ hasPreviousPage startCursor }} nodes {{ id }} }} }}")).await;
        let connection = &response["data"]["employees"];
        let mut ids: Vec<String> = connection["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["id"].as_str().unwrap().to_owned())
            .collect();
        ids.extend(backward);
        backward = ids;
        if connection["pageInfo"]["hasPreviousPage"] == json!(false) {
            break;
        }
        before = connection["pageInfo"]["startCursor"].as_str().map(str::to_owned);
    }

    assert_eq!(forward.len(), 230);
    assert_eq!(forward.iter().collect::<HashSet<_>>().len(), 230);
    assert_eq!(forward, backward);
    // 230 people at 200 per page: two Keka pages serve every window.
    assert_eq!(app.keka_stats().await.count(EMPLOYEES_ROUTE), 2);
    app.stop().await;
}

#[tokio::test]
async fn bad_paging_arguments_are_bad_user_input() {
    let app = spawn_app(20).await;

    for query in [
        "{ employees(first: 1000) { totalCount } }",
        "{ employees(first: -1) { totalCount } }",
        "{ employees(last: -3) { totalCount } }",
        r#"{ employees(first: 5, after: "not-a-cursor") { totalCount } }"#,
        r#"{ employees(filter: { search: "ab" }) { totalCount } }"#,
        r#"{ timeoffRequests(from: "2026-02-01", to: "2026-01-01") { totalCount } }"#,
    ] {
        let response = app.query(query).await;
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{query}: {response}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_ids_are_null_and_malformed_requests_are_coded() {
    let app = spawn_app(20).await;

    let unknown = app.query(r#"{ employee(id: "00000000-0000-0000-0000-000000000000") { id } group(id: "nope") { id } job(id: "nope") { id } }"#).await;
    let malformed = app.query("{ employees(first: 1) { nodes { id }").await;
    let invalid = app.query("{ employees { noSuchField } }").await;
    let not_json = app
        .http
        .post(format!("http://{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();

    assert_eq!(unknown, json!({ "data": { "employee": null, "group": null, "job": null } }));
    assert_eq!(codes(&malformed), ["GRAPHQL_PARSE_FAILED"], "{malformed}");
    assert_eq!(codes(&invalid), ["GRAPHQL_VALIDATION_FAILED"], "{invalid}");
    assert_eq!(not_json.status(), 400);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(codes(&body), ["BAD_REQUEST"]);
    app.stop().await;
}

#[tokio::test]
async fn a_failing_keka_nulls_the_field_and_keeps_the_rest() {
    let app = spawn_app(50).await;
    // Warm the employee page, then break Keka: the cached part still answers.
    app.query("{ employees(first: 5) { nodes { id } } }").await;
    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;

    let response = app.query("{ employees(first: 5) { nodes { id } } groupTypes { name } }").await;

    assert_eq!(response["data"]["employees"]["nodes"].as_array().unwrap().len(), 5, "{response}");
    assert_eq!(response["data"]["groupTypes"], Value::Null);
    assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("127.0.0.1") && !message.contains("/api/v1"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn the_org_chart_two_levels_deep() {
    let app = spawn_app(60).await;

    let root = app.query("{ employees(first: 100) { nodes { id manager { id } } } }").await;
    let root_id = root["data"]["employees"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["manager"].is_null())
        .unwrap()["id"]
        .clone();
    let chart = app
        .query(&format!(
            r#"{{ employee(id: {root_id}) {{ displayName jobTitle department {{ name }} office {{ name city }}
                 directReports(first: 5) {{ totalCount nodes {{ displayName jobTitle manager {{ displayName }}
                   directReports(first: 3) {{ totalCount nodes {{ displayName l2Manager {{ displayName }} }} }} }} }} }} }}"#
        ))
        .await;

    assert!(chart.get("errors").is_none(), "{chart}");
    assert_json_snapshot!("org_chart_two_levels", chart);
    app.stop().await;
}

#[tokio::test]
async fn a_groups_members_paged_forward_and_backward() {
    let app = spawn_app(120).await;
    let departments = app.query("{ groups(kind: DEPARTMENT) { id name members { totalCount } } }").await;
    let largest = departments["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|group| group["members"]["totalCount"].as_u64())
        .unwrap()
        .clone();
    let id = &largest["id"];

    let first = app.query(&format!(r#"{{ group(id: {id}) {{ name kind type {{ name kind }} members(first: 3) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }} edges {{ cursor node {{ displayName }} }} }} }} }}"#)).await;
    let end = first["data"]["group"]["members"]["pageInfo"]["endCursor"].clone();
    let next = app.query(&format!(r#"{{ group(id: {id}) {{ members(first: 3, after: {end}) {{ pageInfo {{ hasNextPage hasPreviousPage startCursor }} nodes {{ displayName }} }} }} }}"#)).await;
    let start = next["data"]["group"]["members"]["pageInfo"]["startCursor"].clone();
    let back = app
        .query(&format!(
            r#"{{ group(id: {id}) {{ members(last: 3, before: {start}) {{ nodes {{ displayName }} }} }} }}"#
        ))
        .await;

    assert_eq!(
        back["data"]["group"]["members"]["nodes"],
        json!(
            first["data"]["group"]["members"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"].clone())
                .collect::<Vec<_>>()
        )
    );
    assert_json_snapshot!("group_members_forward", first);
    assert_json_snapshot!("group_members_next", next);
    app.stop().await;
}

#[tokio::test]
async fn who_is_out_this_week() {
    let app = spawn_app(200).await;

    let response = app
        .query(
            r#"{ timeoffRequests(from: "2026-11-23", to: "2026-11-29", status: [APPROVED, PENDING], first: 10) {
                totalCount nodes { startDate endDate startSession endSession isHalfDay status type { name isPaid }
                  employee { displayName department { name } manager { displayName } } } } }"#,
        )
        .await;

    assert!(response.get("errors").is_none(), "{response}");
    assert!(response["data"]["timeoffRequests"]["totalCount"].as_u64().unwrap() > 0);
    assert_json_snapshot!("who_is_out_this_week", response);
    app.stop().await;
}

#[tokio::test]
async fn a_jobs_candidates() {
    let app = spawn_app(120).await;

    let response = app
        .query(
            r#"{ jobs { id title status openings department { name } offices { name } hiringTeam { displayName }
                 candidates(first: 3) { totalCount nodes { displayName email stageId source tags appliedOn job { title } } } } }"#,
        )
        .await;

    assert!(response.get("errors").is_none(), "{response}");
    let jobs = response["data"]["jobs"].as_array().unwrap();
    let job = jobs.iter().max_by_key(|job| job["candidates"]["totalCount"].as_u64()).unwrap();
    assert!(job["candidates"]["totalCount"].as_u64().unwrap() > 0);
    assert_json_snapshot!("a_jobs_candidates", job);
    app.stop().await;
}

#[tokio::test]
async fn attendance_for_a_week() {
    let app = spawn_app(40).await;
    let people = app
        .query(r#"{ employees(first: 40, filter: { employmentStatus: [WORKING] }) { nodes { id joiningDate } } }"#)
        .await;
    let someone = people["data"]["employees"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["joiningDate"].as_str().unwrap() < "2026-01-01")
        .unwrap()["id"]
        .clone();

    let response = app
        .query(&format!(
            r#"{{ employee(id: {someone}) {{ displayName attendance(from: "2026-11-16", to: "2026-11-22") {{
                 date dayType firstIn lastOut effectiveHours grossHours }} leaveBalances {{ typeName available annualQuota }} }} }}"#
        ))
        .await;

    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["employee"]["attendance"].as_array().unwrap().len(), 7);
    assert_json_snapshot!("attendance_for_a_week", response);
    app.stop().await;
}

#[tokio::test]
async fn employees_can_be_found_by_email_and_filtered_by_group_and_office() {
    let app = spawn_app(80).await;
    let listing = app.query("{ employees(first: 80) { nodes { id email office { id } department { id } } } }").await;
    let someone = &listing["data"]["employees"]["nodes"][7];
    let email = someone["email"].as_str().unwrap().to_uppercase();

    let by_email = app.query(&format!(r#"{{ employeeByEmail(email: "{email}") {{ id }} }}"#)).await;
    let office = someone["office"]["id"].clone();
    let department = someone["department"]["id"].clone();
    let in_office = app.query(&format!(r#"{{ employees(first: 100, filter: {{ officeId: {office} }}) {{ totalCount nodes {{ office {{ id }} }} }} }}"#)).await;
    let in_department = app.query(&format!(r#"{{ employees(first: 100, filter: {{ groupId: {department}, employmentStatus: [WORKING, RELIEVED] }}) {{ totalCount nodes {{ department {{ id }} }} }} }}"#)).await;

    assert_eq!(by_email["data"]["employeeByEmail"]["id"], someone["id"], "{by_email}");
    let office_nodes = in_office["data"]["employees"]["nodes"].as_array().unwrap();
    assert!(!office_nodes.is_empty() && office_nodes.iter().all(|node| node["office"]["id"] == office), "{in_office}");
    let department_nodes = in_department["data"]["employees"]["nodes"].as_array().unwrap();
    assert!(
        !department_nodes.is_empty() && department_nodes.iter().all(|node| node["department"]["id"] == department),
        "{in_department}"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_graphiql_and_get_queries() {
    let app = spawn_app_with(10, |settings| settings.limits.max_page_size = 50).await;
    let base = format!("http://{}", app.address);

    let health = app.http.get(format!("{base}/healthz")).send().await.unwrap();
    let ready = app.http.get(format!("{base}/readyz")).send().await.unwrap();
    let graphiql = app.http.get(format!("{base}/")).send().await.unwrap();
    let browser = app.http.get(format!("{base}/graphql")).header("accept", "text/html").send().await.unwrap();
    let get_query: Value = app
        .http
        .get(format!("{base}/graphql?query=%7B%20offices%20%7B%20name%20%7D%20%7D"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let too_big = app.query("{ employees(first: 51) { totalCount } }").await;

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
    assert!(browser.text().await.unwrap().contains("graphiql"));
    assert!(!get_query["data"]["offices"].as_array().unwrap().is_empty(), "{get_query}");
    assert_eq!(codes(&too_big), ["BAD_USER_INPUT"]);
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app(10).await;
    let huge = format!("{{ \"query\": \"{{ offices {{ name }} }}\", \"padding\": \"{}\" }}", "x".repeat(100 * 1024));

    let response = app
        .http
        .post(format!("http://{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(codes(&body), ["PAYLOAD_TOO_LARGE"]);
    app.stop().await;
}

#[tokio::test]
async fn walking_the_whole_org_chart_costs_exactly_its_pages() {
    let app = spawn_app(1000).await;
    let mut after: Option<String> = None;
    let mut seen = 0;
    let mut with_manager = 0;
    for _ in 0..20 {
        let cursor = after.as_ref().map_or("null".to_owned(), |cursor| format!("\"{cursor}\""));
        let response = app.query(&format!("{{ employees(first: 100, after: {cursor}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id manager {{ id }} }} }} }}")).await;
        assert!(response.get("errors").is_none(), "{response}");
        let connection = &response["data"]["employees"];
        let nodes = connection["nodes"].as_array().unwrap();
        seen += nodes.len();
        with_manager += nodes.iter().filter(|node| node["manager"]["id"].is_string()).count();
        if connection["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }

    assert_eq!(seen, 1000);
    assert_eq!(with_manager, 999, "everyone but the root has a manager");
    let stats = app.keka_stats().await;
    // The lower bound: 1,000 people at 200 per page; `manager { id }` needs no lookup.
    assert_eq!(stats.count(EMPLOYEES_ROUTE), 5, "{stats:?}");
    assert_eq!(stats.api_requests(), 5);
    app.stop().await;
}

#[tokio::test]
async fn who_is_out_costs_the_leave_pages_plus_people_and_lists() {
    let app = spawn_app(1000).await;
    let query = r#"{ timeoffRequests(from: "2026-11-23", to: "2026-11-29", status: [APPROVED, PENDING], first: 100) {
        totalCount nodes { employee { displayName department { name } manager { displayName } } } } }"#;

    let cold = app.query(query).await;
    let cold_stats = app.keka_stats().await;
    app.reset_keka_stats().await;
    let warm = app.query(query).await;

    assert!(cold.get("errors").is_none(), "{cold}");
    assert_eq!(cold, warm);
    // One window of leave requests, the people on leave and their managers by id (batches of 50), the group list.
    let people = cold["data"]["timeoffRequests"]["nodes"].as_array().unwrap().len();
    assert!(people > 0);
    assert_eq!(cold_stats.count("/api/v1/time/leaverequests"), 1, "{cold_stats:?}");
    assert_eq!(cold_stats.count("/api/v1/hris/groups"), 1);
    let by_id = cold_stats.count(EMPLOYEES_ROUTE);
    assert!(by_id <= 2 * people.div_ceil(50) as u64, "people and then their managers: {cold_stats:?}");
    assert_eq!(cold_stats.api_requests(), 2 + by_id);
    assert_eq!(app.keka_stats().await.api_requests(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_cursor_far_past_the_end_is_an_empty_page_not_a_crash() {
    let app = spawn_app(10).await;
    use base64::Engine as _;
    for position in ["858993458999", "18446744073709551615"] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{position}"));
        let answer =
            app.query(&format!("{{ employees(first: 5, after: \"{cursor}\") {{ totalCount nodes {{ id }} }} }}")).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["employees"]["nodes"], json!([]));
    }
    app.stop().await;
}

/// A member of an object (by key) or of a list (by index), in async-graphql's values.
fn member(value: &async_graphql::Value, key: &str) -> async_graphql::Value {
    match value {
        async_graphql::Value::Object(object) => object.get(key).cloned().unwrap_or(async_graphql::Value::Null),
        async_graphql::Value::List(items) => {
            key.parse::<usize>().ok().and_then(|index| items.get(index).cloned()).unwrap_or_default()
        }
        _ => async_graphql::Value::Null,
    }
}

/// Drops every field whose response key starts with `slow` (the fields added to force async-graphql's path).
fn without_slow_fields(value: &mut async_graphql::Value) {
    match value {
        async_graphql::Value::Object(object) => {
            object.retain(|key, _| !key.starts_with("slow"));
            object.values_mut().for_each(without_slow_fields);
        }
        async_graphql::Value::List(items) => items.iter_mut().for_each(without_slow_fields),
        _ => {}
    }
}

/// People, groups, group types and managers answered by the fast path (`graphql::plain`) are the answers async-graphql
/// gives on its own, which a response key selected twice forces (the fast path leaves such merges to it). Keys follow
/// the selection's order on the fast path.
#[tokio::test]
async fn the_fast_path_answers_exactly_as_async_graphql_does() {
    let app = spawn_app(250).await;
    let employee_fields = "__typename id employeeNumber displayName firstName middleName lastName email jobTitle \
         employmentStatus joiningDate exitDate resignationDate probationEndDate timeType workerType inProbation \
         ...names ... on Employee { again: id }";
    let group_type_fields = "__typename id name kind systemGroupTypeCode isSystemDefined";
    let group_fields = format!(
        "__typename id name code description glCode kind type {{ {group_type_fields} SLOW }} \
         ... on Group {{ label: name }} ...groupBits"
    );
    let template = format!(
        "{{ employees(first: 60) {{ nodes {{ id \
             manager {{ {employee_fields} SLOW }} \
             dottedLineManager {{ displayName SLOW }} \
             groups {{ {group_fields} SLOW }} \
             department {{ name type {{ name SLOW }} SLOW }} \
             directReports(first: 2) {{ totalCount nodes {{ displayName SLOW }} }} \
             SLOW }} }} }} \
         fragment names on Employee {{ shown: displayName }} \
         fragment groupBits on Group {{ codeAgain: code }}"
    );
    let fast = template.replace("SLOW", "");
    let slow = template.replace("SLOW", "slowTwice: __typename slowTwice: __typename");

    // Parsed as async-graphql's own values, which keep the order of keys.
    let fast_text = app.query_text(&fast).await;
    let fast_answer: async_graphql::Value = serde_json::from_str(&fast_text).unwrap();
    let mut slow_answer: async_graphql::Value = serde_json::from_str(&app.query_text(&slow).await).unwrap();
    without_slow_fields(&mut slow_answer);

    let answer = fast_answer.clone().into_json().unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    let nodes = answer["data"]["employees"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 60);
    assert!(nodes.iter().any(|node| node["manager"]["displayName"].is_string()));
    assert!(nodes.iter().any(|node| node["dottedLineManager"]["displayName"].is_string()));
    assert!(nodes.iter().any(|node| node["groups"][0]["type"]["kind"].is_string()));
    assert!(nodes.iter().any(|node| node["department"]["type"]["name"].is_string()));
    assert!(nodes.iter().any(|node| node["directReports"]["nodes"][0]["displayName"].is_string()));
    assert_eq!(fast_answer, slow_answer, "the fast path changed an answer");
    let first_node = member(&member(&member(&member(&fast_answer, "data"), "employees"), "nodes"), "0");
    let node_keys: Vec<String> = match first_node {
        async_graphql::Value::Object(node) => node.keys().map(|key| key.to_string()).collect(),
        other => panic!("not an object: {other}"),
    };
    assert_eq!(node_keys, ["id", "manager", "dottedLineManager", "groups", "department", "directReports"]);
    app.stop().await;
}

/// The object types the fast path answers, each with a query that reaches a list of them through it (`FIELD` marks
/// the selection under test).
const FAST_PATH_TYPES: [(&str, &str); 3] = [
    ("Employee", "{ employees(first: 30) { nodes { FIELD } } }"),
    ("Group", "{ employees(first: 30) { nodes { groups { FIELD } } } }"),
    ("GroupType", "{ employees(first: 30) { nodes { groups { type { FIELD } } } } }"),
];

/// A query's answer as the caller sees it: the data without the `slow` keys, and the errors in a fixed order.
fn as_seen(mut answer: Value) -> (Value, Vec<String>) {
    let mut errors: Vec<String> =
        answer.get("errors").and_then(Value::as_array).into_iter().flatten().map(Value::to_string).collect();
    errors.sort();
    let mut data: async_graphql::Value = serde_json::from_value(answer["data"].take()).unwrap();
    without_slow_fields(&mut data);
    (data.into_json().unwrap(), errors)
}

/// The named type inside a field's type (`Photo` of `[Photo!]!`).
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// Every field of the types `graphql::plain` answers (taken from the published schema, not listed here), asked for
/// by a caller the router passed without the personal-data scope, answers and fails exactly as on async-graphql's own
/// path: a guarded field entering a fast-path table would answer here where its guard refuses.
#[tokio::test]
async fn every_field_of_a_fast_path_type_answers_a_caller_without_scopes_as_async_graphql_does() {
    let app = spawn_app_with(30, |settings| {
        settings.router_auth = shared_secret_auth();
    })
    .await;
    let ask = |query: String| {
        let request = app.http.post(format!("http://{}/graphql", app.address));
        async move {
            let request = request.header("router-authorization", "r0uter-s3cret").json(&json!({ "query": query }));
            request.send().await.expect("subgraph answers").json::<Value>().await.expect("a JSON answer")
        }
    };
    let schema = async_graphql::parser::parse_schema(schema_sdl(AccessDirectives::None)).unwrap();
    let object_types: HashSet<&str> = schema
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(definition)
                if matches!(
                    definition.node.kind,
                    TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)
                ) =>
            {
                Some(definition.node.name.node.as_str())
            }
            _ => None,
        })
        .collect();
    let mut forbidden = Vec::new();

    for (type_name, template) in FAST_PATH_TYPES {
        let fields: Vec<_> = schema
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(definition) if definition.node.name.node == type_name => {
                    match &definition.node.kind {
                        TypeKind::Object(object) => Some(object.fields.iter().map(|field| &field.node)),
                        _ => None,
                    }
                }
                _ => None,
            })
            .flatten()
            .collect();
        assert!(fields.len() > 4, "{type_name} not found in the schema");
        for field in fields {
            let name = field.name.node.as_str();
            let selection = if object_types.contains(named_type(&field.ty.node)) {
                format!("{name} {{ __typename }}")
            } else {
                name.to_owned()
            };
            let fast = template.replace("FIELD", &selection);
            let slow = template.replace("FIELD", &format!("{selection} slowTwice: __typename slowTwice: __typename"));

            let (fast_data, fast_errors) = as_seen(ask(fast).await);
            let (slow_data, slow_errors) = as_seen(ask(slow).await);

            assert_eq!(fast_data, slow_data, "{type_name}.{name}: the fast path answered differently");
            assert_eq!(fast_errors, slow_errors, "{type_name}.{name}: the fast path failed differently");
            if slow_errors.iter().any(|error| error.contains("FORBIDDEN")) {
                forbidden.push(format!("{type_name}.{name}"));
            }
        }
    }
    // The caller really lacks the scope: every personal-data field was refused.
    assert_eq!(
        forbidden,
        [
            "Employee.currentAddress",
            "Employee.dateOfBirth",
            "Employee.mobilePhone",
            "Employee.personalEmail",
            "Employee.raw",
            "Employee.workPhone"
        ]
    );
    app.stop().await;
}

/// A walk of `employees` while HR hires people who land anywhere in Keka's order: everyone who was there throughout
/// is returned exactly once (a cursor resumes after its person, not after its position). The cache TTL is zero, so
/// every page is read from Keka as it is now.
#[tokio::test]
async fn a_walk_across_hires_landing_before_its_cursor_sees_everyone_once() {
    let app = spawn_app_with(60, |settings| {
        settings.cache.ttl = std::time::Duration::ZERO;
        settings.snapshot_grace = std::time::Duration::ZERO;
    })
    .await;
    let everyone_at_first: Vec<String> = {
        let answer = app.query("{ employees(first: 100) { nodes { id } } }").await;
        answer["data"]["employees"]["nodes"].as_array().unwrap().iter().map(|node| node["id"].to_string()).collect()
    };
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut hired_before_the_cursor = 0;
    for step in 0..20 {
        let after_argument = after.as_ref().map(|cursor| format!(", after: {cursor}")).unwrap_or_default();
        let page = app
            .query(&format!(
                "{{ employees(first: 10{after_argument}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}"
            ))
            .await;
        let connection = &page["data"]["employees"];
        assert!(page["errors"].is_null(), "{page}");
        seen.extend(connection["nodes"].as_array().unwrap().iter().map(|node| node["id"].to_string()));
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(connection["pageInfo"]["endCursor"].to_string());
        if step < 3 {
            // Three hires after each of the first pages, wherever Keka's order puts them.
            let hired: serde_json::Value = app
                .http
                .post(format!("http://{}/__sandbox/hr/changes", app.sandbox_address))
                .json(&json!({ "hires": 3 }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let listed = app.query("{ employees(first: 100) { nodes { id } } }").await;
            let order: Vec<String> = listed["data"]["employees"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|node| node["id"].to_string())
                .collect();
            let cursor_at = order.iter().position(|id| Some(id) == seen.last()).unwrap();
            for hire in hired.as_array().unwrap() {
                let id = hire["employeeId"].to_string();
                if order.iter().position(|listed| *listed == id).unwrap() < cursor_at {
                    hired_before_the_cursor += 1;
                }
            }
        }
    }
    assert!(hired_before_the_cursor > 0, "the seed must land some hires before the cursor, or this proves nothing");
    for id in &everyone_at_first {
        assert_eq!(seen.iter().filter(|seen| *seen == id).count(), 1, "{id} seen once");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "nobody twice");
    app.stop().await;
}
