//! The HTTP surface, exercised through real loopback requests.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::{Harness, config, fetch_token, request_token, today};
use crate::{FaultConfig, HireListShape, RunningSandbox, SandboxConfig};

const EMPLOYEES: &str = "/api/v1/hris/employees";

fn assert_error_envelope(body: &Value) {
    assert_eq!(body["succeeded"], false);
    assert_eq!(body["message"], "An Error Occured");
    assert!(!body["errors"].as_array().expect("errors array").is_empty());
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn token_endpoint_checks_fields_in_order() {
    let sandbox = RunningSandbox::start(config()).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let good = [
        ("grant_type", "kekaapi"),
        ("scope", "kekaapi"),
        ("client_id", "sandbox-client-id"),
        ("client_secret", "sandbox-client-secret"),
        ("api_key", "sandbox-api-key"),
    ];
    let post = |form: Vec<(&'static str, &'static str)>| {
        let request = client.post(sandbox.token_url()).form(&form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    };
    let with = |key: &str, value: &'static str| {
        good.iter().map(|&(k, v)| if k == key { (k, value) } else { (k, v) }).collect::<Vec<_>>()
    };

    let missing: Vec<_> = good.iter().copied().filter(|(k, _)| *k != "api_key").collect();
    assert_eq!(post(missing).await, (400, json!({"error": "invalid_request"})));
    // grant_type is checked before the client, the client before the scope, the scope before the key.
    let mut bad = with("grant_type", "client_credentials");
    bad[2].1 = "wrong";
    assert_eq!(post(bad).await, (400, json!({"error": "unsupported_grant_type"})));
    let mut bad = with("client_secret", "wrong");
    bad[1].1 = "openid";
    assert_eq!(post(bad).await, (400, json!({"error": "invalid_client"})));
    let mut bad = with("scope", "openid");
    bad[4].1 = "wrong";
    assert_eq!(post(bad).await, (400, json!({"error": "invalid_scope"})));
    assert_eq!(post(with("api_key", "wrong")).await, (400, json!({"error": "invalid_grant"})));

    let response = client.post(sandbox.token_url()).form(&good).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "kekaapi");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert!(
        token
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    );

    // JSON instead of a form is an invalid request.
    let response = client.post(sandbox.token_url()).json(&json!({"grant_type": "kekaapi"})).send().await.unwrap();
    assert_eq!(response.status(), 400);

    let stats = sandbox.stats();
    assert_eq!(stats.token_requests, 7);
    assert_eq!(stats.count_status("/connect/token", 200), 1);
    assert_eq!(stats.count_status("/connect/token", 400), 6);
    assert_eq!(stats.api_requests(), 0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn api_requires_a_live_token_and_401s_do_not_use_budget() {
    let h = Harness::start(SandboxConfig { rate_limit_per_minute: 1, ..config() }).await;
    let url = format!("{}{EMPLOYEES}", h.origin());

    let response = h.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    assert!(response.bytes().await.unwrap().is_empty());

    for auth in ["Bearer not-a-token", "Basic abc"] {
        let response = h.client.get(&url).header(AUTHORIZATION, auth).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let response = h.client.get(&url).header(AUTHORIZATION, "Bearer nope").send().await.unwrap();
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer error=\"invalid_token\"");

    // The budget of one request is still there after the 401s.
    assert_eq!(h.get(EMPLOYEES).await.status(), 200);

    h.sandbox.revoke_tokens();
    let response = h.get(EMPLOYEES).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer error=\"invalid_token\"");
    assert_eq!(h.sandbox.stats().count_status(EMPLOYEES, 401), 5);
    h.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let h = Harness::start(SandboxConfig { token_ttl: Duration::ZERO, ..config() }).await;
    assert_eq!(h.get(EMPLOYEES).await.status(), 401);
    h.shutdown().await;
}

#[tokio::test]
async fn rate_budget_returns_429_after_quota() {
    let h = Harness::start(SandboxConfig {
        rate_limit_per_minute: 3,
        rate_limit_window: Duration::from_secs(3600),
        ..config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(h.get(EMPLOYEES).await.status(), 200);
    }
    let response = h.get(EMPLOYEES).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get(RETRY_AFTER).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "succeeded": false,
            "message": "rateLimitExceeded",
            "errors": ["rateLimitExceeded: quota of 3 requests per minute exceeded"],
            "data": null
        })
    );
    // Token requests are outside the budget.
    fetch_token(&h.client, &h.sandbox).await;
    let stats = h.sandbox.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.count_status(EMPLOYEES, 429), 1);
    h.shutdown().await;

    let h = Harness::start(SandboxConfig {
        rate_limit_per_minute: 1,
        rate_limit_window: Duration::from_secs(3600),
        retry_after_header: true,
        ..config()
    })
    .await;
    assert_eq!(h.get(EMPLOYEES).await.status(), 200);
    let response = h.get(EMPLOYEES).await;
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
    h.shutdown().await;
}

