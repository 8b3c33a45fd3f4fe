//! Shared test scaffolding: client configurations pointed at wiremock or at the sandbox.

use std::time::Duration;

use keka_sandbox::RunningSandbox;
use keka_subgraph::keka::{KekaConfig, KekaCredentials};
use secrecy::SecretString;
use url::Url;
use wiremock::MockServer;

pub(crate) const CLIENT_ID: &str = "test-client-id";
pub(crate) const CLIENT_SECRET: &str = "test-client-secret-value";
pub(crate) const API_KEY: &str = "test-api-key-value";

/// A client configuration for a wiremock Keka: real limits, but back-offs short enough for tests.
pub(crate) fn wiremock_config(server: &MockServer) -> KekaConfig {
    let base = Url::parse(&format!("{}/api/v1", server.uri())).unwrap();
    let token = Url::parse(&format!("{}/connect/token", server.uri())).unwrap();
    let credentials = KekaCredentials {
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        api_key: SecretString::from(API_KEY),
    };
    let mut config = KekaConfig::new(base, token, credentials);
    config.backoff_base = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(5);
    config.request_timeout = Duration::from_secs(10);
    config
}

/// A client configuration for a running sandbox, with the sandbox's own credentials.
pub(crate) fn sandbox_config(sandbox: &RunningSandbox) -> KekaConfig {
    let mut config = keka_subgraph::embedded_sandbox::keka_config_for(sandbox).unwrap();
    config.backoff_base = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(5);
    config
}

/// A valid token answer.
pub(crate) fn token_response(token: &str, expires_in: u64) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": "kekaapi"
    }))
}

/// A list envelope around `data`.
pub(crate) fn envelope(data: serde_json::Value, page: u32, total_pages: u32, total_records: u64) -> serde_json::Value {
    let next =
        (page < total_pages).then(|| format!("https://acme.keka.com/api/v1/x?pageNumber={}&pageSize=200", page + 1));
    serde_json::json!({
        "succeeded": true, "message": null, "errors": [], "data": data,
        "pageNumber": page, "pageSize": 200, "totalPages": total_pages, "totalRecords": total_records,
        "firstPage": "https://acme.keka.com/api/v1/x?pageNumber=1&pageSize=200",
        "lastPage": format!("https://acme.keka.com/api/v1/x?pageNumber={total_pages}&pageSize=200"),
        "nextPage": next, "previousPage": null
    })
}

pub(crate) fn employee_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "employeeNumber": format!("E-{id}"), "firstName": "Asha", "lastName": "Rao",
        "displayName": "Asha Rao", "email": format!("{id}@acme.example"), "employmentStatus": 0,
        "jobTitle": {"identifier": "jt-1", "title": "Engineer"}, "joiningDate": "2021-09-01T00:00:00",
        "reportsTo": null, "groups": []
    })
}

/// Redis calls in tests may take this long. The tests run in parallel on a loaded 2-core machine, where a call
/// slower than production's 250 ms is the machine's stall, not Redis failing; a killed Redis refuses connections
/// at once whatever this is.
pub(crate) const TEST_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The day the test sandboxes are generated for, so snapshots do not change with the calendar.
pub(crate) fn test_today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// Router authentication by the shared secret `r0uter-s3cret` in `router-authorization`, with the caller's scopes in
/// `x-auth-scopes` and email in `x-auth-email`.
pub(crate) fn shared_secret_auth() -> keka_subgraph::server::RouterAuth {
    keka_subgraph::server::RouterAuth::SharedSecret {
        header: "router-authorization".parse().unwrap(),
        secret: SecretString::from("r0uter-s3cret".to_owned()),
        scopes_header: "x-auth-scopes".parse().unwrap(),
        email_header: "x-auth-email".parse().unwrap(),
    }
}

