//! GraphQL errors: one mapping from the layers below to `extensions.code`.
//!
//! Codes follow Apollo's conventions (`BAD_USER_INPUT`, `INTERNAL_SERVER_ERROR`) plus our
//! `UPSTREAM_*` family for Keka's failures. Details of upstream failures are logged here and
//! never shown: the client sees a stable code and a plain sentence.

use async_graphql::{Error, ErrorExtensions};

use crate::keeper::KeeperError;
use crate::keka::KekaError;
use crate::upstream::RequestContext;

/// The `extensions.code` values this subgraph emits.
pub mod code {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const UPSTREAM_RATE_LIMITED: &str = "UPSTREAM_RATE_LIMITED";
    pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
    pub const UPSTREAM_UNAUTHORIZED: &str = "UPSTREAM_UNAUTHORIZED";
    pub const UPSTREAM_FORBIDDEN: &str = "UPSTREAM_FORBIDDEN";
    pub const UPSTREAM_BAD_RESPONSE: &str = "UPSTREAM_BAD_RESPONSE";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const DIRECTORY_NOT_CONFIGURED: &str = "DIRECTORY_NOT_CONFIGURED";
    pub const DIRECTORY_UNAUTHORIZED: &str = "DIRECTORY_UNAUTHORIZED";
    pub const AMBIGUOUS_DIRECTORY_MATCH: &str = "AMBIGUOUS_DIRECTORY_MATCH";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// A webhook whose body is not a Keka event.
    pub const BAD_WEBHOOK: &str = "BAD_WEBHOOK";
}

/// An error the caller can fix: bad arguments, cursors, page sizes.
pub fn bad_user_input(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code::BAD_USER_INPUT))
}

/// A thing asked for by id that does not exist (used where `null` is not an option).
pub fn not_found(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code::NOT_FOUND))
}

/// The coded error the client sees; the upstream's own error is logged (at WARN the first time a request meets
/// this kind of failure, then at DEBUG: a page whose hundred fields fail alike logs one warning).
fn upstream_error(upstream: &str, code: &'static str, message: &str, error: &dyn std::fmt::Display) -> Error {
    if RequestContext::first_failure_of(code) {
        tracing::warn!(code, error = %error, "{upstream} call failed");
    } else {
        tracing::debug!(code, error = %error, "{upstream} call failed");
    }
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code))
}

/// Maps a Keka failure to a coded GraphQL error, logging what the client is not shown.
pub fn from_keka(error: &KekaError) -> Error {
    let (code, message) = match error {
        KekaError::RateLimited { .. } | KekaError::RateLimitDeadline { .. } => {
            (code::UPSTREAM_RATE_LIMITED, "Keka's request budget is exhausted for now; try again in a minute")
        }
        KekaError::Unauthorized { .. } => (code::UPSTREAM_UNAUTHORIZED, "Keka refused this subgraph's credentials"),
        KekaError::Forbidden { .. } => {
            (code::UPSTREAM_FORBIDDEN, "this subgraph's Keka API key has no access to that data")
        }
        KekaError::NotFound { .. } => (code::NOT_FOUND, "Keka has no such record"),
        KekaError::Decode { .. } => {
            (code::UPSTREAM_BAD_RESPONSE, "Keka answered something this subgraph could not read")
        }
        KekaError::Upstream { status, .. } if *status < 500 => {
            (code::UPSTREAM_BAD_RESPONSE, "Keka refused the request this subgraph made")
        }
        KekaError::Upstream { .. } | KekaError::Transport { .. } => {
            (code::UPSTREAM_UNAVAILABLE, "Keka is unavailable right now")
        }
        KekaError::InvalidRequest(_) => (code::INTERNAL_SERVER_ERROR, "this subgraph built an invalid Keka request"),
    };
    upstream_error("Keka", code, message, error)
}

/// Maps a Keeper failure to a coded GraphQL error, logging what the client is not shown.
pub fn from_keeper(error: &KeeperError) -> Error {
    let (code, message) = match error {
        KeeperError::Unauthorized => (
            code::DIRECTORY_UNAUTHORIZED,
            "Keeper refused this subgraph's SCIM token (wrong, rotated, or another node)",
        ),
        KeeperError::NotFound => (code::NOT_FOUND, "Keeper has no such node or record"),
        KeeperError::RateLimited | KeeperError::RateLimitDeadline { .. } => {
            (code::UPSTREAM_RATE_LIMITED, "Keeper's request budget is exhausted for now; try again shortly")
        }
        KeeperError::Decode { .. } | KeeperError::Inconsistent { .. } | KeeperError::Scim { .. } => {
            (code::UPSTREAM_BAD_RESPONSE, "Keeper answered something this subgraph could not use")
        }
        KeeperError::Timeout | KeeperError::Unavailable { .. } => {
            (code::UPSTREAM_UNAVAILABLE, "Keeper is unavailable right now")
        }
        KeeperError::Config(_) => (code::INTERNAL_SERVER_ERROR, "the Keeper directory is misconfigured"),
    };
    upstream_error("Keeper", code, message, error)
}

