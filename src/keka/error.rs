//! The one error type of the Keka layer. Cheap to clone (strings only) so DataLoaders can share it.

use std::time::Duration;

/// A failed call to Keka, sorted by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KekaError {
    /// Keka refused the access token even after one refresh, or the token endpoint refused the credentials.
    #[error("Keka rejected the credentials: {reason}")]
    Unauthorized { reason: String },
    /// The API key has no scope for this module (e.g. a Core HR key calling Hire).
    #[error("the Keka API key has no access to {endpoint}")]
    Forbidden { endpoint: String },
    /// The resource does not exist in Keka.
    #[error("{endpoint} was not found in Keka")]
    NotFound { endpoint: String },
    /// Keka answered 429 and retrying would wait longer than allowed.
    #[error("Keka's rate limit was exceeded on {endpoint}")]
    RateLimited { endpoint: String, retry_after: Option<Duration> },
    /// The client's own limiter had no slot within the allowed wait: the budget is spent for now.
    #[error("no Keka request slot within {max_wait:?} (next slot in {wait:?})")]
    RateLimitDeadline { wait: Duration, max_wait: Duration },
    /// Keka answered an error status; `errors` are Keka's own messages (its `message` is usually generic).
    #[error("Keka answered {status} on {endpoint}{}", describe_errors(errors))]
    Upstream { endpoint: String, status: u16, errors: Vec<String> },
    /// No answer: connection refused or reset, DNS, TLS, or a timeout.
    #[error("could not reach Keka for {endpoint}: {message}")]
    Transport { endpoint: String, message: String, timed_out: bool },
    /// A write whose fate is unknown: it reached Keka (or may have) and no answer says whether Keka applied it
    /// (a timeout, a broken answer, a 5xx). Never retried blindly.
    #[error("Keka did not confirm the write to {endpoint}: {reason}")]
    Unconfirmed { endpoint: String, reason: String },
    /// Keka answered something we could not read.
    #[error("could not decode Keka's answer to {endpoint} at `{path}`: {message}")]
    Decode { endpoint: String, path: String, message: String },
    /// The call was malformed before it was sent (e.g. a date window with `from` after `to`).
    #[error("invalid Keka request: {0}")]
    InvalidRequest(String),
}

fn describe_errors(errors: &[String]) -> String {
    if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
}

impl KekaError {
    /// True for failures that say "Keka is unwell or unreachable" rather than "this request is wrong".
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Decode { .. } | Self::Unconfirmed { .. } => true,
            Self::Upstream { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl From<crate::upstream::DeadlinePassed> for KekaError {
    fn from(_: crate::upstream::DeadlinePassed) -> Self {
        Self::Transport {
            endpoint: "(shared call)".to_owned(),
            message: "the request's deadline passed while it waited for a call it shares".to_owned(),
            timed_out: true,
        }
    }
}
