//! `POST /webhooks/keka`: Keka's Event Trigger webhooks, each a nudge. A webhook is never trusted as data:
//! - an employee event (added, updated, exit approved…) makes the next delta round come sooner (debounced, so a burst
//!   of events costs one or two rounds), and the round asks Keka what changed;
//! - a leave event (requested, approved…) drops that person's windows of leave and attendance, here and at every
//!   replica, so the next look asks Keka ([`OrgSync::leave_changed`]).
//!
//! - Keka posts form fields (`employeeIndentifier`, sic, `eventType`, `subDomain`, and the event's own); JSON is
//!   accepted too.
//! - Authentication is a header the Keka admin configures with a shared secret, compared in constant time. The route
//!   exists only when a secret is configured; the secret is never logged.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;
use tower_http::limit::RequestBodyLimitLayer;

use crate::graphql::error::code;
use crate::keka::OrgSync;

/// Larger than any event Keka sends (a few form fields).
const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// Who may post webhooks.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The header carrying the secret (`X-Webhook-Secret` unless configured otherwise in Keka and here).
    pub header: HeaderName,
    pub secret: SecretString,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig").field("header", &self.header).field("secret", &"[redacted]").finish()
    }
}

#[derive(Clone)]
struct Webhooks {
    config: Arc<WebhookConfig>,
    sync: Arc<OrgSync>,
}

pub(super) fn routes<S>(config: WebhookConfig, sync: Arc<OrgSync>) -> Router<S> {
    Router::new()
        .route("/webhooks/keka", post(receive))
        .layer(RequestBodyLimitLayer::new(MAX_WEBHOOK_BYTES))
        .with_state(Webhooks { config: Arc::new(config), sync })
}

/// What an event says, as far as the subgraph cares.
#[derive(Debug, PartialEq, Eq)]
struct Event {
    kind: String,
    employee: Option<String>,
}

async fn receive(State(hooks): State<Webhooks>, headers: HeaderMap, body: Bytes) -> Response {
    let presented = headers.get(&hooks.config.header).map(|value| value.as_bytes()).unwrap_or_default();
    let expected = hooks.config.secret.expose_secret().as_bytes();
    if !bool::from(presented.ct_eq(expected)) {
        tracing::warn!(header = %hooks.config.header, "a webhook without the right secret was refused");
        return coded(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, "the webhook secret header is missing or wrong");
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    let Some(event) = parse(&body, json) else {
        return coded(
            StatusCode::BAD_REQUEST,
            code::BAD_WEBHOOK,
            "expected Keka's event fields (`eventType`, `employeeIndentifier`) as a form or JSON",
        );
    };
    if event.is_about_leave() {
        tracing::info!(event = %event.kind, employee = event.employee.as_deref().unwrap_or(""), "Keka webhook: dropping that person's leave windows");
        hooks.sync.leave_changed(event.employee.as_deref()).await;
        return accepted();
    }
    tracing::info!(event = %event.kind, employee = event.employee.as_deref().unwrap_or(""), "Keka webhook: syncing soon");
    if hooks.sync.config().is_on() {
        hooks.sync.nudge().await;
    } else {
        tracing::warn!("a Keka webhook arrived but syncing is off (SYNC_INTERVAL_SECS=0): ignored");
    }
    accepted()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "accepted": true }))).into_response()
}

impl Event {
    /// Leave requested, approved, rejected, cancelled…: Keka names its events in PascalCase (`LeaveRequested`);
    /// spaces, underscores and case are forgiven.
    fn is_about_leave(&self) -> bool {
        self.kind.to_ascii_lowercase().contains("leave")
    }
}

fn parse(body: &[u8], json: bool) -> Option<Event> {
    let fields: Vec<(String, String)> = if json {
        let serde_json::Value::Object(object) = serde_json::from_slice(body).ok()? else { return None };
        object
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => (name, text),
                other => (name, other.to_string()),
            })
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    };
    let field = |wanted: &[&str]| {
        fields
            .iter()
            .find(|(name, _)| wanted.iter().any(|wanted| name.eq_ignore_ascii_case(wanted)))
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let kind = field(&["eventType", "event"])?;
    Some(Event { kind, employee: field(&["employeeIndentifier", "employeeIdentifier", "employeeId"]) })
}

fn coded(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keka_form_fields_and_json_and_refuses_what_is_neither() {
        let form = b"employeeIndentifier=e-1&eventType=EmployeeUpdated&subDomain=acme";
        assert_eq!(
            parse(form, false),
            Some(Event { kind: "EmployeeUpdated".to_owned(), employee: Some("e-1".to_owned()) })
        );
        let json = br#"{"eventType": "EmployeeExitApproved", "employeeIdentifier": "e-2", "subDomain": "acme"}"#;
        assert_eq!(
            parse(json, true),
            Some(Event { kind: "EmployeeExitApproved".to_owned(), employee: Some("e-2".to_owned()) })
        );
        assert_eq!(parse(b"subDomain=acme", false), None);
        assert_eq!(parse(b"[1, 2]", true), None);
        assert_eq!(parse(b"not json", true), None);
    }
}
