//! The one error type of the Keeper layer, and the lenient reading of SCIM error bodies. Cheap to clone (strings
//! only). No variant ever holds the token.

use std::time::Duration;

/// A failed call to Keeper's SCIM endpoint, sorted by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeeperError {
    /// 401: the token is wrong, rotated, or belongs to another node or data centre. A configuration error; never
    /// retried.
    #[error(
        "Keeper refused the SCIM token (401): it is wrong or rotated, or it belongs to another node or data centre"
    )]
    Unauthorized,
    /// 404 on a list or a single read: no such resource, or (on a list) no such node at this data centre.
    #[error("Keeper answered 404 Not Found (for a list: check the node id and the data centre)")]
    NotFound,
    /// Any other error status below 500: Keeper's SCIM error body, read leniently. The HTTP status is the truth.
    #[error("Keeper answered {status}{}{}", describe("scimType", scim_type), describe("detail", detail))]
    Scim { status: u16, scim_type: Option<String>, detail: Option<String> },
    /// 429 on every attempt, or a `Retry-After` longer than the client may wait.
    #[error("Keeper's rate limit was exceeded")]
    RateLimited,
    /// The client's own limiter had no slot within the allowed wait: the node's budget is spent for now.
    #[error("no Keeper request slot within {max_wait:?} (next slot in {wait:?})")]
    RateLimitDeadline { wait: Duration, max_wait: Duration },
    /// No answer within the request timeout, on every attempt.
    #[error("Keeper did not answer in time")]
    Timeout,
    /// 5xx, or a connection that failed or broke off, after the retries.
    #[error(
        "Keeper is unavailable on {endpoint}{}{}",
        status.map(|status| format!(" ({status})")).unwrap_or_default(),
        describe("detail", detail)
    )]
    Unavailable { endpoint: String, status: Option<u16>, detail: Option<String> },
    /// A successful answer we could not read; `path` is the JSON path that failed.
    #[error("could not decode Keeper's answer to {endpoint} at `{path}`: {message}")]
    Decode { endpoint: String, path: String, message: String },
    /// A list walk that does not add up: pages that repeat, a `totalResults` that keeps moving, or more pages than
    /// `totalResults` allows. A partial directory is worse than none, so the walk fails instead.
    #[error("Keeper's listing of {endpoint} is inconsistent: {detail}")]
    Inconsistent { endpoint: String, detail: String },
    /// The client is misconfigured (node id, base URL, page size).
    #[error("Keeper configuration error: {0}")]
    Config(String),
}

fn describe(label: &str, value: &Option<String>) -> String {
    value.as_deref().map(|value| format!(" ({label}: {value})")).unwrap_or_default()
}

impl KeeperError {
    /// True for failures that say "Keeper is unwell or unreachable" rather than "this request or configuration is
    /// wrong".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Unavailable { .. } | Self::Decode { .. } | Self::Inconsistent { .. })
    }
}

/// The most of an error body kept as text.
const MAX_TEXT: usize = 300;

/// What a SCIM error body (RFC 7644 §3.12) says, read leniently: `status` as a string or a number, unknown fields
/// ignored, and a body that is not SCIM JSON kept as (truncated) text in `detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    /// The `status` member, when it is a number or a string of digits.
    pub(crate) status: Option<u16>,
    pub(crate) scim_type: Option<String>,
    pub(crate) detail: Option<String>,
}

impl ErrorBody {
    pub(crate) fn parse(body: &[u8]) -> Self {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(body) {
            let text = |name: &str| match fields.get(name) {
                Some(serde_json::Value::String(value)) if !value.trim().is_empty() => Some(truncate(value.trim())),
                Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Some(value.to_string()),
                _ => None,
            };
            let status = match fields.get("status") {
                Some(serde_json::Value::Number(number)) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
                Some(serde_json::Value::String(value)) => value.trim().parse().ok(),
                _ => None,
            };
            // Not SCIM, but common: `{"error": "...", "message": "..."}`.
            let detail = text("detail").or_else(|| text("message")).or_else(|| text("error"));
            return Self { status, scim_type: text("scimType"), detail };
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        Self { detail: (!text.is_empty()).then(|| truncate(text)), ..Self::default() }
    }
}

/// At most [`MAX_TEXT`] characters, cut on a character boundary, with an ellipsis when cut.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl From<crate::upstream::DeadlinePassed> for KeeperError {
    fn from(_: crate::upstream::DeadlinePassed) -> Self {
        Self::Timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scim_error_with_status_as_a_string() {
        let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400",
            "scimType":"invalidFilter","detail":"Unsupported filter"}"#;
        assert_eq!(
            ErrorBody::parse(body),
            ErrorBody {
                status: Some(400),
                scim_type: Some("invalidFilter".to_owned()),
                detail: Some("Unsupported filter".to_owned())
            }
        );
    }

    #[test]
    fn a_scim_error_with_status_as_a_number_and_unknown_fields() {
        let body = br#"{"status":409,"detail":"taken","extra":{"nested":true}}"#;
        assert_eq!(
            ErrorBody::parse(body),
            ErrorBody { status: Some(409), scim_type: None, detail: Some("taken".to_owned()) }
        );
    }

    #[test]
    fn a_garbage_status_is_ignored_not_fatal() {
        for body in [&br#"{"status":"four hundred","detail":"x"}"#[..], br#"{"status":{"code":1},"detail":"x"}"#] {
            let parsed = ErrorBody::parse(body);
            assert_eq!(parsed.status, None);
            assert_eq!(parsed.detail.as_deref(), Some("x"));
        }
        assert_eq!(ErrorBody::parse(br#"{"status":99999}"#).status, None);
    }

    #[test]
    fn a_non_json_body_is_kept_as_truncated_text() {
        let parsed = ErrorBody::parse(b"<html><body>Bad Gateway</body></html>");
        assert_eq!(parsed.status, None);
        assert_eq!(parsed.detail.as_deref(), Some("<html><body>Bad Gateway</body></html>"));

        let long = "é".repeat(1000);
        let detail = ErrorBody::parse(long.as_bytes()).detail.unwrap();
        assert_eq!(detail.chars().count(), MAX_TEXT + 1);
        assert!(detail.ends_with('…'));

        assert_eq!(ErrorBody::parse(b"").detail, None);
        assert_eq!(ErrorBody::parse(b"  \n").detail, None);
        assert_eq!(ErrorBody::parse(b"[1,2]").detail.as_deref(), Some("[1,2]"));
    }

    #[test]
    fn a_non_scim_json_error_keeps_its_message() {
        let parsed = ErrorBody::parse(br#"{"error":"invalid_token","message":"Token expired"}"#);
        assert_eq!(parsed.detail.as_deref(), Some("Token expired"));
    }

    #[test]
    fn messages_name_the_scim_type_and_detail() {
        let error = KeeperError::Scim {
            status: 400,
            scim_type: Some("invalidFilter".to_owned()),
            detail: Some("Unsupported filter".to_owned()),
        };
        assert_eq!(error.to_string(), "Keeper answered 400 (scimType: invalidFilter) (detail: Unsupported filter)");
        let error = KeeperError::Unavailable { endpoint: "/Users".to_owned(), status: Some(503), detail: None };
        assert_eq!(error.to_string(), "Keeper is unavailable on /Users (503)");
    }
}
