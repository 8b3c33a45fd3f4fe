//! The Keeper SCIM client against a wiremock Keeper: paging, the filter lookup, errors, retries, the directory's
//! cost, and the token staying out of every `Debug`.

use std::time::{Duration, Instant};

use keka_subgraph::keeper::{AccountStatus, Directory, KeeperClient, KeeperConfig, KeeperError, ScimGroup, ScimUser};
use keka_subgraph::upstream::Freshness;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const NODE: &str = "345074852429829";
const TOKEN: &str = "keeper-scim-token-Zx9Qv3";

fn base_path() -> String {
    format!("/api/rest/scim/v2/{NODE}")
}

/// A configuration for a wiremock Keeper: real limits, back-offs short enough for tests.
fn config(server: &MockServer) -> KeeperConfig {
    let mut config =
        KeeperConfig::with_base_url(&format!("{}{}/", server.uri(), base_path()), SecretString::from(TOKEN)).unwrap();
    config.backoff_base = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(5);
    config
}

fn client_with_page(server: &MockServer, page_size: u32) -> KeeperClient {
    let mut config = config(server);
    config.page_size = page_size;
    KeeperClient::new(config).unwrap()
}

fn user_json(id: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{id}@acme.example"),
        "displayName": format!("user{id}@acme.example"),
        "id": id.to_string(),
        "emails": [{"primary": true, "value": format!("user{id}@acme.example"), "type": "work"}],
        "groups": [],
        "active": true
    })
}

fn users(n: usize) -> Vec<Value> {
    (1..=n).map(user_json).collect()
}

/// A SCIM list served by `startIndex` and `count`, like a real server: at most `max_count` per page, and
/// `totalResults` as configured (`None`: left out).
struct ScimList {
    resources: Vec<Value>,
    max_count: usize,
    total: Option<u64>,
    content_type: &'static str,
}

impl ScimList {
    fn new(resources: Vec<Value>) -> Self {
        let total = Some(resources.len() as u64);
        Self { resources, max_count: usize::MAX, total, content_type: "application/scim+json" }
    }

    fn max_count(self, max_count: usize) -> Self {
        Self { max_count, ..self }
    }

    fn total(self, total: Option<u64>) -> Self {
        Self { total, ..self }
    }
}

fn query_number(request: &Request, name: &str) -> Option<usize> {
    request.url.query_pairs().find(|(key, _)| key == name).and_then(|(_, value)| value.parse().ok())
}

impl Respond for ScimList {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start = query_number(request, "startIndex").unwrap_or(1).max(1);
        let count = query_number(request, "count").unwrap_or(usize::MAX).min(self.max_count);
        let page: Vec<Value> = self.resources.iter().skip(start - 1).take(count).cloned().collect();
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        if let Some(total) = self.total {
            body["totalResults"] = json!(total);
        }
        ResponseTemplate::new(200).set_body_raw(serde_json::to_vec(&body).unwrap(), self.content_type)
    }
}

async fn mount_list(server: &MockServer, resource: &str, list: ScimList) {
    Mock::given(method("GET"))
        .and(path(format!("{}/{resource}", base_path())))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(list)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, resource: &str) -> Vec<Request> {
    let wanted = format!("{}/{resource}", base_path());
    server.received_requests().await.unwrap().into_iter().filter(|request| request.url.path() == wanted).collect()
}

/// `(startIndex, count)` of each request, in order.
fn pages(requests: &[Request]) -> Vec<(usize, usize)> {
    requests
        .iter()
        .map(|request| (query_number(request, "startIndex").unwrap(), query_number(request, "count").unwrap()))
        .collect()
}

fn ids(users: &[ScimUser]) -> Vec<String> {
    users.iter().map(|user| user.id.clone()).collect()
}

fn expected_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

// ---- Paging --------------------------------------------------------------------------------

