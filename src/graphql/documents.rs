//! GraphQL documents parsed once and reused, with the request limits async-graphql does not check itself.
//!
//! Clients send the same few documents over and over (a gateway's query plans, an app's queries), so the parsed
//! document is cached by its text: a hit skips the parser. The counts the limits need (aliases, literal `_entities`
//! representations) are taken once per document, at parse time. Depth and complexity are left to async-graphql's
//! validation (see [`super::build_schema`]).

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError};
use async_graphql_value::Value;

use super::GraphLimits;

/// Documents above this size are parsed every time, not cached: the cache is for the repeated small ones.
const LARGEST_CACHED_DOCUMENT: usize = 16 * 1024;

pub struct DocumentCache {
    parsed: moka::sync::Cache<String, Arc<Parsed>>,
}

struct Parsed {
    document: ExecutableDocument,
    aliases: usize,
    literal_representations: usize,
    asks_introspection: bool,
    /// The name of the document's only operation, if it has one and it is named.
    operation_name: Option<String>,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache").field("entries", &self.parsed.entry_count()).finish()
    }
}

impl DocumentCache {
    pub fn new(capacity: u64) -> Self {
        Self { parsed: moka::sync::Cache::new(capacity) }
    }

    /// Gives the request its parsed document (from the cache when possible) and checks the alias, representation
    /// and introspection limits. A document that does not parse is left alone: execution reports the parse error.
    /// Returns the operation's name: the request's, or else the document's only operation's.
    pub fn prepare(
        &self,
        request: &mut async_graphql::Request,
        limits: &GraphLimits,
    ) -> Result<Option<String>, ServerError> {
        let parsed = match self.parsed.get(request.query.as_str()) {
            Some(parsed) => parsed,
            None => {
                let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
                    return Ok(request.operation_name.clone());
                };
                let operation_name = match &document.operations {
                    DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                        operations.keys().next().map(|name| name.to_string())
                    }
                    _ => None,
                };
                let parsed = Arc::new(Parsed {
                    aliases: count_aliases(&document),
                    literal_representations: count_literal_representations(&document),
                    asks_introspection: asks_introspection(&document),
                    operation_name,
                    document,
                });
                if request.query.len() <= LARGEST_CACHED_DOCUMENT {
                    self.parsed.insert(request.query.clone(), parsed.clone());
                }
                parsed
            }
        };
        if parsed.aliases > limits.max_aliases {
            return Err(limit_error(
                "TOO_MANY_ALIASES",
                format!(
                    "the document has {} aliased fields; at most {} are allowed",
                    parsed.aliases, limits.max_aliases
                ),
            ));
        }
        let representations = parsed.literal_representations.max(representations_in_variables(&request.variables));
        if representations > limits.max_representations {
            return Err(limit_error(
                "TOO_MANY_REPRESENTATIONS",
                format!(
                    "`_entities` got {representations} representations; at most {} are allowed per request",
                    limits.max_representations
                ),
            ));
        }
        if parsed.asks_introspection && !limits.introspection {
            return Err(limit_error(
                "INTROSPECTION_DISABLED",
                "introspection (`__schema`, `__type`) is switched off on this subgraph".to_owned(),
            ));
        }
        request.set_parsed_query(parsed.document.clone());
        Ok(request.operation_name.clone().or_else(|| parsed.operation_name.clone()))
    }
}

fn limit_error(code: &str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    error
}

fn selection_sets(document: &ExecutableDocument) -> impl Iterator<Item = &SelectionSet> {
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
        DocumentOperations::Multiple(operations) => {
            operations.values().map(|operation| &operation.node.selection_set.node).collect()
        }
    };
    operations.into_iter().chain(document.fragments.values().map(|fragment| &fragment.node.selection_set.node))
}