/// The directory fields' answer when no Keeper node is configured.
pub fn directory_not_configured() -> Error {
    Error::new("no Keeper directory is configured for this subgraph (KEEPER_TOKEN and a node)")
        .extend_with(|_, extensions| extensions.set("code", code::DIRECTORY_NOT_CONFIGURED))
}

/// Puts `null` where a field failed. async-graphql 7.2 leaves a failed field out of its object (and turns an
/// object whose every field failed into `null`); GraphQL says the field is `null` and the error names its path.
/// An error's path runs through objects that were being resolved, so a `null` met on the way is such an emptied
/// object, never a legitimate one.
pub fn put_nulls_at_error_paths(data: &mut async_graphql::Value, errors: &[async_graphql::ServerError]) {
    for error in errors {
        if !error.path.is_empty() {
            null_at(data, &error.path);
        }
    }
}

fn null_at(at: &mut async_graphql::Value, path: &[async_graphql::PathSegment]) {
    use async_graphql::{Name, PathSegment, Value};
    let Some((segment, rest)) = path.split_first() else { return };
    match segment {
        PathSegment::Field(name) => {
            if matches!(at, Value::Null) {
                *at = Value::Object(Default::default());
            }
            let Value::Object(object) = at else { return };
            let field = object.entry(Name::new(name)).or_insert(Value::Null);
            null_at(field, rest);
        }
        PathSegment::Index(index) => {
            if let Value::List(items) = at
                && let Some(item) = items.get_mut(*index)
            {
                null_at(item, rest);
            }
        }
    }
}

/// Lets resolvers write `keka_call().await.map_err(graphql_error)?`.
pub fn graphql_error(error: KekaError) -> Error {
    from_keka(&error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: &Error) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|value| value.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn failed_fields_become_null_at_their_paths() {
        use async_graphql::{PathSegment, ServerError, value};
        let error = |path: Vec<PathSegment>| {
            let mut error = ServerError::new("failed", None);
            error.path = path;
            error
        };
        let field = |name: &str| PathSegment::Field(name.to_owned());
        // Node 0 kept its name, node 1 lost every selected field (async-graphql made it null).
        let mut data = value!({ "employees": { "nodes": [ { "displayName": "A" }, null ] } });
        let errors = [
            error(vec![field("employees"), field("nodes"), PathSegment::Index(0), field("directoryAccount")]),
            error(vec![field("employees"), field("nodes"), PathSegment::Index(1), field("directoryAccount")]),
            error(vec![field("accessReview")]),
            error(vec![]),
        ];
        put_nulls_at_error_paths(&mut data, &errors);
        assert_eq!(
            data,
            value!({
                "employees": { "nodes": [ { "displayName": "A", "directoryAccount": null }, { "directoryAccount": null } ] },
                "accessReview": null,
            })
        );
    }

    #[test]
    fn every_keka_failure_has_a_code_and_hides_details() {
        let cases = [
            (KekaError::RateLimited { endpoint: "/x".to_owned(), retry_after: None }, code::UPSTREAM_RATE_LIMITED),
            (KekaError::Unauthorized { reason: "invalid_client secret=abc".to_owned() }, code::UPSTREAM_UNAUTHORIZED),
            (KekaError::Forbidden { endpoint: "/hire/jobs".to_owned() }, code::UPSTREAM_FORBIDDEN),
            (
                KekaError::Upstream {
                    endpoint: "/x".to_owned(),
                    status: 503,
                    errors: vec!["db down at 10.0.0.1".to_owned()],
                },
                code::UPSTREAM_UNAVAILABLE,
            ),
            (
                KekaError::Upstream { endpoint: "/x".to_owned(), status: 400, errors: vec![] },
                code::UPSTREAM_BAD_RESPONSE,
            ),
            (
                KekaError::Transport { endpoint: "/x".to_owned(), message: "reset".to_owned(), timed_out: false },
                code::UPSTREAM_UNAVAILABLE,
            ),
            (
                KekaError::Decode { endpoint: "/x".to_owned(), path: "data[0].id".to_owned(), message: "m".to_owned() },
                code::UPSTREAM_BAD_RESPONSE,
            ),
        ];
        for (error, expected) in cases {
            let mapped = from_keka(&error);
            assert_eq!(code_of(&mapped), format!("\"{expected}\""), "{error:?}");
            assert!(!mapped.message.contains("secret") && !mapped.message.contains("10.0.0.1"), "{}", mapped.message);
        }
    }
}
