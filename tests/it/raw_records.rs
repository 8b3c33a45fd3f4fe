//! `raw`: each record as Keka sent it, for fields the schema does not name yet; personal data behind the scope.

use serde_json::{Value, json};

use crate::helpers::{codes, shared_secret_auth, spawn_app, spawn_app_with};

const QUERY: &str = r#"{
  employees(first: 5) { nodes { id customFields { title } RAW } }
  groups { id RAW }
  offices { id RAW }
  jobs { id RAW candidates(first: 3) { nodes { id RAW } } }
  timeoffRequests(first: 5) { nodes { id RAW } }
}"#;

fn records(answer: &Value) -> Vec<&Value> {
    let data = &answer["data"];
    let mut records: Vec<&Value> = Vec::new();
    records.extend(data["employees"]["nodes"].as_array().unwrap());
    records.extend(data["groups"].as_array().unwrap());
    records.extend(data["offices"].as_array().unwrap());
    for job in data["jobs"].as_array().unwrap() {
        records.push(job);
        records.extend(job["candidates"]["nodes"].as_array().unwrap());
    }
    records.extend(data["timeoffRequests"]["nodes"].as_array().unwrap());
    records
}

/// Every kind but employees keeps its record with it: no Keka request. Employees' records are read when asked for
/// (the org snapshot holds everyone; keeping them all broke the memory target): one `employeeIds=` request for the
/// page, then nothing while they are cached.
#[tokio::test]
async fn every_kind_of_record_carries_keka_s_own_json_and_only_employees_cost_a_request_once() {
    let app = spawn_app(40).await;
    let without = app.query(&QUERY.replace("RAW", "")).await;
    assert!(without.get("errors").is_none(), "{without}");
    app.reset_keka_stats().await;

    let with = app.query(&QUERY.replace("RAW", "raw")).await;
    let stats = app.keka_stats().await;

    assert!(with.get("errors").is_none(), "{with}");
    assert_eq!(stats.api_requests(), 1, "one batch for the employees' records, the rest kept: {stats:?}");
    assert_eq!(stats.count("/api/v1/hris/employees"), 1, "{stats:?}");
    app.reset_keka_stats().await;
    assert_eq!(app.query(&QUERY.replace("RAW", "raw")).await, with);
    assert_eq!(app.keka_stats().await.api_requests(), 0, "warm: nothing");
    let records = records(&with);
    for list in
        ["/employees/nodes", "/groups", "/offices", "/jobs", "/jobs/0/candidates/nodes", "/timeoffRequests/nodes"]
    {
        let items = with["data"].pointer(list).and_then(Value::as_array);
        assert!(items.is_some_and(|items| !items.is_empty()), "the sandbox has records at {list}: {with}");
    }
    for record in &records {
        let raw = &record["raw"];
        assert!(raw.is_object(), "{record}");
        let own_id = raw.get("id").or_else(|| raw.get("identifier")).unwrap_or(&Value::Null);
        assert_eq!(own_id, &record["id"], "the raw record is this record's: {record}");
    }
    let person = &with["data"]["employees"]["nodes"][0];
    // Fields this schema does not name come through as Keka sent them.
    for unnamed in ["educationDetails", "experienceDetails", "leavePlanInfo", "holidayCalendarId"] {
        assert!(person["raw"].get(unnamed).is_some(), "{unnamed} missing from {}", person["raw"]);
    }
    assert_eq!(
        person["raw"]["customFields"].as_array().unwrap().len(),
        person["customFields"].as_array().unwrap().len()
    );
    app.stop().await;
}

#[tokio::test]
async fn raw_personal_records_need_the_personal_data_scope_and_the_others_do_not() {
    let app = spawn_app_with(20, |settings| {
        settings.router_auth = shared_secret_auth();
    })
    .await;
    let ask = |query: &str, scopes: &str| {
        let request = app
            .http
            .post(format!("http://{}/graphql", app.address))
            .header("router-authorization", "r0uter-s3cret")
            .header("x-auth-scopes", scopes)
            .json(&json!({ "query": query }));
        async move { request.send().await.expect("subgraph answers").json::<Value>().await.expect("JSON") }
    };
    let personal = [
        "{ employees(first: 2) { nodes { raw } } }",
        "{ jobs { candidates(first: 2) { nodes { raw } } } }",
        "{ timeoffRequests(first: 2) { nodes { raw } } }",
    ];
    let other = ["{ groups { raw } }", "{ offices { raw } }", "{ jobs { raw } }"];

    for query in personal {
        let refused = ask(query, "").await;
        assert!(!codes(&refused).is_empty(), "{query}: {refused}");
        assert!(codes(&refused).iter().all(|code| code == "FORBIDDEN"), "{query}: {refused}");
        let allowed = ask(query, "read:employee_pii").await;
        assert!(allowed.get("errors").is_none(), "{query}: {allowed}");
    }
    for query in other {
        let answer = ask(query, "").await;
        assert!(answer.get("errors").is_none(), "{query}: {answer}");
    }
    app.stop().await;
}
