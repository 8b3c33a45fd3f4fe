//! Hardening, end to end: request limits, router authentication and the personal-data scope, load shedding,
//! metrics and request ids, stale-if-error, each Keka fault the sandbox can inject, and secrets kept out of logs.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keka_subgraph::server::{JwtKeys, RouterAuth};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, codes, shared_secret_auth, spawn_app, spawn_app_on, spawn_app_with};

/// Posts a query with extra headers; returns the status, the headers and the JSON body.
async fn post_with(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app.http.post(format!("http://{}/graphql", app.address)).json(&json!({ "query": query }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("subgraph answers");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.expect("a JSON answer"))
}

async fn metrics(app: &TestApp) -> String {
    app.http.get(format!("http://{}/metrics", app.address)).send().await.unwrap().text().await.unwrap()
}

fn first_employee_id(answer: &Value) -> String {
    answer["data"]["employees"]["nodes"][0]["id"].as_str().expect("an employee").to_owned()
}

/// graphql-js's `getIntrospectionQuery()`, as GraphiQL and Apollo tooling send it.
const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

#[tokio::test]
async fn the_default_limits_let_introspection_and_the_gateways_queries_through() {
    let app = spawn_app(10).await;
    let introspection = app.query(INTROSPECTION).await;
    assert!(introspection.get("errors").is_none(), "{introspection}");
    let service = app.query("{ _service { sdl } }").await;
    assert!(service["data"]["_service"]["sdl"].is_string(), "{service}");
    app.stop().await;
}

#[tokio::test]
async fn each_request_limit_has_its_own_code() {
    let app = spawn_app_with(10, |settings| {
        settings.limits.max_depth = 6;
        settings.limits.max_complexity = 40;
        settings.limits.max_aliases = 3;
        settings.limits.max_representations = 2;
    })
    .await;
    let deep = "{ employees(first: 1) { nodes { manager { manager { manager { manager { displayName } } } } } } }";
    assert_eq!(codes(&app.query(deep).await), ["QUERY_TOO_DEEP"]);
    let fields: Vec<String> = (0..45).map(|n| format!("f{n}: __typename")).collect();
    let wide = format!("{{ {} }}", fields.join(" "));
    let answer = app.query(&wide).await;
    assert!(codes(&answer) == ["QUERY_TOO_COMPLEX"] || codes(&answer) == ["TOO_MANY_ALIASES"], "{answer}");
    let aliased = "{ a: __typename b: __typename c: __typename d: __typename }";
    assert_eq!(codes(&app.query(aliased).await), ["TOO_MANY_ALIASES"]);
    let wide_unaliased = format!("{{ employees(first: 1) {{ nodes {{ {} }} }} }}", "id displayName email ".repeat(15));
    assert_eq!(codes(&app.query(&wide_unaliased).await), ["QUERY_TOO_COMPLEX"]);
    let representations: Vec<Value> =
        (0..3).map(|n| json!({"__typename": "Employee", "id": format!("e{n}")})).collect();
    let entities = app
        .post(json!({
            "query": "query($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }",
            "variables": { "representations": representations },
        }))
        .await;
    assert_eq!(codes(&entities), ["TOO_MANY_REPRESENTATIONS"]);
    assert_eq!(codes(&app.query("{ employees(first: 101) { totalCount } }").await), ["BAD_USER_INPUT"]);
    app.stop().await;
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_switched_off() {
    let app = spawn_app_with(10, |settings| {
        settings.limits.introspection = false;
        settings.graphiql = false;
    })
    .await;
    let answer = app.query("{ __schema { queryType { name } } }").await;
    assert_eq!(codes(&answer), ["INTROSPECTION_DISABLED"], "{answer}");
    assert_eq!(codes(&app.query("{ __type(name: \"Employee\") { name } }").await), ["INTROSPECTION_DISABLED"]);
    assert!(app.query("{ _service { sdl } }").await["data"]["_service"]["sdl"].is_string());
    let graphiql = app.http.get(format!("http://{}/", app.address)).send().await.unwrap();
    assert_eq!(graphiql.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

const PERSONAL: &str = "{ employees(first: 1) { nodes { id displayName personalEmail dateOfBirth } } }";

#[tokio::test]
async fn a_shared_secret_lets_only_the_router_in_and_personal_data_needs_the_scope() {
    let app = spawn_app_with(10, |settings| {
        settings.router_auth = shared_secret_auth();
    })
    .await;
    for headers in [vec![], vec![("router-authorization", "wrong")], vec![("authorization", "Bearer r0uter-s3cret")]] {
        let (status, _, body) = post_with(&app, "{ __typename }", &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"]);
        assert!(!body.to_string().contains("r0uter-s3cret"));
    }
    let health = app.http.get(format!("http://{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let (status, _, without_scope) = post_with(&app, PERSONAL, &[("router-authorization", "r0uter-s3cret")]).await;
    assert_eq!(status, StatusCode::OK);
    let node = &without_scope["data"]["employees"]["nodes"][0];
    assert!(node["displayName"].is_string() && node["personalEmail"].is_null() && node["dateOfBirth"].is_null());
    assert_eq!(codes(&without_scope), ["FORBIDDEN", "FORBIDDEN"]);

    let scoped = [("router-authorization", "Bearer r0uter-s3cret"), ("x-auth-scopes", "read:employee_pii")];
    let (_, _, with_scope) = post_with(&app, PERSONAL, &scoped).await;
    assert!(with_scope.get("errors").is_none(), "{with_scope}");
    assert!(with_scope["data"]["employees"]["nodes"][0]["dateOfBirth"].is_string());
    app.stop().await;
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures").join(name)
}

fn es256_token(claims: Value) -> String {
    let key = EncodingKey::from_ec_pem(&std::fs::read(fixture("router-es256-private.pem")).unwrap()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap()
}

#[tokio::test]
async fn a_router_jwt_is_verified_against_the_configured_key_and_carries_the_scopes() {
    let keys = JwtKeys::from_pem_file(&fixture("router-es256-public.pem")).expect("the fixture key loads");
    let app = spawn_app_with(10, |settings| {
        settings.router_auth = RouterAuth::Jwt {
            header: "router-authorization".parse().unwrap(),
            keys,
            issuer: Some("https://router.example".to_owned()),
            audience: Some("keka-subgraph".to_owned()),
            email_claim: "email".to_owned(),
        };
    })
    .await;
    let in_an_hour = chrono::Utc::now().timestamp() + 3600;
    let claims = |scope: &str, exp: i64, aud: &str| json!({ "iss": "https://router.example", "aud": aud, "exp": exp, "scope": scope });
    let good = es256_token(claims("read:employee_pii", in_an_hour, "keka-subgraph"));
    let (status, _, answer) = post_with(&app, PERSONAL, &[("router-authorization", &format!("Bearer {good}"))]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.get("errors").is_none(), "{answer}");

    let narrow = es256_token(claims("read:org", in_an_hour, "keka-subgraph"));
    let (_, _, answer) = post_with(&app, PERSONAL, &[("router-authorization", &narrow)]).await;
    assert_eq!(codes(&answer), ["FORBIDDEN", "FORBIDDEN"]);

    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("read:employee_pii", in_an_hour, "keka-subgraph"),
        &EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    for refused in [
        es256_token(claims("read:employee_pii", 1_000, "keka-subgraph")),
        es256_token(claims("read:employee_pii", in_an_hour, "another-subgraph")),
        hmac,
    ] {
        let (status, _, body) = post_with(&app, PERSONAL, &[("router-authorization", &refused)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_jwks_file_of_shared_keys_is_accepted() {
    let dir = std::env::temp_dir().join(format!("keka-subgraph-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    let secret = b"a-shared-hmac-secret-of-32-bytes";
    use base64::Engine as _;
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    std::fs::write(&path, json!({ "keys": [{ "kty": "oct", "kid": "router-1", "alg": "HS256", "k": k }] }).to_string())
        .unwrap();
    let keys = JwtKeys::from_jwks_file(&path).expect("the JWKS loads");
    std::fs::remove_dir_all(&dir).unwrap();
    let app = spawn_app_with(10, |settings| {
        settings.router_auth = RouterAuth::Jwt {
            header: "router-authorization".parse().unwrap(),
            keys,
            issuer: None,
            audience: None,
            email_claim: "email".to_owned(),
        };
    })
    .await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("router-1".to_owned());
    let exp = chrono::Utc::now().timestamp() + 600;
    let token = jsonwebtoken::encode(&header, &json!({ "exp": exp }), &EncodingKey::from_secret(secret)).unwrap();
    let (status, _, answer) = post_with(&app, "{ __typename }", &[("router-authorization", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn past_the_concurrency_limit_requests_are_shed_at_once() {
    let app = spawn_app_with(30, |settings| settings.max_concurrent_requests = 1).await;
    // Keka answers slowly, so the first request holds the only slot for a while.
    app.set_keka_faults(json!({ "latency_ms": 1500 })).await;
    let slow = {
        let (http, address) = (app.http.clone(), app.address);
        tokio::spawn(async move {
            let body = json!({ "query": "{ employees(first: 3) { nodes { displayName } } }" });
            let response = http.post(format!("http://{address}/graphql")).json(&body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        })
    };
    // Wait (bounded) until the slow request is being answered.
    let mut in_flight = false;
    for _ in 0..200 {
        if metrics(&app).await.contains("keka_subgraph_graphql_requests_in_flight 1") {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(in_flight, "the slow request never started");
    let (status, headers, shed) = post_with(&app, "{ __typename }", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(codes(&shed), ["SERVICE_OVERLOADED"]);
    assert_eq!(headers.get("retry-after").unwrap(), "1");
    let (status, answer) = slow.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(answer.get("errors").is_none(), "{answer}");
    assert!(metrics(&app).await.contains("outcome=\"shed\"} 1"));
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_upstream_calls_and_caches_and_request_ids_are_echoed() {
    let app = spawn_app(20).await;
    let (_, headers, _) = post_with(&app, "query OrgPage { employees(first: 2) { nodes { id } } }", &[]).await;
    let generated = headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32);
    let (_, headers, _) =
        post_with(&app, "query OrgPage { employees(first: 2) { nodes { id } } }", &[("x-request-id", "trace-abc-123")])
            .await;
    assert_eq!(headers.get("x-request-id").unwrap(), "trace-abc-123");
    let text = metrics(&app).await;
    for expected in [
        "keka_subgraph_graphql_requests_total{operation=\"OrgPage\",outcome=\"ok\"} 2",
        "keka_subgraph_graphql_request_duration_seconds_count{operation=\"OrgPage\"} 2",
        "keka_subgraph_upstream_requests_total{upstream=\"keka\",endpoint=\"/hris/employees\",status=\"200\"} 1",
        "keka_subgraph_cache_requests_total{cache=\"employee_pages\",result=\"miss\"} 1",
        "keka_subgraph_cache_requests_total{cache=\"employee_pages\",result=\"hit\"} 1",
        "keka_subgraph_upstream_token_refreshes_total{upstream=\"keka\"} 1",
        "keka_subgraph_snapshot_age_seconds{snapshot=\"org\"} -1",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    app.stop().await;
}

/// A subgraph whose caches expire at once, so every request reloads from Keka; with or without the default
/// stale-if-error allowance.
async fn app_reloading_everything(stale_if_error: bool) -> TestApp {
    spawn_app_with(20, |settings| {
        settings.cache.ttl = Duration::ZERO;
        if !stale_if_error {
            settings.stale_if_error = Duration::ZERO;
        }
    })
    .await
}

const ORG_PAGE: &str = "{ employees(first: 3) { nodes { id displayName manager { displayName } } } }";

#[tokio::test]
async fn while_keka_fails_the_last_snapshot_is_served_and_marked_stale_within_the_bound() {
    // A zero TTL: every answer is past it, so the second request must rebuild, and Keka is down by then.
    let app = app_reloading_everything(true).await;
    let page = app.query(ORG_PAGE).await;
    let id = first_employee_id(&page);
    let warm = app.query(&format!("{{ employee(id: \"{id}\") {{ directReports {{ totalCount }} }} }}")).await;
    assert!(warm.get("errors").is_none(), "{warm}");

    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let (status, headers, stale) = post_with(&app, ORG_PAGE, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stale.get("errors").is_none(), "{stale}");
    assert_eq!(stale["data"]["employees"]["nodes"], page["data"]["employees"]["nodes"]);
    assert_eq!(stale["extensions"]["dataFreshness"]["stale"], true);
    assert!(headers.get("x-data-stale").unwrap().to_str().unwrap().starts_with("age="));
    app.stop().await;

    // With no stale-if-error allowance the same outage is an error.
    let app = app_reloading_everything(false).await;
    let id = first_employee_id(&app.query(ORG_PAGE).await);
    app.query(&format!("{{ employee(id: \"{id}\") {{ directReports {{ totalCount }} }} }}")).await;
    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let failed = app.query(ORG_PAGE).await;
    assert_eq!(codes(&failed), ["UPSTREAM_UNAVAILABLE"]);
    assert!(failed.get("extensions").is_none_or(|extensions| extensions.get("dataFreshness").is_none()));
    app.stop().await;
}

#[tokio::test]
async fn while_keka_fails_small_lists_are_served_from_their_last_good_copy_within_the_bound() {
    const LISTS: &str = "{ groups { name type { name } } groupTypes { name } offices { name } timeoffTypes { name } }";
    // A zero TTL: every list is reloaded, and Keka is down by the second request.
    let app = app_reloading_everything(true).await;
    let fresh = app.query(LISTS).await;
    assert!(fresh.get("errors").is_none(), "{fresh}");
    assert!(fresh["data"]["groups"].as_array().is_some_and(|groups| !groups.is_empty()));

    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let (status, headers, stale) = post_with(&app, LISTS, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stale.get("errors").is_none(), "{stale}");
    assert_eq!(stale["data"], fresh["data"]);
    assert_eq!(stale["extensions"]["dataFreshness"]["stale"], true);
    assert!(headers.get("x-data-stale").unwrap().to_str().unwrap().starts_with("age="));
    app.stop().await;

    // With no stale-if-error allowance the same outage is an error.
    let app = app_reloading_everything(false).await;
    assert!(app.query(LISTS).await.get("errors").is_none());
    app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
    let failed = app.query(LISTS).await;
    assert!(!codes(&failed).is_empty() && codes(&failed).iter().all(|code| code == "UPSTREAM_UNAVAILABLE"), "{failed}");
    app.stop().await;
}

#[tokio::test]
async fn while_keka_fails_every_kind_of_cached_answer_is_served_from_its_last_good_copy_within_the_bound() {
    // A zero TTL: every answer is past it by the second request, when Keka is down. One query reads each kind of
    // answer held by key: an employee by id and by email, a page, one person's leave, attendance and balances,
    // everyone's leave, jobs with their candidates, preboarding.
    let everything = |id: &str, email: &str| {
        format!(
            r#"{{
                employee(id: "{id}") {{ displayName timeoffRequests {{ id }} attendance {{ date }} leaveBalances {{ typeName available }} }}
                employeeByEmail(email: "{email}") {{ id }}
                employees(first: 5) {{ nodes {{ id displayName }} }}
                timeoffRequests(first: 5) {{ nodes {{ id }} }}
                jobs {{ id candidates(first: 3) {{ nodes {{ id }} }} }}
                preboardingCandidates {{ id }}
            }}"#
        )
    };
    for allowance in [true, false] {
        let app = app_reloading_everything(allowance).await;
        let page = app.query("{ employees(first: 1) { nodes { id email } } }").await;
        let person = &page["data"]["employees"]["nodes"][0];
        let query = everything(person["id"].as_str().unwrap(), person["email"].as_str().unwrap());
        let fresh = app.query(&query).await;
        assert!(fresh.get("errors").is_none(), "{fresh}");
        assert!(fresh["data"]["jobs"].as_array().is_some_and(|jobs| !jobs.is_empty()), "{fresh}");

        app.set_keka_faults(json!({ "error_rate": 1.0 })).await;
        let (status, headers, during) = post_with(&app, &query, &[]).await;
        assert_eq!(status, StatusCode::OK);
        if allowance {
            assert!(during.get("errors").is_none(), "{during}");
            assert_eq!(during["data"], fresh["data"]);
            assert_eq!(during["extensions"]["dataFreshness"]["stale"], true);
            assert!(headers.get("x-data-stale").unwrap().to_str().unwrap().starts_with("age="));
        } else {
            // The same outage without the allowance: the faults were met, and each is an error.
            let codes = codes(&during);
            assert!(!codes.is_empty() && codes.iter().all(|code| code == "UPSTREAM_UNAVAILABLE"), "{during}");
        }
        app.stop().await;
    }
}

/// Every answer under a fault is JSON with coded errors only, and the fault is met: the sandbox answered an error
/// status (which a retry may have survived), or some answer carries an error or says it is stale (each query reaches
/// Keka, the TTL being zero). Once the fault is cleared the same query succeeds.
async fn survives(app: &TestApp, faults: Value, allowed: &[&str]) {
    app.set_keka_faults(faults.clone()).await;
    let query =
        "{ employees(first: 5) { totalCount nodes { displayName manager { displayName } department { name } } } }";
    let failed_statuses = |stats: &keka_sandbox::SandboxStats| {
        stats.by_route.iter().filter(|route| route.status >= 500).map(|route| route.count).sum::<u64>()
    };
    let before = app.keka_stats().await;
    let mut met = false;
    for attempt in 0..30 {
        if met && attempt >= 3 {
            break;
        }
        let answer = tokio::time::timeout(Duration::from_secs(30), app.query(query)).await.expect("no hang");
        let codes = codes(&answer);
        for code in &codes {
            assert!(allowed.contains(&code.as_str()), "{faults}: unexpected {code} in {answer}");
        }
        met |= !codes.is_empty()
            || answer["extensions"]["dataFreshness"]["stale"] == true
            || failed_statuses(&app.keka_stats().await) > failed_statuses(&before);
    }
    assert!(met, "{faults}: no answer showed the fault in 30 queries");
    app.set_keka_faults(json!({})).await;
    let recovered = app.query(query).await;
    assert!(recovered.get("errors").is_none(), "no recovery after {faults}: {recovered}");
}

#[tokio::test]
async fn keka_faults_give_coded_errors_and_the_subgraph_recovers_from_each() {
    let app = spawn_app_with(40, |settings| {
        // Short enough for the hang case; the test's own bound above is 30 s.
        settings.keka.request_timeout = Duration::from_millis(300);
        settings.cache.ttl = Duration::ZERO;
        // Every retry counts against the budget; the sandbox has none here, so neither do we.
        settings.keka.rate_limit_per_window = 0;
    })
    .await;
    survives(&app, json!({ "error_rate": 0.2 }), &["UPSTREAM_UNAVAILABLE"]).await;
    survives(&app, json!({ "error_rate": 1.0 }), &["UPSTREAM_UNAVAILABLE"]).await;
    survives(&app, json!({ "latency_ms": 2000 }), &["UPSTREAM_UNAVAILABLE"]).await;
    survives(&app, json!({ "malformed_json_rate": 1.0 }), &["UPSTREAM_BAD_RESPONSE"]).await;
    survives(&app, json!({ "html_error_rate": 1.0 }), &["UPSTREAM_UNAVAILABLE"]).await;
    app.stop().await;
}

#[tokio::test]
async fn revoked_tokens_and_a_token_endpoint_outage_are_survived() {
    let app = spawn_app_with(20, |settings| {
        settings.cache.ttl = Duration::ZERO;
        // No last good copies: the outage must reach the answer, as coded errors.
        settings.stale_if_error = Duration::ZERO;
    })
    .await;
    let revoke = || async {
        let url = format!("http://{}/__sandbox/revoke-tokens", app.sandbox_address);
        assert!(app.http.post(url).send().await.unwrap().status().is_success());
    };
    assert!(app.query(ORG_PAGE).await.get("errors").is_none());
    revoke().await;
    let after_revocation = app.query(ORG_PAGE).await;
    assert!(after_revocation.get("errors").is_none(), "a revoked token is replaced: {after_revocation}");

    app.set_keka_faults(json!({ "token_endpoint_down": true })).await;
    revoke().await;
    let down = tokio::time::timeout(Duration::from_secs(30), app.query(ORG_PAGE)).await.expect("no hang");
    assert!(!codes(&down).is_empty() && codes(&down).iter().all(|code| code.starts_with("UPSTREAM_")), "{down}");
    let ready = app.http.get(format!("http://{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    app.set_keka_faults(json!({})).await;
    assert!(app.query(ORG_PAGE).await.get("errors").is_none());
    let ready = app.http.get(format!("http://{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_429_storm_is_waited_out_without_failing_the_query() {
    // The sandbox allows 2 requests a second; our limiter is off, so Keka's 429s must be handled by the retries.
    let app = spawn_app_on(
        450,
        |sandbox| {
            sandbox.rate_limit_per_minute = 2;
            sandbox.rate_limit_window = Duration::from_secs(1);
        },
        |settings| {
            settings.keka.rate_limit_per_window = 0;
            settings.keka.rate_limit_window = Duration::from_secs(1);
            settings.keka.max_retries = 6;
        },
    )
    .await;
    // A group filter is answered from the org snapshot: a walk of 3 pages at once.
    let query = "{ employees(first: 5, filter: { groupId: \"no-such-group\" }) { totalCount } }";
    let answer = tokio::time::timeout(Duration::from_secs(60), app.query(query)).await.expect("no hang");
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["data"]["employees"]["totalCount"], 0);
    let stats = app.keka_stats().await;
    assert!(stats.count_status("/api/v1/hris/employees", 429) > 0, "the storm happened: {stats:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_hanging_keka_is_cut_at_the_request_deadline_and_the_rest_of_the_answer_survives() {
    let app = spawn_app_with(20, |settings| {
        settings.request_deadline = Duration::from_secs(1);
        settings.keka.request_timeout = Duration::from_secs(10);
    })
    .await;
    let warm = app.query("{ employees(first: 2) { nodes { displayName } } }").await;
    assert!(warm.get("errors").is_none(), "{warm}");
    // Every Keka answer now takes 4 s: with retries a call would take 16 s, far past the 1 s deadline.
    app.set_keka_faults(json!({ "latency_ms": 4000 })).await;
    let started = std::time::Instant::now();
    let answer = app.query("{ employees(first: 2) { nodes { displayName department { name } } } }").await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "the deadline cut the Keka call short of one slow answer: {took:?}");
    assert_eq!(
        answer["data"]["employees"]["nodes"][0]["displayName"],
        warm["data"]["employees"]["nodes"][0]["displayName"]
    );
    assert!(answer["data"]["employees"]["nodes"][0]["department"].is_null());
    assert!(codes(&answer).iter().all(|code| code == "UPSTREAM_UNAVAILABLE"), "{answer}");
    app.set_keka_faults(json!({})).await;
    app.stop().await;
}
