//! `requestTimeoff`: what it files in the sandbox, what it refuses and who may ask; that a write is never sent twice
//! (a lost answer, a retried key, a key at another replica); and that the next read shows the new request.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keka_subgraph::server::{JwtKeys, RouterAuth};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, codes, spawn_app_with, spawn_replica, start_sandbox};
use crate::redis_server::RedisServer;

const MUTATION: &str = "mutation($input: RequestTimeoffInput!) { requestTimeoff(input: $input) { \
    id status startDate endDate startSession endSession employee { id } type { id } } }";

/// Weeks past every generated request but long parental leave, far from the pinned date (2026-11-24).
const WEEKS: &str = r#"from: "2027-05-03", to: "2027-06-25""#;

/// Someone who can take leave in May and June 2027: working, with an email, nothing requested then, and a paid
/// leave type with at least `days` available.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) id: String,
    email: String,
    pub(crate) leave_type: String,
    available: f64,
}

pub(crate) async fn targets(app: &TestApp, days: f64) -> Vec<Target> {
    targets_as(app, days, None).await
}

/// [`targets`], asked with a router token.
async fn targets_as(app: &TestApp, days: f64, token: Option<&str>) -> Vec<Target> {
    let query = format!(
        "{{ employees(first: 60) {{ nodes {{ id email employmentStatus exitDate \
           leaveBalances {{ type {{ id isPaid }} available }} timeoffRequests({WEEKS}) {{ id }} }} }} }}"
    );
    let mut request = app.http.post(format!("http://{}/graphql", app.address)).json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.header("router-authorization", format!("Bearer {token}"));
    }
    let answer: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(answer["errors"].is_null(), "{answer}");
    let mut found = Vec::new();
    for node in answer["data"]["employees"]["nodes"].as_array().unwrap() {
        let free = node["employmentStatus"] == "WORKING"
            && node["exitDate"].is_null()
            && node["email"].is_string()
            && node["timeoffRequests"].as_array().unwrap().is_empty();
        let balance = node["leaveBalances"].as_array().unwrap().iter().find(|balance| {
            balance["type"]["isPaid"] == true && balance["available"].as_f64().is_some_and(|a| a >= days)
        });
        if let (true, Some(balance)) = (free, balance) {
            found.push(Target {
                id: node["id"].as_str().unwrap().to_owned(),
                email: node["email"].as_str().unwrap().to_owned(),
                leave_type: balance["type"]["id"].as_str().unwrap().to_owned(),
                available: balance["available"].as_f64().unwrap(),
            });
        }
    }
    assert!(found.len() >= 3, "the sandbox should have people free to take leave: {found:?}");
    found
}

/// Tuesday and Wednesday of the `week`-th week of May 2027 onwards (0: 4–5 May).
fn input(target: &Target, week: u32, key: Option<&str>) -> Value {
    let tuesday = chrono::NaiveDate::from_ymd_opt(2027, 5, 4).unwrap() + chrono::Days::new(7 * u64::from(week));
    let mut input = json!({
        "employeeId": target.id,
        "leaveTypeId": target.leave_type,
        "from": tuesday.to_string(),
        "to": (tuesday + chrono::Days::new(1)).to_string(),
        "reason": "family",
    });
    if let Some(key) = key {
        input["idempotencyKey"] = json!(key);
    }
    input
}

async fn request_timeoff(app: &TestApp, input: &Value) -> Value {
    app.post(json!({ "query": MUTATION, "variables": { "input": input } })).await
}

/// POSTs to Keka's leave requests the sandbox has seen, by status.
async fn leave_posts(app: &TestApp) -> Vec<(u16, u64)> {
    let stats = app.keka_stats().await;
    stats
        .by_route
        .iter()
        .filter(|route| route.method == "POST" && route.route.ends_with("/time/leaverequests"))
        .map(|route| (route.status, route.count))
        .collect()
}

