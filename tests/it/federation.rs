//! The subgraph side of federation: `_service`, and `_entities` batched through the loaders.

use keka_subgraph::graphql::AccessDirectives;
use keka_subgraph::keka::{EmployeeFilter, KekaClient, PageRequest};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const ENTITIES: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { __typename ... on Employee { id email displayName manager { displayName } } ... on Office { id name } ... on Group { id name } } }";

async fn entities(app: &TestApp, representations: Value) -> Value {
    app.post(json!({ "query": ENTITIES, "variables": { "representations": representations } })).await
}

/// Employees read straight from the sandbox, so the subgraph's own caches stay cold.
async fn employees_from_keka(app: &TestApp, page: u32) -> Vec<keka_subgraph::keka::models::Employee> {
    let client = KekaClient::new(app.sandbox_keka.clone()).unwrap();
    let employees = client.employees_page(&EmployeeFilter::default(), PageRequest::new(page, 200)).await.unwrap().items;
    app.reset_keka_stats().await;
    employees
}

#[tokio::test]
async fn the_service_sdl_declares_the_keys_and_only_the_configured_access_directives() {
    let plain = spawn_app(5).await;
    let scoped = spawn_app_with(5, |settings| settings.access_directives = AccessDirectives::RequiresScopes).await;

    let plain_sdl = plain.query("{ _service { sdl } }").await["data"]["_service"]["sdl"].as_str().unwrap().to_owned();
    let scoped_sdl = scoped.query("{ _service { sdl } }").await["data"]["_service"]["sdl"].as_str().unwrap().to_owned();

    assert!(plain_sdl.contains(r#"type Employee @key(fields: "id") @key(fields: "email")"#), "{plain_sdl}");
    for entity in ["Group", "GroupType", "TimeoffRequest", "TimeoffType", "Office", "Job", "Candidate"] {
        assert!(plain_sdl.contains(&format!("type {entity} @key(fields: \"id\")")), "{entity}");
    }
    assert!(plain_sdl.contains("type PageInfo @shareable"));
    assert!(!plain_sdl.contains("@requiresScopes(scopes"));
    assert!(scoped_sdl.contains(r#"personalEmail: String @requiresScopes(scopes: [["read:employee_pii"]])"#));
    plain.stop().await;
    scoped.stop().await;
}

#[tokio::test]
async fn sixty_employee_representations_cost_two_id_batches_cold_and_nothing_warm() {
    let app = spawn_app(1000).await;
    let page = employees_from_keka(&app, 3).await;
    let mut representations: Vec<Value> =
        page[..60].iter().map(|employee| json!({ "__typename": "Employee", "id": employee.id })).collect();
    representations.insert(10, json!({ "__typename": "Employee", "id": "00000000-0000-0000-0000-000000000000" }));

    let cold = entities(&app, json!(representations)).await;
    let cold_stats = app.keka_stats().await;
    app.reset_keka_stats().await;
    let warm = entities(&app, json!(representations)).await;

    assert!(cold.get("errors").is_none(), "{cold}");
    let items = cold["data"]["_entities"].as_array().unwrap();
    assert_eq!(items.len(), 61);
    assert_eq!(items[10], Value::Null, "an unknown id is null at its position");
    let ids: Vec<&str> = items.iter().filter(|item| !item.is_null()).map(|item| item["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = page[..60].iter().map(|employee| employee.id.as_str()).collect();
    assert_eq!(ids, expected, "order is preserved");
    // 61 ids at 50 per `employeeIds=` request, then the managers those people report to.
    let employee_requests = cold_stats.count("/api/v1/hris/employees");
    let managers_outside: std::collections::HashSet<&str> = page[..60]
        .iter()
        .filter_map(|employee| employee.reports_to.as_ref().map(|manager| manager.id.as_str()))
        .filter(|id| !page[..60].iter().any(|employee| employee.id == *id))
        .collect();
    assert_eq!(employee_requests, 2 + managers_outside.len().div_ceil(50) as u64, "{cold_stats:?}");
    assert_eq!(cold_stats.api_requests(), employee_requests);
    assert_eq!(warm, cold);
    assert_eq!(app.keka_stats().await.api_requests(), 0);
    app.stop().await;
}

#[tokio::test]
async fn employees_resolve_by_email_and_other_entities_by_id() {
    let app = spawn_app(300).await;
    let page = employees_from_keka(&app, 1).await;
    let offices = app.query("{ offices { id name } groups(kind: DEPARTMENT) { id name } }").await;
    let office = &offices["data"]["offices"][0];
    let group = &offices["data"]["groups"][0];
    let mut representations: Vec<Value> = page[..5]
        .iter()
        .map(|employee| json!({ "__typename": "Employee", "email": employee.email.as_ref().unwrap().to_uppercase() }))
        .collect();
    representations.push(json!({ "__typename": "Employee", "email": "nobody@nowhere.example" }));
    representations.push(json!({ "__typename": "Office", "id": office["id"] }));
    representations.push(json!({ "__typename": "Group", "id": group["id"] }));

    let response = entities(&app, json!(representations)).await;

    assert!(response.get("errors").is_none(), "{response}");
    let items = response["data"]["_entities"].as_array().unwrap();
    for (item, employee) in items.iter().zip(&page[..5]) {
        assert_eq!(item["id"], json!(employee.id));
    }
    assert_eq!(items[5], Value::Null);
    assert_eq!(items[6]["name"], office["name"]);
    assert_eq!(items[7]["name"], group["name"]);
    app.stop().await;
}

#[tokio::test]
async fn a_keka_outage_nulls_each_representation_with_a_code() {
    let app = spawn_app(100).await;
    let page = employees_from_keka(&app, 1).await;
    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let representations: Vec<Value> =
        page[..3].iter().map(|employee| json!({ "__typename": "Employee", "id": employee.id })).collect();

    let response = entities(&app, json!(representations)).await;

    assert_eq!(response["data"]["_entities"], json!([null, null, null]), "{response}");
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().all(|error| error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"), "{response}");
    app.stop().await;
}

/// Each bad representation is null at its own position with a coded error naming the type or key, and every other
/// position answers, however the representations are bound: a variable of any name, or inline.
#[tokio::test]
async fn a_bad_representation_is_null_at_its_own_position_and_the_others_answer() {
    let app = spawn_app(10).await;
    let people = employees_from_keka(&app, 1).await;
    let (first, second) = (people[0].id.as_str(), people[1].id.as_str());
    let selection = "__typename ... on Employee { id displayName }";
    let as_variable = json!({
        "query": format!("query($r: [_Any!]!) {{ _entities(representations: $r) {{ {selection} }} }}"),
        "variables": { "r": [
            { "__typename": "Employee", "id": first }, { "__typename": "Spaceship", "id": "1" }, { "__typename": "Office" },
            { "__typename": "Employee", "id": second }, { "__typename": "Employee", "id": 7 }
        ] },
    });
    let inline = json!({ "query": format!(
        r#"{{ found: _entities(representations: [{{__typename: "Employee", id: "{first}"}}, {{__typename: "Spaceship", id: "1"}}, {{__typename: "Office"}}, {{__typename: "Employee", id: "{second}"}}, {{__typename: "Employee", id: 7}}]) {{ {selection} }} }}"#
    ) });

    for (body, key) in [(as_variable, "_entities"), (inline, "found")] {
        let response = app.post(body).await;
        let items = response["data"][key].as_array().unwrap_or_else(|| panic!("a list: {response}"));
        assert_eq!(items.len(), 5, "{response}");
        assert_eq!(items[0]["id"], first, "{response}");
        assert_eq!(items[3]["id"], second, "{response}");
        assert_eq!([&items[1], &items[2], &items[4]], [&Value::Null; 3], "{response}");
        let errors: Vec<(String, Value, Value)> = response["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| {
                (
                    error["message"].as_str().unwrap().to_owned(),
                    error["path"].clone(),
                    error["extensions"]["code"].clone(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "representation 1: `Spaceship` is not an entity of this subgraph".to_owned(),
                    json!([key, 1]),
                    json!("BAD_USER_INPUT")
                ),
                (
                    "representation 2: `Office` needs a key field: `id` (a string)".to_owned(),
                    json!([key, 2]),
                    json!("BAD_USER_INPUT")
                ),
                (
                    "representation 4: `Employee` needs a key field: `id` or `email` (a string)".to_owned(),
                    json!([key, 4]),
                    json!("BAD_USER_INPUT")
                ),
            ],
            "{response}"
        );
    }
    app.stop().await;
}

/// The representation limit counts representations however they are bound.
#[tokio::test]
async fn the_representation_limit_holds_for_any_variable_name() {
    let app = spawn_app_with(5, |settings| settings.limits.max_representations = 2).await;
    let representations: Vec<Value> =
        (0..3).map(|i| json!({ "__typename": "Employee", "id": format!("e{i}") })).collect();
    let response = app
        .post(json!({
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
            "variables": { "r": representations },
        }))
        .await;
    assert_eq!(crate::helpers::codes(&response), ["TOO_MANY_REPRESENTATIONS"], "{response}");
    assert_eq!(app.keka_stats().await.api_requests(), 0);
    app.stop().await;
}