/// Every field in a selection set, nested ones included (fragment spreads are counted where they are defined).
fn visit_fields<'a>(set: &'a SelectionSet, visit: &mut impl FnMut(&'a async_graphql::parser::types::Field)) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                visit(&field.node);
                visit_fields(&field.node.selection_set.node, visit);
            }
            Selection::InlineFragment(fragment) => visit_fields(&fragment.node.selection_set.node, visit),
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn asks_introspection(document: &ExecutableDocument) -> bool {
    let mut asks = false;
    for set in selection_sets(document) {
        visit_fields(set, &mut |field| asks |= matches!(field.name.node.as_str(), "__schema" | "__type"));
    }
    asks
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    let mut aliases = 0;
    for set in selection_sets(document) {
        visit_fields(set, &mut |field| aliases += usize::from(field.alias.is_some()));
    }
    aliases
}

/// Representations written into the document itself (`_entities(representations: [...])`); gateways send them as
/// variables instead.
fn count_literal_representations(document: &ExecutableDocument) -> usize {
    let mut count = 0;
    for set in selection_sets(document) {
        visit_fields(set, &mut |field| {
            if field.name.node == "_entities" {
                for (name, value) in &field.arguments {
                    if name.node == "representations"
                        && let Value::List(items) = &value.node
                    {
                        count += items.len();
                    }
                }
            }
        });
    }
    count
}

/// The `$representations` variable, as every gateway names it.
fn representations_in_variables(variables: &async_graphql::Variables) -> usize {
    match variables.get(&async_graphql::Name::new("representations")) {
        Some(async_graphql::Value::List(items)) => items.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: &ServerError) -> String {
        error.extensions.as_ref().and_then(|extensions| extensions.get("code")).map(|code| code.to_string()).unwrap()
    }

    #[test]
    fn counts_aliases_in_operations_inline_fragments_and_fragment_definitions() {
        let document = async_graphql::parser::parse_query(
            "query { a: employees { nodes { b: id ... on Employee { c: id } ...F } } } fragment F on Employee { d: id e: id }",
        )
        .unwrap();
        assert_eq!(count_aliases(&document), 5);
    }

    #[test]
    fn refuses_too_many_aliases_and_representations_with_their_codes() {
        let cache = DocumentCache::new(10);
        let limits = GraphLimits { max_aliases: 2, max_representations: 2, ..GraphLimits::default() };
        let mut request = async_graphql::Request::new("{ a: __typename b: __typename c: __typename }");
        assert_eq!(code_of(&cache.prepare(&mut request, &limits).unwrap_err()), "\"TOO_MANY_ALIASES\"");

        let literal = r#"{ _entities(representations: [{__typename: "Employee", id: "1"}, {__typename: "Employee", id: "2"}, {__typename: "Employee", id: "3"}]) { __typename } }"#;
        let mut request = async_graphql::Request::new(literal);
        assert_eq!(code_of(&cache.prepare(&mut request, &limits).unwrap_err()), "\"TOO_MANY_REPRESENTATIONS\"");

        let variables = async_graphql::Variables::from_json(serde_json::json!({"representations": [1, 2, 3]}));
        let mut request = async_graphql::Request::new(
            "query($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }",
        )
        .variables(variables);
        assert_eq!(code_of(&cache.prepare(&mut request, &limits).unwrap_err()), "\"TOO_MANY_REPRESENTATIONS\"");
    }

    #[test]
    fn a_cached_document_is_reused_and_a_broken_one_is_left_to_execution() {
        let cache = DocumentCache::new(10);
        let limits = GraphLimits::default();
        for _ in 0..3 {
            let mut request = async_graphql::Request::new("{ __typename }");
            cache.prepare(&mut request, &limits).unwrap();
            assert!(request.parsed_query().is_ok());
        }
        cache.parsed.run_pending_tasks();
        assert_eq!(cache.parsed.entry_count(), 1);
        let mut broken = async_graphql::Request::new("{ employees(");
        cache.prepare(&mut broken, &limits).unwrap();
        assert!(broken.parsed_query().is_err());
    }
}