/// Leave requests the subgraph has sent Keka (its own count, whatever became of them), by outcome.
async fn posts_sent(app: &TestApp) -> Vec<(String, u64)> {
    let text = app.http.get(format!("http://{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    let prefix =
        "keka_subgraph_upstream_requests_total{upstream=\"keka\",endpoint=\"POST /time/leaverequests\",status=\"";
    let mut sent: Vec<(String, u64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| {
            let (status, count) = rest.split_once("\"} ").unwrap();
            (status.to_owned(), count.trim().parse().unwrap())
        })
        .collect();
    sent.sort();
    sent
}

/// The target's requests in the weeks, as Keka lists them now (read by a client of its own, past every cache).
async fn filed(app: &TestApp, target: &Target) -> Vec<keka_subgraph::keka::models::LeaveRequest> {
    let client = keka_subgraph::keka::KekaClient::new(app.sandbox_keka.clone()).unwrap();
    let (from, to) =
        (chrono::NaiveDate::from_ymd_opt(2027, 5, 3).unwrap(), chrono::NaiveDate::from_ymd_opt(2027, 6, 25).unwrap());
    client.leave_requests(std::slice::from_ref(&target.id), from, to).await.unwrap()
}

fn writable(settings: &mut keka_subgraph::server::ServerSettings) {
    settings.allow_unauthenticated_writes = true;
}

#[tokio::test]
async fn requesting_time_off_files_one_pending_request_and_the_next_read_shows_it_and_its_balance() {
    let app = spawn_app_with(40, writable).await;
    let target = targets(&app, 2.0).await.remove(0);
    let read = format!(
        r#"{{ employee(id: "{}") {{ timeoffRequests({WEEKS}) {{ id status }} leaveBalances {{ type {{ id }} available }} }} }}"#,
        target.id
    );
    // Read first, so the window and the balances are cached: the write must make the next read ask again.
    let before = app.query(&read).await;
    assert_eq!(before["data"]["employee"]["timeoffRequests"], json!([]), "{before}");
    app.reset_keka_stats().await;

    let answer = request_timeoff(&app, &input(&target, 0, None)).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let created = &answer["data"]["requestTimeoff"];
    assert_eq!(created["status"], "PENDING");
    assert_eq!((&created["startDate"], &created["endDate"]), (&json!("2027-05-04"), &json!("2027-05-05")));
    assert_eq!((&created["startSession"], &created["endSession"]), (&json!("FIRST_HALF"), &json!("SECOND_HALF")));
    assert_eq!((&created["employee"]["id"], &created["type"]["id"]), (&json!(target.id), &json!(target.leave_type)));
    assert_eq!(leave_posts(&app).await, [(200, 1)], "one POST, and the answer costs nothing more");
    let stats = app.keka_stats().await;
    assert_eq!(stats.total - stats.token_requests, 1, "{stats:?}");

    let after = app.query(&read).await;
    let requests = after["data"]["employee"]["timeoffRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{after}");
    assert_eq!((&requests[0]["id"], &requests[0]["status"]), (&created["id"], &json!("PENDING")));
    let available = after["data"]["employee"]["leaveBalances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|balance| balance["type"]["id"] == json!(target.leave_type))
        .and_then(|balance| balance["available"].as_f64())
        .unwrap();
    assert!(available < target.available, "a pending request holds its days: {available} vs {}", target.available);
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_answer_and_keka_refusals_are_bad_user_input() {
    let app = spawn_app_with(40, writable).await;
    let target = targets(&app, 2.0).await.remove(1);
    app.reset_keka_stats().await;

    let first = request_timeoff(&app, &input(&target, 1, Some("key-1"))).await;
    assert!(first["errors"].is_null(), "{first}");
    let again = request_timeoff(&app, &input(&target, 1, Some("key-1"))).await;
    assert_eq!(again["data"]["requestTimeoff"]["id"], first["data"]["requestTimeoff"]["id"], "{again}");
    assert_eq!(leave_posts(&app).await, [(200, 1)], "the retry filed nothing");

    // The same key with another input is refused, and files nothing.
    let other = request_timeoff(&app, &input(&target, 2, Some("key-1"))).await;
    assert_eq!(codes(&other), ["BAD_USER_INPUT"], "{other}");
    assert!(other["errors"][0]["message"].as_str().unwrap().contains("another input"), "{other}");

    // Without a key, the same request again is Keka's to refuse: it overlaps the first.
    let overlap = request_timeoff(&app, &input(&target, 1, None)).await;
    assert_eq!(codes(&overlap), ["BAD_USER_INPUT"], "{overlap}");
    let message = overlap["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("Keka refused the time-off request: "), "{message}");
    assert!(overlap["data"]["requestTimeoff"].is_null(), "{overlap}");
    // A key's refusal is its answer too.
    let refused_once = request_timeoff(&app, &input(&target, 1, Some("key-2"))).await;
    let refused_again = request_timeoff(&app, &input(&target, 1, Some("key-2"))).await;
    assert_eq!(codes(&refused_once), ["BAD_USER_INPUT"]);
    assert_eq!(refused_again["errors"][0]["message"], refused_once["errors"][0]["message"]);
    assert_eq!(leave_posts(&app).await, [(200, 1), (400, 2)], "each refusal was asked once");

    // Refused here, before Keka is asked.
    let mut backwards = input(&target, 3, None);
    backwards["to"] = json!("2027-05-01");
    let mut unknown_type = input(&target, 3, None);
    unknown_type["leaveTypeId"] = json!("00000000-0000-0000-0000-000000000000");
    let mut bad_session = input(&target, 3, None);
    bad_session["toSession"] = json!("UNKNOWN");
    assert_eq!(codes(&request_timeoff(&app, &backwards).await), ["BAD_USER_INPUT"]);
    assert_eq!(codes(&request_timeoff(&app, &bad_session).await), ["BAD_USER_INPUT"]);
    assert_eq!(leave_posts(&app).await, [(200, 1), (400, 2)]);
    // Keka's own rule: a leave type it does not know.
    let unknown = request_timeoff(&app, &unknown_type).await;
    assert_eq!(codes(&unknown), ["BAD_USER_INPUT"], "{unknown}");
    assert_eq!(filed(&app, &target).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_never_sent_again_and_is_found_or_safely_retried() {
    let app = spawn_app_with(40, |settings| {
        writable(settings);
        settings.keka.request_timeout = Duration::from_secs(3);
    })
    .await;
    let people = targets(&app, 2.0).await;
    app.reset_keka_stats().await;

    // Keka files it, then answers 500: not resent; read back, found, answered.
    app.set_keka_faults(json!({ "commit_then_fail_rate": 1.0 })).await;
    let answer = request_timeoff(&app, &input(&people[0], 0, Some("lost-1"))).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let listed = filed(&app, &people[0]).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(answer["data"]["requestTimeoff"]["id"], json!(listed[0].id));
    assert_eq!(leave_posts(&app).await, [(500, 1)], "never resent");

    // Keka files it and never answers (past the client's timeout): the same.
    app.set_keka_faults(json!({ "commit_then_fail_rate": 1.0, "commit_then_fail_delay_ms": 6000 })).await;
    let answer = request_timeoff(&app, &input(&people[1], 0, Some("lost-2"))).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let listed = filed(&app, &people[1]).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(answer["data"]["requestTimeoff"]["id"], json!(listed[0].id));
    app.set_keka_faults(json!({})).await;
    // The key remembers it: the retry files nothing.
    let retry = request_timeoff(&app, &input(&people[1], 0, Some("lost-2"))).await;
    assert_eq!(retry["data"]["requestTimeoff"]["id"], answer["data"]["requestTimeoff"]["id"]);
    assert_eq!(posts_sent(&app).await, [("500".to_owned(), 1), ("timeout".to_owned(), 1)], "one POST each");

    // Keka fails before filing and cannot be read back either: the fate is unknown, and said so.
    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let unknown = request_timeoff(&app, &input(&people[2], 0, Some("lost-3"))).await;
    assert_eq!(codes(&unknown), ["UPSTREAM_UNAVAILABLE"], "{unknown}");
    assert!(unknown["errors"][0]["message"].as_str().unwrap().contains("may have been filed"), "{unknown}");
    app.set_keka_faults(json!({})).await;
    // The retry with the key finds out first (nothing filed), then files it: once.
    let retry = request_timeoff(&app, &input(&people[2], 0, Some("lost-3"))).await;
    assert!(retry["errors"].is_null(), "{retry}");
    let listed = filed(&app, &people[2]).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(retry["data"]["requestTimeoff"]["id"], json!(listed[0].id));
    let sent = posts_sent(&app).await;
    assert_eq!(sent, [("200".to_owned(), 1), ("500".to_owned(), 2), ("timeout".to_owned(), 1)], "one POST each");
    app.stop().await;
}

/// Two requests with one key at once: one files, the other is told the key is in use, and files nothing.
#[tokio::test]
async fn a_key_in_use_by_a_request_under_way_is_a_conflict_and_files_nothing() {
    let app = spawn_app_with(40, writable).await;
    let target = targets(&app, 2.0).await.remove(0);
    // Keka answers slowly: whichever request claims the key second finds the first still writing.
    app.set_keka_faults(json!({ "latency_ms": 3000 })).await;
    let body = input(&target, 0, Some("together"));
    let (one, two) = tokio::join!(request_timeoff(&app, &body), request_timeoff(&app, &body));
    app.set_keka_faults(json!({})).await;
    let mut seen = [codes(&one), codes(&two)];
    seen.sort();
    assert_eq!(seen, [vec![], vec!["CONFLICT".to_owned()]], "{one}\n{two}");
    assert_eq!(posts_sent(&app).await, [("200".to_owned(), 1)]);
    assert_eq!(filed(&app, &target).await.len(), 1);
    app.stop().await;
}

const ROUTER_KEY: &str = "r0uter-jwt-k3y";

fn jwt(scopes: &str, email: Option<&str>) -> String {
    let mut claims = json!({ "exp": chrono::Utc::now().timestamp() + 3600, "scope": scopes });
    if let Some(email) = email {
        claims["email"] = json!(email);
    }
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(ROUTER_KEY.as_bytes()))
        .unwrap()
}

async fn request_as(app: &TestApp, token: &str, input: &Value) -> Value {
    let response = app
        .http
        .post(format!("http://{}/graphql", app.address))
        .header("router-authorization", format!("Bearer {token}"))
        .json(&json!({ "query": MUTATION, "variables": { "input": input } }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// Who may request whose time off, with router authentication on (and off).
#[tokio::test]
async fn only_callers_with_the_scope_write_and_only_for_themselves_without_the_any_scope() {
    let app = spawn_app_with(40, |settings| {
        settings.router_auth = RouterAuth::Jwt {
            header: "router-authorization".parse().unwrap(),
            keys: JwtKeys::from_hmac_secret(&SecretString::from(ROUTER_KEY.to_owned())),
            issuer: None,
            audience: None,
            email_claim: "email".to_owned(),
        };
    })
    .await;
    let people = targets_as(&app, 2.0, Some(&jwt("", None))).await;
    let (me, colleague) = (&people[0], &people[1]);
    app.reset_keka_stats().await;

    let refused = [
        (jwt("read:employee_pii", Some(&me.email)), "needs the `write:timeoff` scope"),
        (jwt("write:timeoff", Some(&colleague.email)), "only for themselves"),
        (jwt("write:timeoff", None), "no email"),
        (jwt("write:timeoff", Some("nobody@nowhere.example")), "matches no employee"),
    ];
    for (token, why) in &refused {
        let answer = request_as(&app, token, &input(me, 0, None)).await;
        assert_eq!(codes(&answer), ["FORBIDDEN"], "{why}: {answer}");
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains(why), "{why}: {answer}");
    }
    assert_eq!(leave_posts(&app).await, [], "nothing refused reached Keka");

    let mine = request_as(&app, &jwt("write:timeoff", Some(&me.email.to_uppercase())), &input(me, 0, None)).await;
    assert!(mine["errors"].is_null(), "for oneself: {mine}");
    let theirs =
        request_as(&app, &jwt("write:timeoff write:timeoff:any", Some(&me.email)), &input(colleague, 0, None)).await;
    assert!(theirs["errors"].is_null(), "for anyone: {theirs}");
    assert_eq!(leave_posts(&app).await, [(200, 2)]);
    app.stop().await;

    // Router authentication off: writes are off unless switched on.
    let closed = spawn_app_with(40, |_| {}).await;
    let answer = request_timeoff(&closed, &input(me, 1, None)).await;
    assert_eq!(codes(&answer), ["FORBIDDEN"], "{answer}");
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("ALLOW_UNAUTHENTICATED_WRITES"));
    assert_eq!(leave_posts(&closed).await, []);
    closed.stop().await;
}

/// With Redis, a key used at one replica answers at another, and nothing the client sent names a Redis key.
#[tokio::test]
async fn with_redis_an_idempotency_key_is_remembered_by_the_whole_fleet() {
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(40, |_| {}).await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let url = redis.url();
        replicas.push(
            spawn_replica(&sandbox, move |settings| {
                writable(settings);
                settings.store.redis_url = Some(SecretString::from(url));
            })
            .await,
        );
    }
    let target = targets(&replicas[0], 2.0).await.remove(0);
    let key = "fleet-key-7f3a";
    let first = request_timeoff(&replicas[0], &input(&target, 0, Some(key))).await;
    assert!(first["errors"].is_null(), "{first}");
    let second = request_timeoff(&replicas[1], &input(&target, 0, Some(key))).await;
    assert_eq!(second["data"]["requestTimeoff"]["id"], first["data"]["requestTimeoff"]["id"], "{second}");
    assert_eq!(leave_posts(&replicas[0]).await, [(200, 1)]);
    // The other replica reads it.
    let read = format!(r#"{{ employee(id: "{}") {{ timeoffRequests({WEEKS}) {{ id }} }} }}"#, target.id);
    let shown = replicas[1].query(&read).await;
    assert_eq!(shown["data"]["employee"]["timeoffRequests"][0]["id"], first["data"]["requestTimeoff"]["id"]);

    let mut connection = redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*write:*").query_async(&mut connection).await.unwrap();
    assert_eq!(keys.len(), 1, "one record, its lease gone: {keys:?}");
    assert!(!keys[0].contains(key) && !keys[0].contains(&target.id), "{keys:?}");
    let record: Vec<String> = redis::cmd("HVALS").arg(&keys[0]).query_async(&mut connection).await.unwrap();
    assert!(record.iter().all(|value| !value.contains(&target.email) && !value.contains("family")), "{record:?}");

    // Redis gone: a key cannot be checked for the fleet, so the write does not go ahead.
    drop(connection);
    let mut redis = redis;
    redis.kill().await;
    let refused = request_timeoff(&replicas[0], &input(&target, 1, Some("after-redis"))).await;
    assert_eq!(codes(&refused), ["SHARED_STATE_UNAVAILABLE"], "{refused}");
    assert_eq!(leave_posts(&replicas[0]).await, [(200, 1)]);
    for replica in replicas {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}
