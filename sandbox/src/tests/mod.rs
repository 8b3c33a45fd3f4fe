//! Tests of the sandbox as a whole: generated data invariants (`tenant`), the HTTP
//! surface through real loopback requests (`http`), the Keeper SCIM node (`keeper`), HR
//! changes over time with their webhooks (`changes`), and leave requested through the API
//! (`leave_requests`).
//! Every server a test starts is shut down by that test; nothing sleeps.

mod changes;
mod http;
mod keeper;
mod leave_requests;
mod tenant;

use chrono::NaiveDate;
use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use super::{RunningSandbox, SandboxConfig};

/// A fixed "today" (a Monday) so the data does not change with the calendar.
/// How many managers stand between employee `i` and the root, asserting the chain has no cycle.
pub(super) fn steps_to_root(t: &super::tenant::Tenant, i: usize) -> usize {
    let mut steps = 0;
    let mut cur = i;
    while let Some(m) = t.employees[cur].reports_to {
        assert_ne!(m, cur);
        cur = m;
        steps += 1;
        assert!(steps <= t.employees.len(), "cycle above employee {i}");
    }
    steps
}

pub(super) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 16).expect("valid date")
}

/// Test defaults: pinned date, no rate limit.
pub(super) fn config() -> SandboxConfig {
    SandboxConfig { today: today(), rate_limit_per_minute: 0, ..SandboxConfig::default() }
}

/// A running sandbox plus an HTTP client holding a valid token.
pub(super) struct Harness {
    pub(super) sandbox: RunningSandbox,
    pub(super) client: reqwest::Client,
    pub(super) token: String,
}

impl Harness {
    pub(super) async fn start(config: SandboxConfig) -> Harness {
        let sandbox = RunningSandbox::start(config).await.expect("sandbox starts");
        // Never route loopback traffic through a proxy from the environment.
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        let token = fetch_token(&client, &sandbox).await;
        Harness { sandbox, client, token }
    }

    /// Origin of the sandbox, e.g. `http://127.0.0.1:1234`.
    pub(super) fn origin(&self) -> String {
        format!("http://{}", self.sandbox.addr())
    }

    /// Authorised GET of a path such as `/api/v1/hris/employees?pageSize=5`.
    pub(super) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.origin()))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .send()
            .await
            .expect("request sent")
    }

    /// Authorised GET, returning status and JSON body.
    pub(super) async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// Follows `nextPage` links from `path`, collecting all `data` items.
    pub(super) async fn get_all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(format!("{}{path}", self.origin()));
        while let Some(url) = next {
            let body: Value = self
                .client
                .get(&url)
                .header(AUTHORIZATION, format!("Bearer {}", self.token))
                .send()
                .await
                .expect("request sent")
                .json()
                .await
                .expect("JSON body");
            items.extend(body["data"].as_array().expect("data array").iter().cloned());
            next = body["nextPage"].as_str().map(str::to_owned);
        }
        items
    }

    pub(super) async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// Sends a token request with the sandbox's own credentials.
pub(super) async fn request_token(client: &reqwest::Client, sandbox: &RunningSandbox) -> reqwest::Response {
    let c = sandbox.credentials();
    client
        .post(sandbox.token_url())
        .form(&[
            ("grant_type", "kekaapi"),
            ("scope", "kekaapi"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("api_key", c.api_key.as_str()),
        ])
        .send()
        .await
        .expect("token request sent")
}

/// Gets a token with the sandbox's own credentials.
pub(super) async fn fetch_token(client: &reqwest::Client, sandbox: &RunningSandbox) -> String {
    let response = request_token(client, sandbox).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"].as_str().expect("access_token").to_owned()
}
