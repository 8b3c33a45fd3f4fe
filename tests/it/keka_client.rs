//! The Keka client against a wiremock Keka: auth, retries, decoding, paging, windows, caching.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use keka_subgraph::keka::models::{EmploymentStatus, JobStatus};
use keka_subgraph::keka::{
    CacheConfig, CachedKeka, EmployeeFilter, KekaClient, KekaError, PageRequest, RequestContext,
};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{API_KEY, CLIENT_ID, CLIENT_SECRET, employee_json, envelope, token_response, wiremock_config};

/// Matches a form-encoded body that has exactly these fields.
struct FormIs(Vec<(&'static str, &'static str)>);

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        form.len() == self.0.len()
            && self.0.iter().all(|(name, value)| form.get(*name).map(String::as_str) == Some(*value))
    }
}

async fn mount_token(server: &MockServer, token: &str, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path("/connect/token"))
        .respond_with(token_response(token, expires_in))
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> KekaClient {
    KekaClient::new(wiremock_config(server)).unwrap()
}

async fn api_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path().starts_with("/api/v1/"))
        .collect()
}

async fn token_requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().iter().filter(|request| request.url.path() == "/connect/token").count()
}

fn group_types_page() -> serde_json::Value {
    envelope(
        serde_json::json!([{"id": "gt-1", "name": "Department", "isSystemDefined": true, "systemGroupType": 2}]),
        1,
        1,
        1,
    )
}

#[tokio::test]
async fn the_token_request_uses_the_kekaapi_grant_with_all_five_fields() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/connect/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(FormIs(vec![
            ("grant_type", "kekaapi"),
            ("scope", "kekaapi"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("api_key", API_KEY),
        ]))
        .respond_with(token_response("token-1", 86400))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/hris/grouptypes"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let group_types = client(&server).group_types().await.unwrap();

    // Assert
    assert_eq!(group_types[0].name.as_deref(), Some("Department"));
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|request| {
        request.headers.get("user-agent").is_some_and(|agent| agent.to_str().unwrap().starts_with("keka-subgraph/"))
    }));
}