#[tokio::test]
async fn list_envelope_paging_math_and_links() {
    let h = Harness::start(config()).await;
    let origin = h.origin();

    let (status, body) = h.get_json(&format!("{EMPLOYEES}?pageSize=1000")).await;
    assert_eq!(status, 200);
    assert_eq!(body["succeeded"], true);
    assert!(body["message"].is_null());
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["pageSize"], 200);
    assert_eq!(body["pageNumber"], 1);
    assert_eq!(body["data"].as_array().unwrap().len(), 200);
    assert_eq!(body["totalRecords"], 250);
    assert_eq!(body["totalPages"], 2);
    assert_eq!(body["firstPage"], format!("{origin}{EMPLOYEES}?pageNumber=1&pageSize=200"));
    assert_eq!(body["lastPage"], format!("{origin}{EMPLOYEES}?pageNumber=2&pageSize=200"));
    assert_eq!(body["nextPage"], format!("{origin}{EMPLOYEES}?pageNumber=2&pageSize=200"));
    assert!(body["previousPage"].is_null());

    let (_, body) = h.get_json(&format!("{EMPLOYEES}?pageNumber=2&pageSize=200")).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 50);
    assert!(body["nextPage"].is_null());
    assert_eq!(body["previousPage"], format!("{origin}{EMPLOYEES}?pageNumber=1&pageSize=200"));

    let (status, body) = h.get_json(&format!("{EMPLOYEES}?pageNumber=9")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["totalRecords"], 250);
    assert_eq!(body["totalPages"], 3);
    assert!(body["nextPage"].is_null());

    // Links keep the other filters.
    let (_, body) = h.get_json(&format!("{EMPLOYEES}?employmentStatus=Working&pageSize=10")).await;
    let next = body["nextPage"].as_str().unwrap();
    assert!(next.starts_with(&origin));
    assert!(next.contains("employmentStatus=Working") && next.contains("pageNumber=2") && next.contains("pageSize=10"));

    // No matches: zero pages, no next page.
    let (_, body) = h.get_json(&format!("{EMPLOYEES}?employeeIds=00000000-0000-4000-8000-000000000000")).await;
    assert_eq!(body["totalRecords"], 0);
    assert_eq!(body["totalPages"], 0);
    assert!(body["nextPage"].is_null());

    for bad in ["pageSize=abc", "pageSize=0", "pageSize=-5", "pageNumber=0"] {
        let (status, body) = h.get_json(&format!("{EMPLOYEES}?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert_error_envelope(&body);
    }

    // Following nextPage visits everyone exactly once, in employee-number order.
    let all = h.get_all(&format!("{EMPLOYEES}?pageSize=30")).await;
    assert_eq!(all.len(), 250);
    let ids: HashSet<_> = all.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 250);
    let numbers: Vec<_> = all.iter().map(|e| e["employeeNumber"].as_str().unwrap().to_owned()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    h.shutdown().await;
}

#[tokio::test]
async fn employee_filters() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let (a, b) = (t.employees[3].id, t.employees[40].id);

    let (_, body) = h.get_json(&format!("{EMPLOYEES}?EMPLOYEEIDS={a},{b},not-a-guid")).await;
    let got: HashSet<_> =
        body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, HashSet::from([a.to_string(), b.to_string()]));

    let relieved = t.employees.iter().filter(|e| e.employment_status as u8 == 1).count();
    for value in ["Relieved", "relieved", "1"] {
        let (_, body) = h.get_json(&format!("{EMPLOYEES}?employmentStatus={value}&pageSize=200")).await;
        assert_eq!(body["totalRecords"], relieved, "{value}");
        assert!(body["data"].as_array().unwrap().iter().all(|e| e["employmentStatus"] == 1));
    }
    let (_, body) = h.get_json(&format!("{EMPLOYEES}?employmentStatus=Working,Relieved")).await;
    assert_eq!(body["totalRecords"], 250);
    let (status, _) = h.get_json(&format!("{EMPLOYEES}?employmentStatus=Retired")).await;
    assert_eq!(status, 400);

    let (_, body) = h.get_json(&format!("{EMPLOYEES}?inProbation=true&pageSize=200")).await;
    let in_probation = body["data"].as_array().unwrap();
    assert!(!in_probation.is_empty());
    let today_str = format!("{}T00:00:00", today());
    assert!(in_probation.iter().all(|e| e["probationEndDate"].as_str().unwrap() > today_str.as_str()));
    let (_, not_in) = h.get_json(&format!("{EMPLOYEES}?inProbation=false")).await;
    assert_eq!(body["totalRecords"].as_u64().unwrap() + not_in["totalRecords"].as_u64().unwrap(), 250);
    let (status, body) = h.get_json(&format!("{EMPLOYEES}?inProbation=maybe")).await;
    assert_eq!(status, 400);
    assert_error_envelope(&body);

    let (_, body) = h.get_json(&format!("{EMPLOYEES}?inNoticePeriod=true&pageSize=200")).await;
    for e in body["data"].as_array().unwrap() {
        assert_eq!(e["employmentStatus"], 0);
        assert!(e["exitDate"].as_str().unwrap() > today_str.as_str());
    }

    let (status, body) = h.get_json(&format!("{EMPLOYEES}?searchKey=ab")).await;
    assert_eq!(status, 400);
    assert_error_envelope(&body);
    let target = &t.employees[10];
    let key: String = target.last_name.to_uppercase().chars().take(4).collect();
    let (_, body) = h.get_json(&format!("{EMPLOYEES}?searchKey={key}&pageSize=200")).await;
    let data = body["data"].as_array().unwrap();
    assert!(data.iter().any(|e| e["id"] == target.id.to_string()));
    assert!(data.iter().all(|e| {
        let key = key.to_lowercase();
        ["firstName", "lastName", "displayName"].iter().any(|f| e[*f].as_str().unwrap().to_lowercase().contains(&key))
    }));

    // Filters AND together.
    let (_, body) =
        h.get_json(&format!("{EMPLOYEES}?employeeIds={a}&employmentStatus=Relieved,Working&searchKey=zzzzzz")).await;
    assert_eq!(body["totalRecords"], 0);

    let (_, body) =
        h.get_json(&format!("{EMPLOYEES}?lastModified={}T00:00:00Z", today() - chrono::Days::new(30))).await;
    let recent = body["totalRecords"].as_u64().unwrap();
    assert!(recent > 0 && recent < 250, "{recent}");
    h.shutdown().await;
}

