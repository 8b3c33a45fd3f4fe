//! GraphQL errors: one mapping from the layers below to `extensions.code`.
//!
//! Codes follow Apollo's conventions (`BAD_USER_INPUT`, `INTERNAL_SERVER_ERROR`) plus our
//! `UPSTREAM_*` family for Keka's failures. Details of upstream failures are logged here and
//! never shown: the client sees a stable code and a plain sentence.

use async_graphql::{Error, ErrorExtensions};

use crate::keeper::KeeperError;
use crate::keka::KekaError;
use crate::upstream::RequestContext;

/// The `extensions.code` values this subgraph emits, and the only place they are spelled (a test keeps string
/// literals out of the rest of `src/`, and README's table in step with this list). The sandbox, a simulated Keka,
/// keeps its own.
pub mod code {
    /// Bad arguments, cursors or page sizes, or an `_entities` representation no entity can take.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// A record asked for by id does not exist, where the field cannot be `null`.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Keka's or Keeper's request budget is spent for now.
    pub const UPSTREAM_RATE_LIMITED: &str = "UPSTREAM_RATE_LIMITED";
    /// Keka or Keeper is down, timed out or answered 5xx.
    pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
    /// Keka refused this subgraph's credentials.
    pub const UPSTREAM_UNAUTHORIZED: &str = "UPSTREAM_UNAUTHORIZED";
    /// This subgraph's Keka API key has no access to the data asked for.
    pub const UPSTREAM_FORBIDDEN: &str = "UPSTREAM_FORBIDDEN";
    /// Keka or Keeper answered something this subgraph could not read or use, or refused a request it made.
    pub const UPSTREAM_BAD_RESPONSE: &str = "UPSTREAM_BAD_RESPONSE";
    /// An error nothing else coded (a bug), an upstream request this subgraph built wrongly, or a misconfigured
    /// Keeper directory.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// A field guarded by a scope the caller does not hold (router authentication on), or a write the caller may
    /// not make (no `write:timeoff`, someone else's time off without `write:timeoff:any`, or writes switched off).
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// A write whose `idempotencyKey` another request is using right now.
    pub const CONFLICT: &str = "CONFLICT";
    /// A write with an `idempotencyKey` while Redis, where the fleet remembers keys, is unreachable.
    pub const SHARED_STATE_UNAVAILABLE: &str = "SHARED_STATE_UNAVAILABLE";
    /// A directory field asked of a subgraph with no Keeper node configured.
    pub const DIRECTORY_NOT_CONFIGURED: &str = "DIRECTORY_NOT_CONFIGURED";
    /// Keeper refused this subgraph's SCIM token.
    pub const DIRECTORY_UNAUTHORIZED: &str = "DIRECTORY_UNAUTHORIZED";
    /// An email held by several directory accounts or employees (never guessed).
    pub const AMBIGUOUS_DIRECTORY_MATCH: &str = "AMBIGUOUS_DIRECTORY_MATCH";
    /// HTTP 401: a request without the router's authentication, or a webhook without its secret.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// HTTP 400: a webhook whose body is not a Keka event.
    pub const BAD_WEBHOOK: &str = "BAD_WEBHOOK";
    /// A document the parser refuses (broken syntax, or nested past the parser's own limit).
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// A document that parses but breaks GraphQL's rules or the schema (also variables of the wrong type).
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// A selection nested deeper than `MAX_DEPTH`.
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// A document with more fields than `MAX_COMPLEXITY`.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// A document with more lexical tokens than `MAX_TOKENS`.
    pub const TOO_MANY_TOKENS: &str = "TOO_MANY_TOKENS";
    /// A document with more aliased fields than `MAX_ALIASES`.
    pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
    /// A document with more directives than `MAX_DIRECTIVES`.
    pub const TOO_MANY_DIRECTIVES: &str = "TOO_MANY_DIRECTIVES";
    /// A request with more `_entities` representations than `MAX_REPRESENTATIONS`.
    pub const TOO_MANY_REPRESENTATIONS: &str = "TOO_MANY_REPRESENTATIONS";
    /// `__schema` or `__type` asked of a subgraph running with `INTROSPECTION=false`.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// HTTP 400: not a GraphQL request (unreadable, no `query`, or a `POST` body not declared `application/json`).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// HTTP 413: a request body over `MAX_BODY_BYTES`.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// HTTP 406: the `Accept` header allows neither JSON media type.
    pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
    /// HTTP 405: a mutation sent with `GET`.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// HTTP 503: more than `MAX_CONCURRENT_REQUESTS` requests in flight.
    pub const SERVICE_OVERLOADED: &str = "SERVICE_OVERLOADED";
    /// HTTP 504: a request overran its deadline and was cut off.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
}

