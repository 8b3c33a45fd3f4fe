//! Freshness: Keka's deltas keep the org snapshot current for one request a round, webhooks ask for a round now,
//! and with Redis one replica syncs for the fleet while every replica shows the change.

use std::time::Duration;

use futures::future::join_all;
use keka_sandbox::RunningSandbox;
use keka_subgraph::keka::SyncConfig;
use keka_subgraph::server::WebhookConfig;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, codes, spawn_app_with, spawn_replica, start_sandbox};
use crate::redis_server::RedisServer;

const SECRET: &str = "webhook-test-secret";

/// Rounds only when a webhook asks (the interval is an hour), debounced briefly.
fn syncing(settings: &mut keka_subgraph::server::ServerSettings) {
    settings.sync = SyncConfig {
        interval: Duration::from_secs(3600),
        debounce: Duration::from_millis(20),
        ..SyncConfig::default()
    };
    settings.webhooks = Some(WebhookConfig {
        header: axum::http::HeaderName::from_static("x-webhook-secret"),
        secret: SecretString::from(SECRET),
    });
}

async fn webhook(app: &TestApp, secret: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("http://{}/webhooks/keka", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.header("X-Webhook-Secret", secret);
    }
    request.send().await.unwrap()
}

async fn nudge(app: &TestApp) {
    let answer = webhook(app, Some(SECRET), "employeeIndentifier=x&eventType=EmployeeUpdated&subDomain=acme").await;
    assert_eq!(answer.status(), 202);
}

/// A counter from the replica's `/metrics` (0 before it is first counted).
async fn counter(app: &TestApp, line_start: &str) -> u64 {
    let text = app.http.get(format!("http://{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(line_start).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .map_or(0, |value| value as u64)
}

const DELTAS: &str = "keka_subgraph_sync_rounds_total{kind=\"delta\",outcome=\"ok\"}";
const FOLLOWED: &str = "keka_subgraph_sync_rounds_total{kind=\"follow\",outcome=\"ok\"}";

/// Waits (bounded) until `counter` on `app` reaches `at_least`.
async fn until_counted(app: &TestApp, line_start: &str, at_least: u64) {
    for _ in 0..600 {
        if counter(app, line_start).await >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{line_start} never reached {at_least}");
}

async fn hr_changes(app: &TestApp, body: Value) -> Vec<Value> {
    let url = format!("http://{}/__sandbox/hr/changes", app.sandbox_address);
    let answer: Value = app.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
    answer.as_array().cloned().unwrap_or_else(|| panic!("{answer}"))
}

async fn api_requests(app: &TestApp) -> u64 {
    let stats = app.keka_stats().await;
    stats.total - stats.token_requests
}

fn change<'a>(changes: &'a [Value], kind: &str) -> &'a Value {
    changes.iter().find(|change| change["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {changes:?}"))
}

/// `count` syncing replicas sharing `redis`.
async fn syncing_fleet(sandbox: &RunningSandbox, redis: &RedisServer, count: usize) -> Vec<TestApp> {
    let mut replicas = Vec::new();
    for _ in 0..count {
        let url = redis.url();
        replicas.push(
            spawn_replica(sandbox, move |settings| {
                syncing(settings);
                settings.store.redis_url = Some(SecretString::from(url));
            })
            .await,
        );
    }
    replicas
}

const ORG: &str = "{ employees(first: 100) { totalCount nodes { id displayName manager { id } } } }";

#[tokio::test]
async fn a_webhook_brings_hires_exits_moves_and_renames_into_every_view_for_one_keka_request() {
    let app = spawn_app_with(150, syncing).await;
    let before = app.query(ORG).await;
    assert!(before["errors"].is_null(), "{before}");
    let total = before["data"]["employees"]["totalCount"].as_u64().unwrap();

    // A quiet round: one request, nothing changes.
    let cost = api_requests(&app).await;
    nudge(&app).await;
    until_counted(&app, DELTAS, 1).await;
    assert_eq!(api_requests(&app).await, cost + 1, "a quiet tenant costs one request a round");
    assert_eq!(app.query(ORG).await, before);

    let changes = hr_changes(&app, json!({ "hires": 2, "exits": 1, "moves": 1, "renames": 1 })).await;
    let hire = change(&changes, "hire");
    let exit = change(&changes, "exit");
    let moved = change(&changes, "move");
    let renamed = change(&changes, "rename");
    // Not yet synced: the snapshot still shows the old name.
    let name = format!("{{ employee(id: \"{}\") {{ displayName }} }}", renamed["employeeId"].as_str().unwrap());
    assert_eq!(app.query(&name).await["data"]["employee"]["displayName"], renamed["previousDisplayName"]);

    let cost = api_requests(&app).await;
    nudge(&app).await;
    until_counted(&app, DELTAS, 2).await;
    assert_eq!(api_requests(&app).await, cost + 1, "a round with changes costs one request too");

    let id = |change: &Value| change["employeeId"].as_str().unwrap().to_owned();
    let views = format!(
        r#"{{
            renamed: employee(id: "{renamed}") {{ displayName }}
            hire: employee(id: "{hire}") {{ displayName email manager {{ id directReports(first: 100) {{ nodes {{ id }} }} }} }}
            leaver: employee(id: "{exit}") {{ employmentStatus }}
            moved: employee(id: "{moved}") {{ manager {{ id }} }}
            everyone: employees(first: 100) {{ totalCount }}
        }}"#,
        renamed = id(renamed),
        hire = id(hire),
        exit = id(exit),
        moved = id(moved),
    );
    let cost = api_requests(&app).await;
    let after = app.query(&views).await;
    assert!(after["errors"].is_null(), "{after}");
    let data = &after["data"];
    assert_eq!(data["renamed"]["displayName"], renamed["displayName"]);
    assert_eq!(data["hire"]["displayName"], hire["displayName"]);
    assert_eq!(data["hire"]["manager"]["id"], hire["reportsTo"]);
    let reports = data["hire"]["manager"]["directReports"]["nodes"].as_array().unwrap();
    assert!(reports.iter().any(|report| report["id"] == id(hire)), "the hire is among their manager's reports");
    assert_eq!(data["leaver"]["employmentStatus"], "RELIEVED");
    assert_eq!(data["moved"]["manager"]["id"], moved["reportsTo"]);
    assert_eq!(data["everyone"]["totalCount"].as_u64().unwrap(), total + 2);
    // By email too, with nothing more from Keka: every view reads the synced snapshot.
    let email = data["hire"]["email"].as_str().unwrap();
    let by_email = app.query(&format!("{{ employeeByEmail(email: \"{email}\") {{ id }} }}")).await;
    assert_eq!(by_email["data"]["employeeByEmail"]["id"], id(hire));
    assert_eq!(api_requests(&app).await, cost, "every view answers from the synced snapshot");
    app.stop().await;
}