#[tokio::test]
async fn single_employee_and_search() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let e = t.employees.iter().find(|e| e.reports_to.is_some_and(|m| t.employees[m].reports_to.is_some())).unwrap();
    let manager = &t.employees[e.reports_to.unwrap()];

    let (status, body) = h.get_json(&format!("{EMPLOYEES}/{}", e.id)).await;
    assert_eq!(status, 200);
    assert_eq!(body["succeeded"], true);
    assert_eq!(body["errors"], json!([]));
    let data = &body["data"];
    assert_eq!(data["id"], e.id.to_string());
    assert_eq!(data["reportsTo"]["id"], manager.id.to_string());
    assert_eq!(data["reportsTo"]["email"], manager.email.as_str());
    assert_eq!(data["l2Manager"]["id"], t.employees[manager.reports_to.unwrap()].id.to_string());
    assert!(data["jobTitle"]["identifier"].is_string() && data["jobTitle"]["title"].is_string());
    assert!(data["joiningDate"].as_str().unwrap().ends_with("T00:00:00"));
    assert_eq!(data["groups"].as_array().unwrap().iter().filter(|g| g["groupType"] == 2).count(), 1);
    for field in ["currentAddress", "permanentAddress", "customFields", "leavePlanInfo", "employmentStatus", "gender"] {
        assert!(!data[field].is_null(), "{field}");
    }

    let (_, root) = h.get_json(&format!("{EMPLOYEES}/{}", t.root().unwrap().id)).await;
    assert!(root["data"]["reportsTo"].is_null());
    assert!(root["data"]["l2Manager"].is_null());

    for unknown in ["00000000-0000-4000-8000-000000000000", "nope"] {
        let (status, body) = h.get_json(&format!("{EMPLOYEES}/{unknown}")).await;
        assert_eq!(status, 404);
        assert_eq!(body["errors"], json!(["Employee not found"]));
        assert_error_envelope(&body);
    }

    let search = |body: Value| {
        h.client
            .post(format!("{}{EMPLOYEES}/search", h.origin()))
            .header(AUTHORIZATION, format!("Bearer {}", h.token))
            .json(&body)
            .send()
    };
    let response = search(json!({"workEmail": e.email.to_uppercase()})).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["id"], e.id.to_string());
    let body: Value = search(json!({"workEmail": "nobody@acme.example"})).await.unwrap().json().await.unwrap();
    assert_eq!(body["data"], json!([]));
    let with_phone = t.employees.iter().find(|e| e.work_phone.is_some()).unwrap();
    let body: Value =
        search(json!({"WorkPhone": with_phone.work_phone.clone().unwrap()})).await.unwrap().json().await.unwrap();
    assert!(body["data"].as_array().unwrap().iter().any(|x| x["id"] == with_phone.id.to_string()));
    assert_eq!(search(json!({})).await.unwrap().status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn organisation_endpoints() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();

    let (_, types) = h.get_json("/api/v1/hris/grouptypes").await;
    let types = types["data"].as_array().unwrap().clone();
    let system: HashSet<_> = types.iter().map(|g| g["systemGroupType"].as_i64().unwrap()).collect();
    for kind in [0, 1, 2, 3, 4, 6] {
        assert!(system.contains(&kind), "group type {kind}");
    }
    assert!(types.iter().any(|g| g["isSystemDefined"] == false && g["systemGroupType"] == 0));

    let (_, depts) = h.get_json("/api/v1/hris/groups?systemGroupTypes=2&pageSize=200").await;
    let dept_groups = depts["data"].as_array().unwrap();
    let dept_type = types.iter().find(|g| g["systemGroupType"] == 2).unwrap()["id"].clone();
    assert!(dept_groups.iter().all(|g| g["groupTypeId"] == dept_type));
    assert_eq!(dept_groups.len(), t.departments.len());
    let (_, by_type) = h.get_json(&format!("/api/v1/hris/groups?groupTypeIds={}", dept_type.as_str().unwrap())).await;
    assert_eq!(by_type["totalRecords"], t.departments.len());
    let (status, _) = h.get_json("/api/v1/hris/groups?systemGroupTypes=x").await;
    assert_eq!(status, 400);

    let (_, departments) = h.get_json("/api/v1/hris/departments?pageSize=200").await;
    let group_ids: HashSet<_> = dept_groups.iter().map(|g| g["id"].clone()).collect();
    for d in departments["data"].as_array().unwrap() {
        assert!(group_ids.contains(&d["id"]));
        for head in d["departmentHeads"].as_array().unwrap() {
            assert!(t.employee(head["id"].as_str().unwrap().parse().unwrap()).is_some());
        }
    }
    let one = &t.departments[1];
    let (_, filtered) = h.get_json(&format!("/api/v1/hris/departments?departmentIds={}", one.id)).await;
    assert_eq!(filtered["totalRecords"], 1);
    assert_eq!(filtered["data"][0]["name"], one.name.as_str());

    let (_, locations) = h.get_json("/api/v1/hris/locations").await;
    let (_, loc_groups) = h.get_json("/api/v1/hris/groups?systemGroupTypes=3").await;
    let loc_group_ids: HashSet<_> = loc_groups["data"].as_array().unwrap().iter().map(|g| g["id"].clone()).collect();
    let locations = locations["data"].as_array().unwrap();
    assert!(locations.iter().all(|l| loc_group_ids.contains(&l["id"]) && l["address"]["city"].is_string()));

    let (_, titles) = h.get_json("/api/v1/hris/jobtitles?pageSize=200").await;
    assert_eq!(titles["totalRecords"], t.job_titles.len());
    h.shutdown().await;

    let h = Harness::start(SandboxConfig { location_ids_match_groups: false, ..config() }).await;
    let (_, locations) = h.get_json("/api/v1/hris/locations").await;
    let (_, loc_groups) = h.get_json("/api/v1/hris/groups?systemGroupTypes=3").await;
    let loc_group_ids: HashSet<_> = loc_groups["data"].as_array().unwrap().iter().map(|g| g["id"].clone()).collect();
    assert!(locations["data"].as_array().unwrap().iter().all(|l| !loc_group_ids.contains(&l["id"])));
    h.shutdown().await;
}

