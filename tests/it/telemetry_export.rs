//! The released binary, as `cargo run` starts it (embedded sandbox), exporting its traces over OTLP/HTTP to a
//! collector stand-in: the spans of a GraphQL request and of its Keka calls arrive, flushed at shutdown.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_binary_exports_request_and_keka_spans_over_otlp() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keka-subgraph"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("SANDBOX_EMPLOYEES", "30")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let graphql_url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("log output") {
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && let Some(url) = entry["graphql"].as_str()
            {
                return url.to_owned();
            }
        }
        panic!("the binary exited before listening");
    })
    .await
    .expect("the binary listens within a minute");
    // Keep draining its log so it never blocks on a full pipe.
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let answer: Value = reqwest::Client::new()
        .post(&graphql_url)
        .json(&json!({ "query": "query Traced { employees(first: 2) { nodes { displayName } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["data"]["employees"]["nodes"][1]["displayName"].is_string(), "{answer}");

    // SIGTERM: graceful shutdown drops the telemetry guard, which flushes the batch of spans.
    let pid = child.id().expect("running").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("stops").unwrap();
    assert!(status.success(), "{status:?}");
    drain.abort();

    let exported: Vec<u8> =
        collector.received_requests().await.unwrap().into_iter().flat_map(|request| request.body).collect();
    let text = String::from_utf8_lossy(&exported);
    for span in ["graphql", "keka_call", "keka-subgraph"] {
        assert!(text.contains(span), "no `{span}` in the exported traces");
    }
}
