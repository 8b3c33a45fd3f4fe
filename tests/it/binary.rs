//! The built binary, started as `cargo run` starts it (embedded Keka sandbox and Keeper node), in its own process:
//! its traces reach an OTLP collector, and through a run with every kind of fault no secret reaches its logs.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc::UnboundedReceiver;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The subgraph binary, running with JSON logs on stdout.
struct Binary {
    child: Child,
    /// Log lines, read by a task that never stops draining the pipe (a full pipe would block the binary).
    logs: UnboundedReceiver<String>,
    /// Every log line read so far.
    seen: Vec<String>,
    graphql: String,
    http: reqwest::Client,
}

impl Binary {
    async fn start(env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_keka-subgraph"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("SANDBOX_EMPLOYEES", "30")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (sender, logs) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut binary = Self { child, logs, seen: Vec::new(), graphql: String::new(), http: reqwest::Client::new() };
        let listening = binary.wait_for_log(|entry| entry["graphql"].is_string()).await;
        binary.graphql = listening["graphql"].as_str().unwrap().to_owned();
        binary
    }

    /// Reads log lines until one matches (bounded: a minute).
    async fn wait_for_log(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = self.logs.recv().await {
                self.seen.push(line.clone());
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && matches(&entry)
                {
                    return entry;
                }
            }
            panic!("the binary exited; its log:\n{}", self.seen.join("\n"));
        })
        .await
        .expect("the expected log line within a minute")
    }

    async fn post(&self, query: &str, headers: &[(&str, &str)]) -> String {
        let mut request = self.http.post(&self.graphql).json(&json!({ "query": query }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().text().await.unwrap()
    }

    /// SIGTERM, then the rest of its log once it has exited.
    async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().expect("running").to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let rest = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = self.logs.recv().await {
                self.seen.push(line);
            }
            self.child.wait().await.unwrap()
        })
        .await
        .expect("it stops within 30 s");
        assert!(rest.success(), "{rest:?}");
        self.seen
    }
}