#[tokio::test]
async fn leave_endpoints_and_the_ninety_day_rule() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();

    let (_, types) = h.get_json("/api/v1/time/leavetypes").await;
    for lt in types["data"].as_array().unwrap() {
        assert!(lt.get("id").is_none(), "leave types have no id");
        assert!(lt["identifier"].is_string() && lt["isPaid"].is_boolean());
    }

    let path = "/api/v1/time/leaverequests";
    let (status, body) = h.get_json(&format!("{path}?from=2025-01-01&to=2025-04-02")).await;
    assert_eq!(status, 400);
    assert_error_envelope(&body);
    let (status, _) = h.get_json(&format!("{path}?from=2025-03-01&to=2025-02-01")).await;
    assert_eq!(status, 400);
    let (status, _) = h.get_json(&format!("{path}?from=yesterday")).await;
    assert_eq!(status, 400);
    let (status, _) = h.get_json(&format!("{path}?from=2025-01-01&to=2025-04-01")).await;
    assert_eq!(status, 200);

    // Default window: the last 30 days, overlap semantics.
    let from = format!("{}T00:00:00", today() - chrono::Days::new(30));
    let to = format!("{}T00:00:00", today());
    let all = h.get_all(&format!("{path}?pageSize=200")).await;
    assert!(!all.is_empty());
    for r in &all {
        assert!(r["fromDate"].as_str().unwrap() <= to.as_str() && r["toDate"].as_str().unwrap() >= from.as_str());
        assert!(r["fromDate"].as_str().unwrap().ends_with("T00:00:00"));
        let selection = &r["selection"][0];
        assert!(selection["leaveTypeIdentifier"].is_string() && selection["duration"]["durationString"].is_string());
        assert!((0..=4).contains(&r["status"].as_i64().unwrap()));
    }
    let expected = t.leave_requests.iter().filter(|r| r.overlaps(today() - chrono::Days::new(30), today())).count();
    assert_eq!(all.len(), expected);

    let someone = t.leave_requests[t.leave_requests.len() / 2].employee;
    let id = t.employees[someone].id;
    let (_, mine) = h
        .get_json(&format!(
            "{path}?employeeIds={id}&from={}&to={}",
            today() - chrono::Days::new(45),
            today() + chrono::Days::new(45)
        ))
        .await;
    assert!(mine["data"].as_array().unwrap().iter().all(|r| r["employeeIdentifier"] == id.to_string()));

    let casual = t.leave_types[0].id;
    let (_, balances) = h.get_json(&format!("/api/v1/time/leavebalance?employeeIds={id}&leaveTypeIds={casual}")).await;
    assert_eq!(balances["totalRecords"], 1);
    let item = &balances["data"][0];
    assert_eq!(item["employeeIdentifier"], id.to_string());
    assert_eq!(item["leaveBalance"].as_array().unwrap().len(), 1);
    let b = &item["leaveBalance"][0];
    assert_eq!(b["leaveTypeId"], casual.to_string());
    let (accrued, consumed, available) = (
        b["accruedAmount"].as_f64().unwrap(),
        b["consumedAmount"].as_f64().unwrap(),
        b["availableBalance"].as_f64().unwrap(),
    );
    assert!((accrued - consumed - available).abs() < 1e-9);
    h.shutdown().await;
}