#[tokio::test]
async fn seven_users_with_count_honoured_as_three_cost_three_requests() {
    // Arrange
    let server = MockServer::start().await;
    mount_list(&server, "Users", ScimList::new(users(7))).await;

    // Act
    let users = client_with_page(&server, 3).all_users().await.unwrap();

    // Assert
    assert_eq!(ids(&users), expected_ids(7));
    let requests = requests_to(&server, "Users").await;
    assert_eq!(pages(&requests), [(1, 3), (4, 3), (7, 3)], "stops at totalResults, no empty page");
    assert!(requests.iter().all(|request| {
        request.headers.get("authorization").is_some_and(|value| value == format!("Bearer {TOKEN}").as_str())
    }));
    assert!(requests.iter().all(|request| !request.url.as_str().contains(TOKEN)), "the token never goes in a URL");
}

#[tokio::test]
async fn a_server_that_returns_fewer_than_asked_is_walked_by_what_it_returned() {
    let server = MockServer::start().await;
    mount_list(&server, "Users", ScimList::new(users(7)).max_count(2)).await;

    let users = client_with_page(&server, 1000).all_users().await.unwrap();

    assert_eq!(ids(&users), expected_ids(7));
    let requests = requests_to(&server, "Users").await;
    assert_eq!(pages(&requests), [(1, 1000), (3, 1000), (5, 1000), (7, 1000)]);
}

#[tokio::test]
async fn one_page_is_enough_when_the_first_reaches_total_results() {
    let server = MockServer::start().await;
    mount_list(&server, "Users", ScimList::new(users(5))).await;

    let users = client_with_page(&server, 1000).all_users().await.unwrap();

    assert_eq!(users.len(), 5);
    assert_eq!(pages(&requests_to(&server, "Users").await), [(1, 1000)]);
}

#[tokio::test]
async fn without_total_results_the_walk_ends_on_an_empty_page() {
    let server = MockServer::start().await;
    mount_list(&server, "Users", ScimList::new(users(5)).total(None)).await;

    let users = client_with_page(&server, 2).all_users().await.unwrap();

    assert_eq!(ids(&users), expected_ids(5));
    assert_eq!(pages(&requests_to(&server, "Users").await), [(1, 2), (3, 2), (5, 2), (6, 2)]);
}

#[tokio::test]
async fn an_empty_node_costs_one_request() {
    let server = MockServer::start().await;
    mount_list(&server, "Groups", ScimList::new(Vec::new())).await;

    let groups = client_with_page(&server, 1000).all_groups().await.unwrap();

    assert!(groups.is_empty());
    assert_eq!(requests_to(&server, "Groups").await.len(), 1);
}

#[tokio::test]
async fn a_cold_directory_costs_one_request_per_returned_page_of_users_and_of_teams() {
    // Arrange: 7 users and 4 teams, pages of 3 → ⌈7 ÷ 3⌉ + ⌈4 ÷ 3⌉ = 3 + 2 requests.
    let server = MockServer::start().await;
    let mut all_users = users(7);
    all_users[0]["groups"] = json!([{"value": "team-b"}]);
    all_users[1]["active"] = json!(false);
    all_users[2]["emails"] = json!([{"value": "USER1@acme.example"}]);
    mount_list(&server, "Users", ScimList::new(all_users)).await;
    let mut teams: Vec<Value> = ["team-a", "team-b", "team-c", "team-d"]
        .iter()
        .map(|id| json!({"id": id, "displayName": id.to_uppercase(), "members": []}))
        .collect();
    teams[0]["members"] = json!([{"value": "2"}, {"value": "1"}]);
    mount_list(&server, "Groups", ScimList::new(teams)).await;
    let client = client_with_page(&server, 3);
    let freshness =
        Freshness { ttl: Duration::from_secs(600), grace: Duration::from_secs(60), stale_if_error: Duration::ZERO };
    let source = Directory::source(client.clone(), freshness);

    // Act
    let directory = source.get().await.unwrap();
    let again = source.get().await.unwrap();

    // Assert
    assert_eq!(requests_to(&server, "Users").await.len(), 3);
    assert_eq!(requests_to(&server, "Groups").await.len(), 2);
    assert_eq!(client.requests_sent(), 5);
    assert!(std::sync::Arc::ptr_eq(&directory, &again), "served from the snapshot within its TTL");
    assert_eq!(directory.node_id(), NODE);
    assert_eq!(directory.accounts().len(), 7);
    assert_eq!(directory.teams().len(), 4);
    let first = directory.account("1").unwrap();
    assert_eq!(first.team_ids, ["team-a", "team-b"], "User.groups ∪ Group.members, in team order");
    assert_eq!(directory.team("team-a").unwrap().member_ids, ["1", "2"], "in account order");
    assert_eq!(directory.account("2").unwrap().status, AccountStatus::Locked);
    let holders: Vec<String> =
        directory.accounts_with_address("user1@ACME.example").iter().map(|account| account.id.clone()).collect();
    assert_eq!(holders, ["1", "3"], "an address held by two accounts is reported with both");
}