/// An error the client sees with `message` and `extensions.code` (one of [`code`]).
pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code))
}

/// An error the caller can fix: bad arguments, cursors, page sizes.
pub fn bad_user_input(message: impl Into<String>) -> Error {
    coded(code::BAD_USER_INPUT, message)
}

/// A thing asked for by id that does not exist (used where `null` is not an option).
pub fn not_found(message: impl Into<String>) -> Error {
    coded(code::NOT_FOUND, message)
}

/// The coded error the client sees; the upstream's own error is logged (at WARN the first time a request meets
/// this kind of failure, then at DEBUG: a page whose hundred fields fail alike logs one warning).
fn upstream_error(upstream: &str, code: &'static str, message: &str, error: &dyn std::fmt::Display) -> Error {
    if RequestContext::first_failure_of(code) {
        tracing::warn!(code, error = %error, "{upstream} call failed");
    } else {
        tracing::debug!(code, error = %error, "{upstream} call failed");
    }
    coded(code, message)
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
        KekaError::Unconfirmed { .. } => {
            (code::UPSTREAM_UNAVAILABLE, "Keka did not confirm the write; it may or may not have been applied")
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
    coded(
        code::DIRECTORY_NOT_CONFIGURED,
        "no Keeper directory is configured for this subgraph (KEEPER_TOKEN and a node)",
    )
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

    /// `(name, value)` of each `pub const NAME: &str = "VALUE";` in `mod code`, read from this file.
    fn spelled_codes() -> Vec<(String, String)> {
        let source = include_str!("error.rs");
        let module = &source[source.find("pub mod code {").unwrap()..];
        let module = &module[..module.find("\n}").unwrap()];
        let definition = |line: &str| {
            let (name, value) = line.trim().strip_prefix("pub const ")?.split_once(": &str = ")?;
            Some((name.to_owned(), value.strip_suffix(';')?.trim_matches('"').to_owned()))
        };
        module.lines().filter_map(definition).collect()
    }

    fn rust_files(directory: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }

    #[test]
    fn each_code_is_spelled_as_its_constant_is_named() {
        let codes = spelled_codes();
        assert!(codes.len() >= 29, "`mod code` was not read: {codes:?}");
        for (name, value) in codes {
            assert_eq!(name, value);
        }
    }

    /// A code written as a literal could drift from `mod code` and from README's table; this keeps them here.
    #[test]
    fn no_code_is_written_as_a_string_literal_outside_the_code_module() {
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&source, &mut files);
        let codes = spelled_codes();
        let mut literals = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&source).unwrap();
            // The sandbox (a simulated Keka) keeps its own wire strings; `upstream` sits below `graphql` and cannot
            // use its constants.
            if relative.starts_with("sandbox") || relative.starts_with("upstream") {
                continue;
            }
            for (number, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
                let definition =
                    codes.iter().any(|(_, value)| line.trim() == format!("pub const {value}: &str = \"{value}\";"));
                let literal = codes.iter().any(|(_, value)| line.contains(&format!("\"{value}\"")))
                    || line.contains("\"code\", \"")
                    || line.contains("\"code\": \"");
                if literal && !definition {
                    literals.push(format!("src/{}:{}: {}", relative.display(), number + 1, line.trim()));
                }
            }
        }
        assert!(
            literals.is_empty(),
            "write these codes as `code::NAME` (add one to `mod code` if new):\n{}",
            literals.join("\n")
        );
    }

    #[test]
    fn readmes_table_of_error_codes_lists_exactly_the_codes_of_the_code_module() {
        let readme = include_str!("../../README.md");
        let table = &readme[readme.find("Errors carry `extensions.code`:").expect("README's table of codes")..];
        // The first column's upper-case words in backticks, in the rows of the table under that sentence.
        let listed: std::collections::BTreeSet<&str> = table
            .lines()
            .skip(1)
            .skip_while(|line| line.trim().is_empty())
            .take_while(|line| line.starts_with('|'))
            .filter_map(|row| row.split('|').nth(1))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            .filter(|word| word.bytes().all(|byte| byte.is_ascii_uppercase() || byte == b'_'))
            .collect();
        let codes = spelled_codes();
        let defined: std::collections::BTreeSet<&str> = codes.iter().map(|(_, value)| value.as_str()).collect();
        assert_eq!(listed, defined, "README.md's table of error codes and `mod code` differ");
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