#[tokio::test]
async fn attendance_rows_per_employee_per_day() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let e = t.employees.iter().find(|e| e.exit_date.is_none() && (today() - e.joining_date).num_days() > 60).unwrap();
    let from = today() - chrono::Days::new(13);
    let path = format!("/api/v1/time/attendance?employeeIds={}&from={from}&to={}", e.id, today());
    let (status, body) = h.get_json(&path).await;
    assert_eq!(status, 200);
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 14);
    assert_eq!(body["totalRecords"], 14);
    for row in rows {
        assert_eq!(row["employeeIdentifier"], e.id.to_string());
        let date = row["attendanceDate"].as_str().unwrap();
        assert!(date.ends_with("T00:00:00"));
        if row["dayType"] == 2 {
            assert!(row["firstInOfTheDay"].is_null() && row["lastOutOfTheDay"].is_null());
        }
        if let Some(ts) = row["firstInOfTheDay"]["timestamp"].as_str() {
            assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
        }
        assert!(row["shiftDuration"].is_f64());
    }
    assert!(rows.windows(2).all(|w| w[0]["attendanceDate"].as_str() < w[1]["attendanceDate"].as_str()));

    // Everyone, two pages of a one-day window: ordered by employee number within the day.
    let day = today() - chrono::Days::new(3);
    let all = h.get_all(&format!("/api/v1/time/attendance?from={day}&to={day}&pageSize=100")).await;
    let employed = t.employees.iter().filter(|e| e.employed_on(day)).count();
    assert_eq!(all.len(), employed);
    let numbers: Vec<_> = all.iter().map(|r| r["employeeNumber"].as_str().unwrap().to_owned()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));

    let (status, _) =
        h.get_json(&format!("/api/v1/time/attendance?from={}&to={}", today() - chrono::Days::new(120), today())).await;
    assert_eq!(status, 400);
    h.shutdown().await;
}