// ---- Single reads --------------------------------------------------------------------------

#[tokio::test]
async fn one_user_by_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/Users/914901048493161", base_path())))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::to_vec(&json!({"id": "914901048493161", "userName": "priya.nair@acme.example"})).unwrap(),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_with_page(&server, 1000).user("914901048493161").await.unwrap().unwrap();

    assert_eq!(user.user_name, "priya.nair@acme.example");
}

#[tokio::test]
async fn an_unknown_user_is_none_and_the_id_is_percent_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "User not found"
        })))
        .mount(&server)
        .await;

    let user = client_with_page(&server, 1000).user("a/b c?x").await.unwrap();

    assert!(user.is_none());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "a 404 is not retried");
    assert_eq!(requests[0].url.path(), format!("{}/Users/a%2Fb%20c%3Fx", base_path()));
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn the_filter_lookup_sends_the_exact_query_and_verifies_the_answer() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/Users", base_path())))
        .and(query_param("filter", r#"userName eq "Priya.Nair@acme.example""#))
        .respond_with(ScimList::new(vec![json!({"id": "1", "userName": "priya.nair@acme.example"})]))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let user = client_with_page(&server, 1000).user_by_user_name("  Priya.Nair@acme.example ").await.unwrap();

    // Assert
    assert_eq!(user.unwrap().id, "1", "verified with a normalised compare");
    let requests = requests_to(&server, "Users").await;
    assert_eq!(
        requests[0].url.query(),
        Some("filter=userName%20eq%20%22Priya.Nair%40acme.example%22&startIndex=1&count=1000"),
        "spaces as %20, the whole expression encoded"
    );
}

#[tokio::test]
async fn the_filter_value_escapes_quotes_and_backslashes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/Users", base_path())))
        .and(query_param("filter", r#"userName eq "we\"ird\\x@acme.example""#))
        .respond_with(ScimList::new(Vec::new()))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_with_page(&server, 1000).user_by_user_name(r#"we"ird\x@acme.example"#).await.unwrap();

    assert!(user.is_none());
}

#[tokio::test]
async fn a_filter_answer_that_does_not_match_is_rejected() {
    // A server that ignores the filter and lists everyone.
    let server = MockServer::start().await;
    mount_list(&server, "Users", ScimList::new(users(3))).await;
    let client = client_with_page(&server, 1000);

    let missing = client.user_by_user_name("someone.else@acme.example").await.unwrap();
    let found = client.user_by_user_name("USER2@acme.example").await.unwrap();

    assert!(missing.is_none());
    assert_eq!(found.unwrap().id, "2", "the matching user is picked out of the unfiltered answer");
    assert_eq!(requests_to(&server, "Users").await.len(), 2, "one request per lookup, no paging");
}

// ---- Errors and retries --------------------------------------------------------------------

#[tokio::test]
async fn a_401_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .mount(&server)
        .await;

    let error = client_with_page(&server, 1000).all_users().await.unwrap_err();

    assert_eq!(error, KeeperError::Unauthorized);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_scim_error_body_is_decoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(
                serde_json::to_vec(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400", "scimType": "invalidFilter", "detail": "Filter not supported"
                }))
                .unwrap(),
                "application/scim+json",
            ),
        )
        .mount(&server)
        .await;

    let error = client_with_page(&server, 1000).user_by_user_name("a@b.example").await.unwrap_err();

    assert_eq!(
        error,
        KeeperError::Scim {
            status: 400,
            scim_type: Some("invalidFilter".to_owned()),
            detail: Some("Filter not supported".to_owned())
        }
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn a_500_then_a_200_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_list(&server, "Users", ScimList::new(users(2))).await;

    let users = client_with_page(&server, 1000).all_users().await.unwrap();

    assert_eq!(users.len(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_persistent_5xx_gives_up_as_unavailable_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503).set_body_string("down")).mount(&server).await;

    let error = client_with_page(&server, 1000).all_groups().await.unwrap_err();

    assert_eq!(
        error,
        KeeperError::Unavailable { endpoint: "/Groups".to_owned(), status: Some(503), detail: Some("down".to_owned()) }
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4, "first attempt plus max_retries (3)");
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_list(&server, "Users", ScimList::new(users(1))).await;
    let started = Instant::now();

    let users = client_with_page(&server, 1000).all_users().await.unwrap();

    // A lower bound only: the client must not come back before Keeper said it may.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(users.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_429_asking_longer_than_allowed_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;

    let error = client_with_page(&server, 1000).all_users().await.unwrap_err();

    assert_eq!(error, KeeperError::RateLimited);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreadable_answer_reports_its_json_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalResults": 2, "startIndex": 1, "itemsPerPage": 2,
            "Resources": [{"id": "1"}, {"id": {"not": "an id"}}]
        })))
        .mount(&server)
        .await;

    let error = client_with_page(&server, 1000).all_users().await.unwrap_err();

    match error {
        KeeperError::Decode { endpoint, path, .. } => {
            assert_eq!(endpoint, "/Users");
            assert_eq!(path, "Resources[1].id");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn lenient_models_accept_plain_json_and_unknown_attributes() {
    let server = MockServer::start().await;
    let mut list = ScimList::new(vec![
        json!({"id": "g1", "displayName": "Ops", "members": null, "meta": {"resourceType": "Group"}, "x": 1}),
    ]);
    list.content_type = "application/json";
    mount_list(&server, "Groups", list).await;

    let groups: Vec<ScimGroup> = client_with_page(&server, 1000).all_groups().await.unwrap();

    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].display_name, "Ops");
    assert!(groups[0].members.is_empty());
}

// ---- Secrets -------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_is_never_in_a_debug_output_or_an_error() {
    // Arrange: a server that echoes the Authorization header back in its error bodies.
    struct Echo;
    impl Respond for Echo {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let authorization = request.headers.get("authorization").unwrap().to_str().unwrap().to_owned();
            let status = if request.url.path().ends_with("/Groups") { 502 } else { 400 };
            ResponseTemplate::new(status)
                .set_body_json(json!({"status": status.to_string(), "detail": format!("bad header: {authorization}")}))
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(Echo).mount(&server).await;
    let config = config(&server);
    let client = KeeperClient::new(config.clone()).unwrap();

    // Act
    let client_error = client.all_users().await.unwrap_err();
    let server_error = client.all_groups().await.unwrap_err();

    // Assert
    for shown in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{client_error:?}"),
        client_error.to_string(),
        format!("{server_error:?}"),
        server_error.to_string(),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
    assert!(matches!(client_error, KeeperError::Scim { status: 400, .. }), "{client_error:?}");
    assert!(matches!(server_error, KeeperError::Unavailable { status: Some(502), .. }), "{server_error:?}");
}