/// A running subgraph over its own sandbox, on loopback ports chosen by the OS.
pub(crate) struct TestApp {
    pub(crate) address: std::net::SocketAddr,
    pub(crate) sandbox_address: std::net::SocketAddr,
    /// How the subgraph reaches its sandbox: tests use it to read Keka directly, past the subgraph's caches.
    pub(crate) sandbox_keka: KekaConfig,
    pub(crate) http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the subgraph against a fresh sandbox of `employees` people (no rate limit, pinned date).
pub(crate) async fn spawn_app(employees: usize) -> TestApp {
    spawn_app_with(employees, |_| {}).await
}

pub(crate) async fn spawn_app_with(
    employees: usize,
    configure: impl FnOnce(&mut keka_subgraph::server::ServerSettings),
) -> TestApp {
    spawn_app_on(employees, |_| {}, configure).await
}

/// Like [`spawn_app_with`], with the sandbox's own settings adjustable too (rate limit, faults…).
pub(crate) async fn spawn_app_on(
    employees: usize,
    configure_sandbox: impl FnOnce(&mut keka_sandbox::SandboxConfig),
    configure: impl FnOnce(&mut keka_subgraph::server::ServerSettings),
) -> TestApp {
    let sandbox = start_sandbox(employees, configure_sandbox).await;
    let mut settings = test_settings(&sandbox);
    configure(&mut settings);
    serve(settings, sandbox.addr(), Some(sandbox)).await
}

/// A sandbox of `employees` people for the tests (no rate limit unless configured, pinned date).
pub(crate) async fn start_sandbox(
    employees: usize,
    configure_sandbox: impl FnOnce(&mut keka_sandbox::SandboxConfig),
) -> RunningSandbox {
    let mut config = keka_sandbox::SandboxConfig {
        employees,
        today: test_today(),
        rate_limit_per_minute: 0,
        ..keka_sandbox::SandboxConfig::default()
    };
    configure_sandbox(&mut config);
    RunningSandbox::start(config).await.expect("sandbox starts")
}

/// One replica of the subgraph against a sandbox it shares with others (and does not stop).
pub(crate) async fn spawn_replica(
    sandbox: &RunningSandbox,
    configure: impl FnOnce(&mut keka_subgraph::server::ServerSettings),
) -> TestApp {
    let mut settings = test_settings(sandbox);
    configure(&mut settings);
    serve(settings, sandbox.addr(), None).await
}

/// A replica in a tokio runtime of its own: [`KillableReplica::kill`] ends every task it started (a walk under way
/// included) and drops its connections at once, as a crash would.
pub(crate) struct KillableReplica {
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) address: std::net::SocketAddr,
}

impl KillableReplica {
    pub(crate) async fn spawn(
        sandbox: &RunningSandbox,
        configure: impl FnOnce(&mut keka_subgraph::server::ServerSettings),
    ) -> Self {
        let mut settings = test_settings(sandbox);
        configure(&mut settings);
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
        let application = runtime
            .spawn(async move { keka_subgraph::server::Application::build(settings).await })
            .await
            .expect("the build task runs")
            .expect("subgraph builds");
        let address = application.local_addr();
        runtime.spawn(application.run_until_stopped(std::future::pending()));
        Self { runtime: Some(runtime), address }
    }

    /// Shuts its runtime down at once (see `Drop`).
    pub(crate) fn kill(self) {
        drop(self);
    }
}

impl Drop for KillableReplica {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The subgraph's settings for a test against `sandbox`: loopback, pinned date, short back-offs.
fn test_settings(sandbox: &RunningSandbox) -> keka_subgraph::server::ServerSettings {
    use keka_subgraph::embedded_sandbox::keeper_config_for;
    use keka_subgraph::graphql::{GraphLimits, Today};
    use keka_subgraph::keka::CacheConfig;
    use keka_subgraph::server::ServerSettings;

    let keka = sandbox_config(sandbox);
    let mut keeper = keeper_config_for(sandbox).expect("the sandbox's Keeper node has a valid URL");
    keeper.backoff_base = Duration::from_millis(1);
    keeper.backoff_max = Duration::from_millis(5);
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: keka_subgraph::store::StoreConfig {
            call_timeout: TEST_CALL_TIMEOUT,
            ..keka_subgraph::store::StoreConfig::local(&keka)
        },
        keka,
        keeper: Some(keeper),
        cache: CacheConfig::default(),
        snapshot_grace: Duration::from_secs(600),
        stale_if_error: Duration::from_secs(3600),
        limits: GraphLimits::default(),
        today: Today::Fixed(test_today()),
        max_body_bytes: 64 * 1024,
        access_directives: Default::default(),
        max_concurrent_requests: 64,
        request_deadline: Duration::from_secs(25),
        graphiql: true,
        router_auth: Default::default(),
        // Off: counting tests see only the requests their queries make. Sync tests switch it on.
        sync: keka_subgraph::keka::SyncConfig::off(),
        webhooks: None,
        simulated: false,
        // Off, as for a real tenant: the write tests switch it on, or turn router authentication on.
        allow_unauthenticated_writes: false,
    }
}