#[tokio::test]
async fn a_cached_token_is_reused_across_calls() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;
    let client = client(&server);

    for _ in 0..3 {
        client.group_types().await.unwrap();
    }

    assert_eq!(token_requests(&server).await, 1);
    assert_eq!(client.tokens_fetched(), 1);
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_use() {
    let server = MockServer::start().await;
    // Zero lifetime: already inside the refresh margin, so every call needs a new token.
    mount_token(&server, "short-lived", 0).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;
    let client = client(&server);

    client.group_types().await.unwrap();
    client.group_types().await.unwrap();

    assert_eq!(token_requests(&server).await, 2);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/connect/token"))
        .respond_with(token_response("revoked", 86400))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/connect/token")).respond_with(token_response("fresh", 86400)).mount(&server).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", "Bearer error=\"invalid_token\""))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;

    let group_types = client(&server).group_types().await.unwrap();

    assert_eq!(group_types.len(), 1);
    assert_eq!(token_requests(&server).await, 2);
    assert_eq!(api_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_second_401_after_refreshing_is_unauthorized() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes")).respond_with(ResponseTemplate::new(401)).mount(&server).await;

    let error = client(&server).group_types().await.unwrap_err();

    assert!(matches!(error, KekaError::Unauthorized { .. }), "{error:?}");
    assert_eq!(api_requests(&server).await.len(), 2);
    assert_eq!(token_requests(&server).await, 2);
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/connect/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).group_types().await.unwrap_err();

    match error {
        KekaError::Unauthorized { reason } => {
            assert!(reason.contains("invalid_client"), "{reason}");
            assert!(!reason.contains(CLIENT_SECRET));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(api_requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/connect/token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;

    client(&server).group_types().await.unwrap();

    assert_eq!(token_requests(&server).await, 3);
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_then_succeeds() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;
    let started = Instant::now();

    client(&server).group_types().await.unwrap();

    // A lower bound only: the client must not come back before Keka said it may.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(api_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_next_window() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(serde_json::json!({"succeeded": false, "message": "rateLimitExceeded"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;
    let mut config = wiremock_config(&server);
    config.rate_limit_window = Duration::from_millis(300);
    let started = Instant::now();

    KekaClient::new(config).unwrap().group_types().await.unwrap();

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(api_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_429_storm_gives_up_as_rate_limited() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .mount(&server)
        .await;

    let error = client(&server).group_types().await.unwrap_err();

    assert!(matches!(error, KekaError::RateLimited { .. }), "{error:?}");
    assert_eq!(api_requests(&server).await.len(), 4, "first attempt plus max_retries (3)");
}

#[tokio::test]
async fn a_5xx_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_types_page()))
        .mount(&server)
        .await;

    client(&server).group_types().await.unwrap();

    assert_eq!(api_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_persistent_5xx_gives_up_with_kekas_errors() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "succeeded": false, "message": "An Error Occured", "errors": ["Something broke"], "data": null
        })))
        .mount(&server)
        .await;

    let error = client(&server).group_types().await.unwrap_err();

    assert_eq!(
        error,
        KekaError::Upstream {
            endpoint: "/hris/grouptypes".to_owned(),
            status: 500,
            errors: vec!["Something broke".to_owned()]
        }
    );
    assert!(error.is_unavailable());
    assert_eq!(api_requests(&server).await.len(), 4);
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "succeeded": false, "message": "An Error Occured", "errors": ["pageSize is invalid"], "data": null
        })))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/departments")).respond_with(ResponseTemplate::new(403)).mount(&server).await;

    let client = client(&server);
    let bad_request = client.group_types().await.unwrap_err();
    let forbidden = client.departments(None).await.unwrap_err();

    assert!(
        matches!(&bad_request, KekaError::Upstream { status: 400, errors, .. } if errors == &["pageSize is invalid"]),
        "{bad_request:?}"
    );
    assert!(matches!(forbidden, KekaError::Forbidden { .. }), "{forbidden:?}");
    assert_eq!(api_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn an_unknown_employee_is_none_and_garbage_is_a_decode_error_with_its_path() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/employees/nobody"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({"succeeded": false, "message": "An Error Occured", "errors": ["Employee not found"], "data": null})))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/employees/broken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"succeeded": true, "data": {"id": "broken", "joiningDate": "not a date"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/employees/html"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html><body>Service Unavailable</body></html>"))
        .mount(&server)
        .await;
    let client = client(&server);

    assert!(client.employee("nobody").await.unwrap().is_none());
    match client.employee("broken").await.unwrap_err() {
        KekaError::Decode { path, .. } => assert_eq!(path, "data.joiningDate"),
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(matches!(client.employee("html").await.unwrap_err(), KekaError::Decode { .. }));
}

#[tokio::test]
async fn unknown_enum_values_decode_as_unknown() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    let mut employee = employee_json("e-1");
    employee["employmentStatus"] = serde_json::json!(9);
    employee["groups"] = serde_json::json!([{"id": "g-1", "title": "Guild", "groupType": 77}]);
    Mock::given(path("/api/v1/hris/employees"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(serde_json::json!([employee]), 1, 1, 1)))
        .mount(&server)
        .await;

    let employees = client(&server).all_employees(&EmployeeFilter::default()).await.unwrap();

    assert_eq!(employees[0].employment_status, Some(EmploymentStatus::Unknown(9)));
    assert_eq!(employees[0].groups[0].group_type.map(|kind| kind.code()), Some(77));
}