#[tokio::test]
async fn webhooks_need_the_secret_and_a_keka_event_and_a_burst_costs_one_or_two_rounds() {
    let app = spawn_app_with(50, syncing).await;
    assert!(app.query(ORG).await["errors"].is_null());

    for secret in [None, Some("wrong"), Some("")] {
        let refused = webhook(&app, secret, "eventType=EmployeeUpdated").await;
        assert_eq!(refused.status(), 401);
        assert_eq!(codes(&refused.json().await.unwrap()), ["UNAUTHENTICATED"]);
    }
    let garbage = webhook(&app, Some(SECRET), "\u{0}\u{1}not a form").await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(codes(&garbage.json().await.unwrap()), ["BAD_WEBHOOK"]);
    let json = app
        .http
        .post(format!("http://{}/webhooks/keka", app.address))
        .header("X-Webhook-Secret", SECRET)
        .json(&json!({ "eventType": "EmployeeAdded", "employeeIndentifier": "e-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 202);
    until_counted(&app, DELTAS, 1).await;

    let rounds = counter(&app, DELTAS).await;
    let cost = api_requests(&app).await;
    join_all((0..30).map(|_| nudge(&app))).await;
    until_counted(&app, DELTAS, rounds + 1).await;
    // A marker after the burst: once its round is counted too, the burst's rounds have all started.
    nudge(&app).await;
    until_counted(&app, DELTAS, rounds + 2).await;
    let counted = counter(&app, DELTAS).await - rounds;
    assert!(counted <= 3, "30 webhooks: at most two rounds, plus the marker's; {counted} rounds");
    assert!(api_requests(&app).await - cost <= 3, "one request a round");
    app.stop().await;
}

#[tokio::test]
async fn with_redis_one_replica_syncs_for_the_fleet_and_every_replica_shows_the_change() {
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(150, |_| {}).await;
    let replicas = syncing_fleet(&sandbox, &redis, 3).await;
    // A view Keka filters (relieved people), cached in the fleet before the change.
    let relieved = "{ employees(first: 1, filter: { employmentStatus: [RELIEVED] }) { totalCount } }";
    let relieved_count = |answer: Value| answer["data"]["employees"]["totalCount"].as_u64().unwrap();
    let mut relieved_before = Vec::new();
    for replica in &replicas {
        assert!(replica.query(ORG).await["errors"].is_null());
        relieved_before.push(relieved_count(replica.query(relieved).await));
    }
    let renamed = {
        let changes = hr_changes(&replicas[0], json!({ "exits": 1, "renames": 1 })).await;
        change(&changes, "rename").clone()
    };
    let name = format!("{{ employee(id: \"{}\") {{ displayName }} }}", renamed["employeeId"].as_str().unwrap());
    let cost = sandbox.stats().total - sandbox.stats().token_requests;
    // Any replica may receive the webhook; whoever leads syncs.
    nudge(&replicas[2]).await;
    for replica in &replicas {
        let mut shown = false;
        for _ in 0..600 {
            if replica.query(&name).await["data"]["employee"]["displayName"] == renamed["displayName"] {
                shown = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(shown, "replica {} shows the change", replica.address);
    }
    let stats = sandbox.stats();
    assert_eq!(stats.total - stats.token_requests, cost + 1, "one delta for the fleet: {stats:?}");
    // The filtered view follows too: fetched again once for the fleet, past the copy cached before the change.
    for (replica, before) in replicas.iter().zip(relieved_before) {
        assert_eq!(relieved_count(replica.query(relieved).await), before + 1, "replica {}", replica.address);
    }
    let stats = sandbox.stats();
    assert_eq!(stats.total - stats.token_requests, cost + 2, "and one page of relieved people: {stats:?}");
    // Two replicas followed the leader's round.
    let followed = join_all(replicas.iter().map(|replica| counter(replica, FOLLOWED))).await;
    assert_eq!(followed.iter().filter(|count| **count >= 1).count(), 2, "{followed:?}");
    for replica in replicas {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

/// Who is out today, one person's leave today and balances, and (`other`) someone else's leave today.
fn leave_views(employee_id: &str, other: Option<&str>) -> String {
    let today = chrono::Utc::now().date_naive();
    let other = other.map_or_else(String::new, |other| {
        format!(r#"other: employee(id: "{other}") {{ timeoffRequests(from: "{today}", to: "{today}") {{ id }} }}"#)
    });
    format!(
        r#"{{
            out: timeoffRequests(from: "{today}", to: "{today}", first: 100) {{ nodes {{ id }} }}
            person: employee(id: "{employee_id}") {{
                timeoffRequests(from: "{today}", to: "{today}") {{ id }}
                leaveBalances {{ typeName consumed }}
            }}
            {other}
        }}"#
    )
}

fn shows_request(views: &Value, request_id: &str) -> (bool, bool) {
    let has = |list: &Value| list.as_array().is_some_and(|list| list.iter().any(|request| request["id"] == request_id));
    (has(&views["data"]["out"]["nodes"]), has(&views["data"]["person"]["timeoffRequests"]))
}

async fn leave_webhook(app: &TestApp, employee_id: &str) {
    let body = format!("employeeIndentifier={employee_id}&eventType=LeaveRequested&subDomain=acme");
    assert_eq!(webhook(app, Some(SECRET), &body).await.status(), 202);
}

#[tokio::test]
async fn a_leave_webhook_shows_the_new_request_at_once_in_the_windows_that_show_that_person() {
    let app = spawn_app_with(150, syncing).await;
    // The snapshot (it tells whom a webhook's identifier names), and who is out today, cached before anyone requests
    // leave.
    let org = app.query("{ employees(first: 2) { nodes { id directReports { totalCount } } } }").await;
    assert!(org["errors"].is_null(), "{org}");
    let everyone = leave_views("none", None);
    assert!(app.query(&everyone).await["data"]["out"]["nodes"].is_array());

    let leave = change(&hr_changes(&app, json!({ "leaves": 1 })).await, "leave").clone();
    let (employee, request) = (leave["employeeId"].as_str().unwrap(), leave["leaveRequestId"].as_str().unwrap());
    let other = org["data"]["employees"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap())
        .find(|id| *id != employee)
        .unwrap();
    // Their views, and someone else's window, which the webhook leaves alone.
    let views = leave_views(employee, Some(other));
    let before = app.query(&views).await;
    assert!(before["errors"].is_null(), "{before}");
    // That person's window was first fetched now and shows it; everyone's is cached and does not.
    assert_eq!(shows_request(&before, request), (false, true), "{before}");
    let cost = api_requests(&app).await;
    assert_eq!(app.query(&views).await, before, "cached");
    assert_eq!(api_requests(&app).await, cost);

    leave_webhook(&app, employee).await;
    let after = app.query(&views).await;
    assert!(after["errors"].is_null(), "{after}");
    assert_eq!(shows_request(&after, request), (true, true), "{after}");
    // Everyone's window, that person's window and their balances: fetched again once each; the other person's
    // window stays cached.
    assert_eq!(api_requests(&app).await - cost, 3, "the windows that show that person, once each");
    assert_eq!(app.query(&views).await, after);
    assert_eq!(api_requests(&app).await - cost, 3, "and cached again");
    app.stop().await;
}

#[tokio::test]
async fn with_redis_a_leave_webhook_at_one_replica_shows_at_every_replica_for_one_fetch_a_window() {
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(150, |_| {}).await;
    let replicas = syncing_fleet(&sandbox, &redis, 2).await;
    let everyone = leave_views("none", None);
    for replica in &replicas {
        assert!(replica.query(&everyone).await["data"]["out"]["nodes"].is_array());
    }
    let leave = change(&hr_changes(&replicas[0], json!({ "leaves": 1 })).await, "leave").clone();
    let request = leave["leaveRequestId"].as_str().unwrap();
    let shown = |views: &Value| shows_request(views, request).0;
    for replica in &replicas {
        assert!(!shown(&replica.query(&everyone).await), "cached at {}", replica.address);
    }
    let cost = sandbox.stats().total - sandbox.stats().token_requests;
    leave_webhook(&replicas[0], leave["employeeId"].as_str().unwrap()).await;
    for replica in &replicas {
        let mut seen = false;
        for _ in 0..600 {
            if shown(&replica.query(&everyone).await) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(seen, "replica {} shows the new request", replica.address);
    }
    let stats = sandbox.stats();
    assert_eq!(stats.total - stats.token_requests, cost + 1, "one fetch of the window for the fleet: {stats:?}");
    for replica in replicas {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

const LISTS_ROUNDS: &str = "keka_subgraph_sync_rounds_total{kind=\"lists\",outcome=\"ok\"}";

#[tokio::test]
async fn the_small_lists_sync_by_last_modified_for_one_request_a_list_held_beside_a_count_check() {
    let app = spawn_app_with(150, |settings| {
        syncing(settings);
        // Every round also syncs the small lists.
        settings.sync.lists_interval = Duration::ZERO;
    })
    .await;
    // The snapshot, which rounds bring up to date, and two lists held: the groups and the offices (locations).
    let org = app.query("{ employees(first: 1) { nodes { directReports { totalCount } } } }").await;
    assert!(org["errors"].is_null(), "{org}");
    let lists = "{ groups { id name } offices { name } }";
    let before = app.query(lists).await;
    assert!(before["errors"].is_null(), "{before}");

    let created = change(&hr_changes(&app, json!({ "departments": 1 })).await, "department").clone();
    assert_eq!(app.query(lists).await, before, "held, not yet synced");

    let cost = api_requests(&app).await;
    nudge(&app).await;
    until_counted(&app, LISTS_ROUNDS, 1).await;
    // The employees' delta, the count check, then one delta per list held.
    assert_eq!(
        api_requests(&app).await - cost,
        4,
        "one request for the employees, one to count them, one per list held"
    );
    let after = app.query(lists).await;
    let groups = after["data"]["groups"].as_array().unwrap();
    assert!(
        groups.iter().any(|group| group["id"] == created["departmentId"] && group["name"] == created["departmentName"]),
        "the new department is among the groups: {after}"
    );
    assert_eq!(groups.len(), before["data"]["groups"].as_array().unwrap().len() + 1);
    assert_eq!(after["data"]["offices"], before["data"]["offices"]);
    assert_eq!(api_requests(&app).await - cost, 4, "the synced lists answer without Keka");
    app.stop().await;
}

#[tokio::test]
async fn ten_changes_among_ten_thousand_people_cost_one_request_not_a_walk() {
    let app = spawn_app_with(10_000, |settings| {
        syncing(settings);
        // The walk alone is Keka's whole minute; this test counts requests, not waits for the next minute.
        settings.keka.rate_limit_per_window = 0;
    })
    .await;
    let org = app.query("{ employees(first: 1) { totalCount nodes { directReports { totalCount } } } }").await;
    assert!(org["errors"].is_null(), "{org}");
    let walked = api_requests(&app).await;
    assert!(walked >= 50, "the snapshot is a walk of 10,000 people: {walked} requests");

    let changes = hr_changes(&app, json!({ "hires": 2, "exits": 1, "moves": 2, "renames": 5 })).await;
    assert_eq!(changes.len(), 10);
    nudge(&app).await;
    until_counted(&app, DELTAS, 1).await;
    assert_eq!(api_requests(&app).await, walked + 1, "one delta, not another walk");
    let renamed = change(&changes, "rename");
    let name = format!("{{ employee(id: \"{}\") {{ displayName }} }}", renamed["employeeId"].as_str().unwrap());
    assert_eq!(app.query(&name).await["data"]["employee"]["displayName"], renamed["displayName"]);
    let everyone = app.query("{ employees(first: 1) { totalCount } }").await;
    assert_eq!(
        everyone["data"]["employees"]["totalCount"],
        org["data"]["employees"]["totalCount"].as_u64().unwrap() + 2
    );
    assert_eq!(api_requests(&app).await, walked + 1, "and every view reads the synced snapshot");
    app.stop().await;
}