/// Serves the subgraph on a task until [`TestApp::stop`] (or drop); `sandbox`, if given, stops with it.
async fn serve(
    settings: keka_subgraph::server::ServerSettings,
    sandbox_address: std::net::SocketAddr,
    sandbox: Option<RunningSandbox>,
) -> TestApp {
    let sandbox_keka = settings.keka.clone();
    let settings = keka_subgraph::server::ServerSettings { simulated: sandbox.is_some(), ..settings };
    let application = keka_subgraph::server::Application::build(settings).await.expect("subgraph builds");
    let address = application.local_addr();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        application
            .run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("subgraph runs");
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
    });
    TestApp {
        address,
        sandbox_address,
        sandbox_keka,
        http: reqwest::Client::new(),
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

impl TestApp {
    /// POSTs a query and returns the whole JSON response.
    pub(crate) async fn query(&self, query: &str) -> serde_json::Value {
        self.post(serde_json::json!({ "query": query })).await
    }

    /// POSTs a query and returns the response body as sent (keys in the server's order).
    pub(crate) async fn query_text(&self, query: &str) -> String {
        let response = self
            .http
            .post(format!("http://{}/graphql", self.address))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .expect("subgraph answers");
        response.text().await.expect("a body")
    }

    pub(crate) async fn post(&self, body: serde_json::Value) -> serde_json::Value {
        let response = self
            .http
            .post(format!("http://{}/graphql", self.address))
            .json(&body)
            .send()
            .await
            .expect("subgraph answers");
        response.json().await.expect("a JSON answer")
    }

    /// The sandbox's request counters.
    pub(crate) async fn keka_stats(&self) -> keka_sandbox::SandboxStats {
        let url = format!("http://{}/__sandbox/stats", self.sandbox_address);
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    pub(crate) async fn keeper_stats(&self) -> keka_sandbox::KeeperStats {
        let url = format!("http://{}/__sandbox/keeper/stats", self.sandbox_address);
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    pub(crate) async fn reset_keeper_stats(&self) {
        let url = format!("http://{}/__sandbox/keeper/stats/reset", self.sandbox_address);
        assert!(self.http.post(url).send().await.unwrap().status().is_success());
    }

    pub(crate) async fn set_keeper_faults(&self, faults: serde_json::Value) {
        let url = format!("http://{}/__sandbox/keeper/faults", self.sandbox_address);
        assert!(self.http.put(url).json(&faults).send().await.unwrap().status().is_success());
    }

    pub(crate) async fn reset_keka_stats(&self) {
        let url = format!("http://{}/__sandbox/stats/reset", self.sandbox_address);
        assert!(self.http.post(url).send().await.unwrap().status().is_success());
    }

    pub(crate) async fn set_keka_faults(&self, faults: serde_json::Value) {
        let url = format!("http://{}/__sandbox/faults", self.sandbox_address);
        assert!(self.http.put(url).json(&faults).send().await.unwrap().status().is_success());
    }

    /// Stops the subgraph (and its sandbox) and waits until both are down.
    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("subgraph stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A test that panicked before `stop()` still stops its servers.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The `extensions.code` of every error in a GraphQL answer, in order.
pub(crate) fn codes(answer: &serde_json::Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|error| error["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
        .collect()
}
