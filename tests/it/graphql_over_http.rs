//! GraphQL over HTTP (graphql.github.io/graphql-over-http): the answer's media type follows `Accept`, request errors
//! under `application/graphql-response+json` are 400 without `data`, a `GET` never runs a mutation, and The Guild's
//! `graphql-http` audit (`tests/federation/audit.mjs`) passes every MUST against the real server.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` with an `Accept` header (or none): status, content type and JSON body.
async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut request = app.http.post(format!("http://{}/graphql", app.address)).json(&body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
    (status, content_type.unwrap_or_default(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_answer_has_the_media_type_accept_ranks_highest() {
    let app = spawn_app(5).await;
    let query = json!({ "query": "{ __typename }" });
    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/*"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("application/graphql-response+json, application/json;q=0.9"), GRAPHQL_RESPONSE),
        (Some("application/json, application/graphql-response+json"), "application/json"),
        (Some("application/json;q=0.5, application/graphql-response+json"), GRAPHQL_RESPONSE),
        (Some("text/html, application/json;q=0.1"), "application/json"),
    ] {
        let (status, content_type, body) = post(&app, accept, query.clone()).await;
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(content_type, format!("{expected}; charset=utf-8"), "{accept:?}");
        assert_eq!(body["data"]["__typename"], "Query");
    }
    let (status, _, body) = post(&app, Some("text/html"), query).await;
    assert_eq!(status, 406);
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
    app.stop().await;
}

#[tokio::test]
async fn request_errors_are_400_without_data_only_for_graphql_response_json() {
    let app = spawn_app(5).await;
    let broken = [
        (json!({ "query": "{ employees(" }), "GRAPHQL_PARSE_FAILED"),
        (json!({ "query": "{ noSuchField }" }), "GRAPHQL_VALIDATION_FAILED"),
        (json!({ "query": format!("{{ __typename {} }}", "@include(if: true) ".repeat(60)) }), "TOO_MANY_DIRECTIVES"),
        (json!({ "query": format!("{{ {} }}", "a ".repeat(5100)) }), "TOO_MANY_TOKENS"),
        (json!({ "query": "query($n: Int!) { __typename }", "variables": { "n": "x" } }), "GRAPHQL_VALIDATION_FAILED"),
    ];
    for (body, code) in broken {
        let (status, _, answer) = post(&app, Some(GRAPHQL_RESPONSE), body.clone()).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], code, "{answer}");

        let (status, _, answer) = post(&app, Some("application/json"), body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], code, "{answer}");
    }
    // A field error is no request error: 200 with data under either media type.
    let (status, _, answer) =
        post(&app, Some(GRAPHQL_RESPONSE), json!({ "query": "{ employees(first: -1) { totalCount } }" })).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("data").is_some(), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_post_must_say_it_is_json_and_a_get_never_runs_a_mutation() {
    let app = spawn_app(5).await;
    let plain_text = app
        .http
        .post(format!("http://{}/graphql", app.address))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain_text.status(), 400);
    for body in [json!({ "qeury": "{ __typename }" }), json!({ "query": "" })] {
        let (status, _, answer) = post(&app, Some("application/json"), body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }
    let mutation = app
        .http
        .get(format!("http://{}/graphql?query=mutation%20%7B%20__typename%20%7D", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    app.stop().await;
}

#[tokio::test]
async fn the_graphql_http_audit_passes_every_check() {
    let app = spawn_app(5).await;
    let harness = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/federation");
    assert!(
        harness.join("node_modules/graphql-http").is_dir(),
        "the audit needs Node.js 20+ and `npm ci` in tests/federation (scripts/test runs it)"
    );
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(harness.join("audit.mjs"))
            .arg(format!("http://{}/graphql", app.address))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the audit ends within two minutes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let results: Vec<Value> = serde_json::from_str(stdout.trim()).expect("the audit prints its results as JSON");
    assert!(results.len() > 40, "the audit ran: {results:?}");
    // `error` is a MUST unmet, `warn` a SHOULD, `notice` a MAY: this subgraph meets them all.
    let unmet: Vec<&Value> = results.iter().filter(|result| result["status"] != "ok").collect();
    assert!(unmet.is_empty(), "unmet: {unmet:#?}");
    app.stop().await;
}