#[tokio::test]
async fn the_binary_exports_request_and_keka_spans_over_otlp() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let binary = Binary::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.uri())]).await;
    let answer = binary.post("query Traced { employees(first: 2) { nodes { displayName } } }", &[]).await;
    assert!(answer.contains("displayName"), "{answer}");
    // Graceful shutdown drops the telemetry guard, which flushes the batch of spans.
    binary.stop().await;

    let exported: Vec<u8> =
        collector.received_requests().await.unwrap().into_iter().flat_map(|request| request.body).collect();
    let text = String::from_utf8_lossy(&exported);
    for span in ["graphql", "keka_call", "keka-subgraph"] {
        assert!(text.contains(span), "no `{span}` in the exported traces");
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_or_the_answers_through_a_run_with_faults() {
    let router_secret = "r0uter-s3cret-for-the-log-test";
    // A one-second TTL and no grace: after each pause every snapshot and list is fetched again, under the new fault.
    let mut binary = Binary::start(&[
        ("ROUTER_SECRET", router_secret),
        ("RUST_LOG", "trace"),
        ("CACHE_TTL_SECS", "1"),
        ("SNAPSHOT_GRACE_SECS", "0"),
        ("STALE_IF_ERROR_SECS", "0"),
    ])
    .await;
    // The embedded sandbox logs where it listens: its admin API drives the faults.
    let sandbox = binary.wait_for_seen_or_log("Keka sandbox listening").await;
    let admin = format!("http://{}", sandbox["addr"].as_str().expect("the sandbox's address"));
    let http = reqwest::Client::new();
    let set_faults = |route: &'static str, faults: Value| {
        let (http, url) = (http.clone(), format!("{admin}{route}"));
        async move { assert!(http.put(url).json(&faults).send().await.unwrap().status().is_success()) }
    };
    let auth = [("router-authorization", router_secret), ("x-auth-scopes", "read:employee_pii")];
    let query = "{ employees(first: 5) { nodes { displayName personalEmail directoryAccount { userName } } } accessReview { nodeId } }";
    let mut answers = Vec::new();
    let let_the_ttl_pass = || tokio::time::sleep(Duration::from_millis(1100));
    for faults in [
        json!({}),
        json!({ "error_rate": 0.5 }),
        json!({ "malformed_json_rate": 1.0 }),
        json!({ "html_error_rate": 1.0 }),
    ] {
        set_faults("/__sandbox/faults", faults.clone()).await;
        set_faults("/__sandbox/keeper/faults", faults).await;
        let_the_ttl_pass().await;
        answers.push(binary.post(query, &auth).await);
    }
    set_faults("/__sandbox/faults", json!({ "token_endpoint_down": true })).await;
    assert!(http.post(format!("{admin}/__sandbox/revoke-tokens")).send().await.unwrap().status().is_success());
    let_the_ttl_pass().await;
    answers.push(binary.post(query, &auth).await);
    answers.push(binary.post(query, &[("router-authorization", "wrong")]).await);
    set_faults("/__sandbox/faults", json!({})).await;
    set_faults("/__sandbox/keeper/faults", json!({})).await;
    let_the_ttl_pass().await;
    answers.push(binary.post(query, &auth).await);
    let logs = binary.stop().await.join("\n");

    assert!(logs.contains("graphql request") && logs.contains("keka_call"), "the log is complete");
    // The faults did reach the subgraph: failed fields were answered with codes, and it recovered at the end.
    let answers_text = answers.join("\n");
    for code in ["UPSTREAM_UNAVAILABLE", "UPSTREAM_BAD_RESPONSE", "UNAUTHENTICATED"] {
        assert!(answers_text.contains(code), "no {code} in {answers_text}");
    }
    // One failed directory rebuild answers every field waiting on it: no storm against Keeper's budget.
    assert!(!answers_text.contains("UPSTREAM_RATE_LIMITED"), "{answers_text}");
    assert!(!answers.last().unwrap().contains("errors"), "{}", answers.last().unwrap());
    let secrets = ["sandbox-client-secret", "sandbox-api-key", "sandbox-keeper-token", router_secret];
    for (what, text) in [("the log", &logs), ("the answers", &answers.join("\n"))] {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} contain {secret}");
        }
        // The sandbox's access tokens are JWTs: none (a base64url `{"` header) may be printed either.
        assert!(!text.contains("eyJ"), "{what} contain an access token");
    }
}

impl Binary {
    /// A log line already read, or the next one, whose message contains `message`.
    async fn wait_for_seen_or_log(&mut self, message: &str) -> Value {
        let seen = self
            .seen
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["message"].as_str().is_some_and(|text| text.contains(message)));
        match seen {
            Some(entry) => entry,
            None => {
                self.wait_for_log(|entry| entry["message"].as_str().is_some_and(|text| text.contains(message))).await
            }
        }
    }
}

/// Without Keka credentials on an address other than loopback the binary refuses to start, naming what is missing;
/// it never binds the address.
#[tokio::test]
async fn without_credentials_the_binary_refuses_a_non_loopback_address_and_names_what_to_set() {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_keka-subgraph"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "0.0.0.0:0")
            .env("SANDBOX_EMPLOYEES", "5")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("it exits at once")
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for named in ["KEKA_COMPANY", "KEKA_CLIENT_ID", "KEKA_CLIENT_SECRET", "KEKA_API_KEY", "KEKA_SANDBOX=true"] {
        assert!(stderr.contains(named), "{stderr}");
    }
}

/// Whenever the sandbox serves, machines can tell: the startup log, `/readyz` and a header on every answer.
#[tokio::test]
async fn a_binary_serving_the_sandbox_says_so_in_its_log_readyz_and_every_answer() {
    let binary = Binary::start(&[]).await;
    let started =
        binary.seen.iter().any(|line| line.contains("\"data_source\":\"sandbox\"") && line.contains("SIMULATED"));
    assert!(started, "{}", binary.seen.join("\n"));
    let base = binary.graphql.trim_end_matches("/graphql").to_owned();
    let ready = binary.http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["x-keka-sandbox"], "simulated");
    assert!(ready.text().await.unwrap().contains("SIMULATED"));
    let answer = binary.http.post(&binary.graphql).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
    assert_eq!(answer.headers()["x-keka-sandbox"], "simulated");
    binary.stop().await;
}