#[tokio::test]
async fn hire_shapes() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let (status, jobs) = h.get_json("/api/v1/hire/jobs").await;
    assert_eq!(status, 200);
    let jobs = jobs.as_array().expect("bare array by default").clone();
    assert_eq!(jobs.len(), t.jobs.len());
    let job = &jobs[0];
    assert!(job["noOfOpenings"].is_string());
    assert!(job["hiringTeam"][0]["identifier"].is_string());
    let dept_names: HashSet<_> = t.departments.iter().map(|d| d.name.as_str()).collect();
    assert!(jobs.iter().all(|j| dept_names.contains(j["departmentName"].as_str().unwrap())));
    let (_, online) = h.get_json("/api/v1/hire/jobs?jobStatus=1").await;
    assert!(online.as_array().unwrap().iter().all(|j| j["status"] == 1));
    let (_, page) = h.get_json("/api/v1/hire/jobs?pageSize=2&pageNumber=2").await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["id"], jobs[2]["id"]);

    let busy = t.jobs.iter().enumerate().max_by_key(|(i, _)| t.candidates_of(*i).len()).unwrap().1;
    let (_, active) = h.get_json(&format!("/api/v1/hire/jobs/{}/candidates?pageSize=200", busy.id)).await;
    let (_, archived) =
        h.get_json(&format!("/api/v1/hire/jobs/{}/candidates?isArchived=true&pageSize=200", busy.id)).await;
    let (active, archived) = (active.as_array().unwrap(), archived.as_array().unwrap());
    assert_eq!(active.len() + archived.len(), t.candidates_of(t.job_index(busy.id).unwrap()).len());
    assert!(active.iter().all(|c| c["archivedDetails"].is_null()));
    assert!(archived.iter().all(|c| !c["archivedDetails"].is_null()));
    if let Some(c) = active.first() {
        assert!(c["jobApplicationDetails"]["jobHiringStageId"].is_string());
        assert!(c["jobApplicationDetails"].get("movedtoStageOn").is_some());
    }
    let (status, body) = h.get_json("/api/v1/hire/jobs/00000000-0000-4000-8000-000000000000/candidates").await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"], json!(["Job not found"]));

    let (_, pre) = h.get_json("/api/v1/hire/preboarding/candidates?pageSize=5").await;
    assert_eq!(pre["page"], 1);
    assert_eq!(pre["pageSize"], 5);
    assert_eq!(pre["totalItems"], t.preboarding.len());
    assert_eq!(pre["items"].as_array().unwrap().len(), 5);
    let item = &pre["items"][0];
    assert!(item.get("jobtitle").is_some() && item.get("jobTitle").is_none());
    let title_ids: HashSet<_> = t.job_titles.iter().map(|j| j.id.to_string()).collect();
    assert!(title_ids.contains(item["jobtitle"].as_str().unwrap()));
    h.shutdown().await;

    let h = Harness::start(SandboxConfig { hire_list_shape: HireListShape::Envelope, ..config() }).await;
    let (_, jobs) = h.get_json("/api/v1/hire/jobs?pageSize=5").await;
    assert_eq!(jobs["succeeded"], true);
    assert_eq!(jobs["data"].as_array().unwrap().len(), 5);
    assert_eq!(jobs["totalRecords"], h.sandbox.tenant().jobs.len());
    h.shutdown().await;
}

