//! Federation proven with Apollo's own tooling: our subgraph composed (by `@apollo/composition`)
//! with two Node subgraphs and queried through `@apollo/gateway`, both ways round. The Node
//! side lives in `tests/federation/` (installed with `npm ci`, which `scripts/test` runs).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use keka_subgraph::graphql::{AccessDirectives, schema_sdl};
use keka_subgraph::keka::{EmployeeFilter, KekaClient, PageRequest};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/federation")
}

/// Fails (never skips) with what to install when Node or the harness's packages are missing.
fn require_node() {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|output| output.status.success()),
        "the federation tests need Node.js 20+ and npm on PATH (e.g. `apt-get install nodejs npm`), then `npm ci` in tests/federation"
    );
    assert!(
        harness_dir().join("node_modules/@apollo/gateway").is_dir(),
        "the federation harness is not installed: run `npm ci` in tests/federation (scripts/test does it)"
    );
}

struct Gateway {
    child: Child,
    gateway: String,
    control: String,
    http: reqwest::Client,
}

impl Gateway {
    async fn start(app: &TestApp) -> Self {
        require_node();
        let mut child = Command::new("node")
            .arg(harness_dir().join("harness.mjs"))
            .env("KEKA_SUBGRAPH_URL", format!("http://{}/graphql", app.address))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(90), async {
            while let Some(line) = lines.next_line().await.expect("harness output") {
                if let Some(json) = line.strip_prefix("READY ") {
                    return serde_json::from_str::<Value>(json).expect("READY carries JSON");
                }
            }
            panic!("the federation harness exited before it was ready (see its stderr above)");
        })
        .await
        .expect("the federation harness is ready within 90 s");
        Self {
            child,
            gateway: ready["gateway"].as_str().unwrap().to_owned(),
            control: ready["control"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn query(&self, query: &str) -> Value {
        let response = self.http.post(&self.gateway).json(&json!({ "query": query })).send().await.unwrap();
        response.json().await.unwrap()
    }

    async fn fetches(&self) -> Vec<Value> {
        self.http.get(format!("{}/fetches", self.control)).send().await.unwrap().json().await.unwrap()
    }

    async fn reset_fetches(&self) {
        self.http.post(format!("{}/fetches/reset", self.control)).send().await.unwrap();
    }

    /// Closing stdin asks the harness to stop its servers and exit.
    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let exited = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        if !matches!(exited, Ok(Ok(status)) if status.success()) {
            let _ = self.child.kill().await;
            panic!("the federation harness did not stop cleanly: {exited:?}");
        }
    }
}

fn entity_fetches<'a>(fetches: &'a [Value], subgraph: &str) -> Vec<&'a Value> {
    fetches.iter().filter(|fetch| fetch["subgraph"] == subgraph && fetch["isEntities"] == json!(true)).collect()
}