#[tokio::test]
async fn hire_lists_decode_as_a_bare_array_or_an_envelope() {
    let job = serde_json::json!({"id": "job-1", "title": "Backend Engineer", "status": 1, "noOfOpenings": "2",
        "jobLocations": [{"name": "Bengaluru HQ", "city": "Bengaluru", "state": "KA", "countryName": "India"}],
        "hiringTeam": [{"identifier": "e-1", "displayName": "Asha Rao", "type": 0}]});
    let array_server = MockServer::start().await;
    mount_token(&array_server, "token", 86400).await;
    Mock::given(path("/api/v1/hire/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([job.clone()])))
        .mount(&array_server)
        .await;
    let envelope_server = MockServer::start().await;
    mount_token(&envelope_server, "token", 86400).await;
    Mock::given(path("/api/v1/hire/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(serde_json::json!([job]), 1, 1, 1)))
        .mount(&envelope_server)
        .await;

    let from_array = client(&array_server).jobs(None).await.unwrap();
    let from_envelope = client(&envelope_server).jobs(None).await.unwrap();

    assert_eq!(from_array, from_envelope);
    assert_eq!(from_array[0].status, Some(JobStatus::Online));
    assert_eq!(from_array[0].hiring_team[0].identifier.as_deref(), Some("e-1"));
}

#[tokio::test]
async fn walking_a_list_fetches_every_page_once() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    for page in 1..=3u32 {
        let ids: Vec<_> =
            (0..if page < 3 { 200 } else { 50 }).map(|i| employee_json(&format!("e-{page}-{i}"))).collect();
        Mock::given(path("/api/v1/hris/employees"))
            .and(query_param("pageNumber", page.to_string()))
            .and(query_param("pageSize", "200"))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
                serde_json::Value::Array(ids),
                page,
                3,
                450,
            )))
            .expect(1)
            .mount(&server)
            .await;
    }

    let employees = client(&server).all_employees(&EmployeeFilter::default()).await.unwrap();

    assert_eq!(employees.len(), 450);
    assert_eq!(api_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn filters_are_sent_only_when_set() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/employees"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(serde_json::json!([]), 1, 0, 0)))
        .mount(&server)
        .await;
    let client = client(&server);

    client.employees_page(&EmployeeFilter::default(), PageRequest::new(1, 50)).await.unwrap();
    let filter = EmployeeFilter {
        employment_status: vec![EmploymentStatus::Working, EmploymentStatus::Relieved],
        in_probation: Some(true),
        search_key: Some("ash".to_owned()),
        ..EmployeeFilter::default()
    };
    client.employees_page(&filter, PageRequest::new(2, 50)).await.unwrap();

    let requests = api_requests(&server).await;
    assert_eq!(requests[0].url.query(), Some("pageNumber=1&pageSize=50"));
    assert_eq!(
        requests[1].url.query(),
        Some("employmentStatus=Working%2CRelieved&inProbation=true&searchKey=ash&pageNumber=2&pageSize=50")
    );
}

#[tokio::test]
async fn a_long_date_range_is_split_into_90_day_windows() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    let request = serde_json::json!({"id": "lr-1", "employeeIdentifier": "e-1", "fromDate": "2026-03-30T00:00:00", "toDate": "2026-04-02T00:00:00", "status": 1, "selection": []});
    Mock::given(path("/api/v1/time/leaverequests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(serde_json::json!([request]), 1, 1, 1)))
        .mount(&server)
        .await;
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 7, 31).unwrap();

    let requests = client(&server).leave_requests(&["e-1".to_owned()], from, to).await.unwrap();

    assert_eq!(requests.len(), 1, "a request seen in several windows is kept once");
    let windows: Vec<(String, String)> = api_requests(&server)
        .await
        .iter()
        .map(|request| {
            let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
            (query["from"].clone(), query["to"].clone())
        })
        .collect();
    assert_eq!(
        windows,
        [
            ("2026-01-01".to_owned(), "2026-03-31".to_owned()),
            ("2026-04-01".to_owned(), "2026-06-29".to_owned()),
            ("2026-06-30".to_owned(), "2026-07-31".to_owned()),
        ]
    );
    let from_after_to = client(&server).attendance(&[], to, from).await.unwrap_err();
    assert!(matches!(from_after_to, KekaError::InvalidRequest(_)));
}

#[tokio::test]
async fn concurrent_misses_of_one_key_make_one_upstream_request() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/grouptypes"))
        // Slow enough that the callers overlap; with or without overlap the answer is one request.
        .respond_with(
            ResponseTemplate::new(200).set_body_json(group_types_page()).set_delay(Duration::from_millis(100)),
        )
        .mount(&server)
        .await;
    let cached = CachedKeka::new(client(&server), CacheConfig::default());

    let results = futures::future::join_all((0..10).map(|_| cached.group_types())).await;

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(api_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_batch_by_ids_asks_keka_only_for_the_ids_not_cached() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/employees"))
        .and(query_param("pageNumber", "1"))
        .and(wiremock::matchers::query_param_is_missing("employeeIds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            serde_json::json!([employee_json("a"), employee_json("b")]),
            1,
            1,
            2,
        )))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/hris/employees"))
        .and(query_param("employeeIds", "c,d"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            serde_json::json!([employee_json("c")]),
            1,
            1,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let cached = CachedKeka::new(client(&server), CacheConfig::default());
    cached.employees_page(&EmployeeFilter::default(), PageRequest::new(1, 200)).await.unwrap();

    let ids: Vec<String> = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
    let found = cached.employees_by_ids(&ids).await.unwrap();
    let again = cached.employees_by_ids(&ids[..3]).await.unwrap();

    let mut found_ids: Vec<_> = found.keys().cloned().collect();
    found_ids.sort();
    assert_eq!(found_ids, ["a", "b", "c"], "d is unknown to Keka");
    assert_eq!(again.len(), 3);
    assert_eq!(api_requests(&server).await.len(), 2, "one page, then one batch for c and d, then nothing");
}

#[tokio::test]
async fn large_id_batches_are_chunked() {
    let server = MockServer::start().await;
    mount_token(&server, "token", 86400).await;
    Mock::given(path("/api/v1/hris/employees"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(serde_json::json!([]), 1, 0, 0)))
        .mount(&server)
        .await;
    let ids: Vec<String> = (0..120).map(|i| format!("id-{i}")).collect();

    client(&server).employees_by_ids(&ids).await.unwrap();

    let requests = api_requests(&server).await;
    assert_eq!(requests.len(), 3, "120 ids at 50 per request");
    for request in requests {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        assert!(query["employeeIds"].split(',').count() <= 50);
    }
}

/// Two requests needing the same ids share one Keka call. The one whose deadline comes first must leave at it, not
/// wait for the other's slower call (the soak's last cut-offs: a second-level manager batch joined another request's).
#[tokio::test]
async fn a_request_sharing_a_slower_batch_of_ids_leaves_at_its_own_deadline() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1", 3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/hris/employees"))
        .and(query_param("employeeIds", "emp-1,emp-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(envelope(serde_json::json!([employee_json("emp-1"), employee_json("emp-2")]), 1, 1, 2))
                .set_delay(Duration::from_secs(60)),
        )
        .mount(&server)
        .await;
    let keka = CachedKeka::new(client(&server), CacheConfig::default());
    let ids = vec!["emp-1".to_owned(), "emp-2".to_owned()];

    // The first request, with no deadline, starts the batch and waits on Keka's slow answer.
    let first = tokio::spawn({
        let (keka, ids) = (keka.clone(), ids.clone());
        async move { keka.employees_by_ids(&ids).await }
    });
    for _ in 0..1000 {
        if !api_requests(&server).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(api_requests(&server).await.len(), 1, "the first request's batch reached Keka");
    let second = RequestContext::with_deadline(Duration::from_millis(200)).scope(keka.employees_by_ids(&ids));
    let second = tokio::time::timeout(Duration::from_secs(30), second).await.expect("the second request left");

    assert!(matches!(&second, Err(error) if error.to_string().contains("deadline")), "{second:?}");
    assert!(!first.is_finished(), "the shared call is still running for the first request");
    assert_eq!(api_requests(&server).await.len(), 1, "the second request joined the first's call");
    first.abort();
}