#[tokio::test]
async fn stats_count_routes_statuses_and_unmatched_paths() {
    let h = Harness::start(config()).await;
    let id = h.sandbox.tenant().employees[0].id;
    h.get(EMPLOYEES).await;
    h.get(&format!("{EMPLOYEES}/{id}")).await;
    h.get(&format!("{EMPLOYEES}/{id}")).await;
    h.get(&format!("{EMPLOYEES}?pageSize=0")).await;
    assert_eq!(h.get("/api/v1/nope").await.status(), 404);
    assert_eq!(h.get("/elsewhere").await.status(), 404);
    let admin = h.client.get(format!("{}/__sandbox/stats", h.origin())).send().await.unwrap();
    let over_http: crate::SandboxStats = admin.json().await.unwrap();

    let stats = h.sandbox.stats();
    assert_eq!(stats, over_http, "admin calls are not counted");
    assert_eq!(stats.count("/api/v1/hris/employees/{id}"), 2);
    assert_eq!(stats.count_status(EMPLOYEES, 200), 1);
    assert_eq!(stats.count_status(EMPLOYEES, 400), 1);
    assert_eq!(stats.count_status("/api/v1/{*rest}", 404), 1);
    assert_eq!(stats.count("/{*rest}"), 1);
    assert_eq!(stats.api_requests(), 5);
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.total, 7);
    assert!(stats.by_route.iter().all(|r| r.method == "GET" || r.route == "/connect/token"));

    let reset = h.client.post(format!("{}/__sandbox/stats/reset", h.origin())).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(h.sandbox.stats().total, 0);
    h.sandbox.reset_stats();

    let info: Value = h.client.get(format!("{}/__sandbox/", h.origin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["baseUrl"], h.sandbox.base_url());
    assert_eq!(info["tokenUrl"], h.sandbox.token_url());
    assert_eq!(info["credentials"]["clientId"], "sandbox-client-id");
    h.shutdown().await;
}

#[tokio::test]
async fn faults_are_injected_on_api_routes_only() {
    let h = Harness::start(config()).await;

    h.sandbox.set_faults(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
    for _ in 0..5 {
        let (status, body) = h.get_json(EMPLOYEES).await;
        assert_eq!(status, 500);
        assert_error_envelope(&body);
    }
    // The token endpoint and admin endpoints are not faulted.
    fetch_token(&h.client, &h.sandbox).await;
    let admin = h.client.get(format!("{}/__sandbox/faults", h.origin())).send().await.unwrap();
    assert_eq!(admin.status(), 200);

    // Faults can be changed over HTTP too.
    let put = h
        .client
        .put(format!("{}/__sandbox/faults", h.origin()))
        .json(&json!({"html_error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let response = h.get(EMPLOYEES).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("<html>"));

    h.sandbox.set_faults(FaultConfig { malformed_json_rate: 1.0, ..FaultConfig::default() });
    let response = h.get(EMPLOYEES).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    h.sandbox.set_faults(FaultConfig {
        token_endpoint_down: true,
        latency: Duration::from_millis(1),
        ..FaultConfig::default()
    });
    let response = request_token(&h.client, &h.sandbox).await;
    assert_eq!(response.status(), 503);
    // Existing tokens keep working while the token endpoint is down.
    assert_eq!(h.get(EMPLOYEES).await.status(), 200);

    let stats = h.sandbox.stats();
    assert_eq!(stats.count_status(EMPLOYEES, 500), 5);
    assert_eq!(stats.count_status(EMPLOYEES, 502), 1);
    assert_eq!(stats.count_status("/connect/token", 503), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sandbox = RunningSandbox::start(SandboxConfig { employees: 5, ..config() }).await.unwrap();
    let addr = sandbox.addr();
    assert!(sandbox.base_url().ends_with("/api/v1"));
    assert_eq!(sandbox.tenant().employees.len(), 5);
    sandbox.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let dropped = RunningSandbox::start(SandboxConfig { employees: 0, ..config() }).await.unwrap();
    let addr = dropped.addr();
    drop(dropped);
    tokio::task::yield_now().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