#[tokio::test]
async fn a_real_gateway_joins_our_employees_with_other_subgraphs_both_ways() {
    let app = spawn_app(300).await;
    let gateway = Gateway::start(&app).await;

    // From our root into the other subgraphs' fields.
    gateway.reset_fetches().await;
    let outward = gateway
        .query("{ employees(first: 50) { nodes { id displayName devices { serial } account { login status } } } }")
        .await;
    let fetches = gateway.fetches().await;
    assert!(outward.get("errors").is_none(), "{outward}");
    let nodes = outward["data"]["employees"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 50);
    assert!(
        nodes
            .iter()
            .all(|node| !node["devices"].as_array().unwrap().is_empty() && node["account"]["login"].is_string())
    );
    for subgraph in ["assets", "directory"] {
        let batches = entity_fetches(&fetches, subgraph);
        assert_eq!(batches.len(), 1, "{subgraph}: {fetches:?}");
        assert_eq!(batches[0]["representations"], 50);
    }

    // From the assets root into ours, by id: one `_entities` fetch with every owner.
    let client = KekaClient::new(app.sandbox_keka.clone()).unwrap();
    let page = client.employees_page(&EmployeeFilter::default(), PageRequest::new(1, 200)).await.unwrap().items;
    let on_page: HashSet<&str> = page.iter().map(|employee| employee.id.as_str()).collect();
    let outside_managers: HashSet<&str> = page[..60]
        .iter()
        .filter_map(|employee| employee.reports_to.as_ref())
        .map(|manager| manager.id.as_str())
        .filter(|id| !on_page.contains(id))
        .collect();
    app.reset_keka_stats().await;
    gateway.reset_fetches().await;
    let devices = gateway
        .query("{ devices { serial owner { displayName jobTitle manager { displayName } office { name } } } }")
        .await;
    let fetches = gateway.fetches().await;
    assert!(devices.get("errors").is_none(), "{devices}");
    let devices = devices["data"]["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 60);
    assert!(
        devices
            .iter()
            .all(|device| device["owner"]["displayName"].is_string() && device["owner"]["office"]["name"].is_string())
    );
    let ours = entity_fetches(&fetches, "keka");
    assert_eq!(ours.len(), 1, "{fetches:?}");
    assert_eq!(ours[0]["representations"], 60);
    // The owners were cached when the harness listed them; managers beyond page 1 come in one batch per 50.
    let stats = app.keka_stats().await;
    assert_eq!(stats.count("/api/v1/hris/employees"), outside_managers.len().div_ceil(50) as u64, "{stats:?}");

    // From the directory root into ours, by email: one `_entities` fetch, answered from one org snapshot.
    app.reset_keka_stats().await;
    gateway.reset_fetches().await;
    let accounts = gateway.query("{ accounts { login employee { displayName department { name } } } }").await;
    let fetches = gateway.fetches().await;
    assert!(accounts.get("errors").is_none(), "{accounts}");
    let accounts = accounts["data"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 60);
    assert!(accounts.iter().all(|account| account["employee"]["department"]["name"].is_string()), "{accounts:?}");
    let ours = entity_fetches(&fetches, "keka");
    assert_eq!(ours.len(), 1, "{fetches:?}");
    assert_eq!(ours[0]["representations"], 60);
    // 300 people at 200 per page: page 1 is cached, the snapshot needs only page 2.
    assert_eq!(app.keka_stats().await.count("/api/v1/hris/employees"), 1);

    gateway.stop().await;
    app.stop().await;
}

/// The supergraph composes with our `Mutation`, and the gateway routes `requestTimeoff` to us, joining its answer
/// with the other subgraphs' fields like any query's.
#[tokio::test]
async fn a_real_gateway_composes_our_mutation_and_routes_a_time_off_request() {
    let app = spawn_app_with(40, |settings| settings.allow_unauthenticated_writes = true).await;
    let target = crate::writes::targets(&app, 2.0).await.remove(0);
    let gateway = Gateway::start(&app).await;
    gateway.reset_fetches().await;
    let answer = gateway
        .query(&format!(
            r#"mutation {{ requestTimeoff(input: {{ employeeId: "{}", leaveTypeId: "{}", from: "2027-05-04",
                to: "2027-05-05", idempotencyKey: "through-the-gateway" }}) {{
                id status employee {{ id devices {{ serial }} }} }} }}"#,
            target.id, target.leave_type
        ))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let created = &answer["data"]["requestTimeoff"];
    assert_eq!((&created["status"], &created["employee"]["id"]), (&json!("PENDING"), &json!(target.id)));
    assert!(created["id"].is_string() && created["employee"]["devices"].is_array(), "{answer}");
    let fetches = gateway.fetches().await;
    assert_eq!(entity_fetches(&fetches, "assets").len(), 1, "{fetches:?}");
    gateway.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn another_subgraph_reaches_keeper_accounts_by_key() {
    let app = spawn_app(120).await;
    let gateway = Gateway::start(&app).await;
    app.reset_keeper_stats().await;
    gateway.reset_fetches().await;
    let answer =
        gateway.query("{ vaultItems { name sharedWith { id userName status employee { displayName } } } }").await;
    let fetches = gateway.fetches().await;
    let items = answer["data"]["vaultItems"].as_array().unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(items.len(), 4);
    let shared: Vec<&Value> = items.iter().flat_map(|item| item["sharedWith"].as_array().unwrap()).collect();
    assert_eq!(shared.len(), 20);
    assert!(shared.iter().all(|account| account["userName"].is_string() && account["status"].is_string()));
    assert!(shared.iter().any(|account| account["employee"]["displayName"].is_string()), "{answer}");
    // An address two accounts share is reported, never guessed: that is the only error allowed here.
    for error in answer["errors"].as_array().into_iter().flatten() {
        assert_eq!(error["extensions"]["code"], "AMBIGUOUS_DIRECTORY_MATCH", "{error}");
    }
    let ours = entity_fetches(&fetches, "keka");
    assert_eq!(ours.len(), 1, "{fetches:?}");
    assert_eq!(ours[0]["representations"], 20);
    // The harness listed the accounts moments ago: the directory snapshot is warm.
    assert_eq!(app.keeper_stats().await.api_requests(), 0);

    gateway.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_sdl_with_access_control_markers_still_composes() {
    require_node();
    for directives in [AccessDirectives::RequiresScopes, AccessDirectives::Authenticated] {
        let sdl_file =
            std::env::temp_dir().join(format!("keka-subgraph-sdl-{}-{directives:?}.graphql", std::process::id()));
        std::fs::write(&sdl_file, schema_sdl(directives)).unwrap();
        // The Node subgraphs need our employees at startup, so run them against a small live subgraph.
        let app = spawn_app(70).await;
        let output = Command::new("node")
            .arg(harness_dir().join("harness.mjs"))
            .env("KEKA_SUBGRAPH_URL", format!("http://{}/graphql", app.address))
            .env("COMPOSE_ONLY", "1")
            .env("EXTRA_SDL_FILE", &sdl_file)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output =
            tokio::time::timeout(Duration::from_secs(90), output).await.expect("composition finishes").unwrap();
        let _ = std::fs::remove_file(&sdl_file);
        app.stop().await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|line| line.strip_prefix("COMPOSED "))
            .unwrap_or_else(|| panic!("no COMPOSED line: {stdout}"));
        let composed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(composed["errors"], json!([]), "{directives:?}: {composed}");
        assert!(output.status.success());
        let supergraph = composed["supergraph"].as_str().unwrap();
        assert!(supergraph.contains("requiresScopes") || supergraph.contains("authenticated"), "{directives:?}");
    }
}
