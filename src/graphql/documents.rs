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

/// Properties: no query text makes `prepare` panic, and the limits count what generated documents hold.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A selection as written into a generated document; `_entities` carries literal representations.
    #[derive(Debug, Clone)]
    enum Node {
        Field { alias: Option<String>, name: String, children: Vec<Node> },
        Entities { alias: Option<String>, representations: usize },
        InlineFragment { children: Vec<Node> },
        Spread,
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-zA-Z0-9_]{0,6}".prop_filter("not a keyword", |name| {
            !matches!(name.as_str(), "on" | "true" | "false" | "null" | "fragment")
        })
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            4 => (prop::option::of(name()), name())
                .prop_map(|(alias, name)| Node::Field { alias, name, children: Vec::new() }),
            1 => (prop::option::of(name()), 0..5usize)
                .prop_map(|(alias, representations)| Node::Entities { alias, representations }),
            1 => Just(Node::Spread),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                3 => (prop::option::of(name()), name(), prop::collection::vec(inner.clone(), 1..6))
                    .prop_map(|(alias, name, children)| Node::Field { alias, name, children }),
                1 => prop::collection::vec(inner, 1..6).prop_map(|children| Node::InlineFragment { children }),
            ]
        })
    }

    fn write(nodes: &[Node], out: &mut String) {
        out.push_str("{ ");
        for node in nodes {
            match node {
                Node::Field { alias, name, children } => {
                    if let Some(alias) = alias {
                        out.push_str(&format!("{alias}: "));
                    }
                    out.push_str(name);
                    out.push(' ');
                    if !children.is_empty() {
                        write(children, out);
                    }
                }
                Node::Entities { alias, representations } => {
                    if let Some(alias) = alias {
                        out.push_str(&format!("{alias}: "));
                    }
                    let items: Vec<String> =
                        (0..*representations).map(|i| format!("{{__typename: \"Employee\", id: \"{i}\"}}")).collect();
                    out.push_str(&format!("_entities(representations: [{}]) {{ __typename }} ", items.join(", ")));
                }
                Node::InlineFragment { children } => {
                    out.push_str("... on Employee ");
                    write(children, out);
                }
                Node::Spread => out.push_str("...F "),
            }
        }
        out.push_str("} ");
    }

    /// (aliases, literal representations) of a tree.
    fn counts(nodes: &[Node]) -> (usize, usize) {
        nodes.iter().fold((0, 0), |(aliases, representations), node| {
            let (more_aliases, more_representations) = match node {
                Node::Field { alias, children, .. } => {
                    let (a, r) = counts(children);
                    (a + usize::from(alias.is_some()), r)
                }
                Node::Entities { alias, representations } => (usize::from(alias.is_some()), *representations),
                Node::InlineFragment { children } => counts(children),
                Node::Spread => (0, 0),
            };
            (aliases + more_aliases, representations + more_representations)
        })
    }

    /// A document of one or two operations and a fragment `F` (spreads may refer to it), with its true counts.
    fn document() -> impl Strategy<Value = (String, usize, usize)> {
        let set = || prop::collection::vec(node(), 1..6);
        (set(), prop::option::of(set()), set()).prop_map(|(query, second, fragment)| {
            let mut text = String::from("query One ");
            write(&query, &mut text);
            let mut total = counts(&query);
            if let Some(second) = &second {
                text.push_str("query Two ");
                write(second, &mut text);
                let (a, r) = counts(second);
                total = (total.0 + a, total.1 + r);
            }
            text.push_str("fragment F on Employee ");
            write(&fragment, &mut text);
            let (a, r) = counts(&fragment);
            (text, total.0 + a, total.1 + r)
        })
    }

    /// Text assembled from GraphQL's tokens: often almost a document, rarely a valid one.
    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ":",
            "...",
            "on",
            "query",
            "fragment",
            "F",
            "a",
            "b:",
            "$x",
            "@skip(if: true)",
            "\"s\"",
            "\"\"\"block\"\"\"",
            "1",
            "-1.5e9",
            "#c\n",
            ",",
            "_entities",
            "representations",
            "__typename",
            "=",
            "|",
            "&",
            "!",
            "\u{feff}",
            "é",
        ]);
        prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.join(" "))
    }

    /// One cache for every case: building a cache costs more than a case.
    fn cache() -> &'static DocumentCache {
        static CACHE: std::sync::LazyLock<DocumentCache> = std::sync::LazyLock::new(|| DocumentCache::new(64));
        &CACHE
    }

    fn limits(max_aliases: usize, max_representations: usize) -> GraphLimits {
        GraphLimits { max_aliases, max_representations, ..GraphLimits::default() }
    }

    proptest! {
        // Parsing dominates (the parser is unoptimised in debug builds): enough cases for the shapes, no more.
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_text_is_prepared_or_refused_and_broken_text_is_left_to_execution(
            text in prop_oneof![any::<String>(), token_soup()],
        ) {
            let mut request = async_graphql::Request::new(text.clone());
            let prepared = cache().prepare(&mut request, &limits(3, 3));
            if async_graphql::parser::parse_query(&text).is_err() {
                prop_assert!(prepared.is_ok());
                prop_assert!(request.parsed_query().is_err());
            } else if prepared.is_ok() {
                prop_assert!(request.parsed_query().is_ok());
            }
        }

        #[test]
        fn generated_documents_report_their_aliases_and_representations(
            (text, aliases, representations) in document(),
        ) {
            let document = async_graphql::parser::parse_query(&text).unwrap();
            prop_assert_eq!(count_aliases(&document), aliases, "{}", text);
            prop_assert_eq!(count_literal_representations(&document), representations, "{}", text);

            let cache = cache();
            // Twice: parsed (unless an earlier case had the same text), then from the cache.
            for _ in 0..2 {
                let mut request = async_graphql::Request::new(text.clone());
                prop_assert!(cache.prepare(&mut request, &limits(aliases, representations)).is_ok());
                prop_assert!(request.parsed_query().is_ok());
            }
            if aliases > 0 {
                let mut request = async_graphql::Request::new(text.clone());
                let error = cache.prepare(&mut request, &limits(aliases - 1, usize::MAX)).unwrap_err();
                prop_assert!(error.message.contains(&format!("has {aliases} aliased fields")), "{}", error.message);
            }
            if representations > 0 {
                let mut request = async_graphql::Request::new(text);
                let error = cache.prepare(&mut request, &limits(usize::MAX, representations - 1)).unwrap_err();
                let expected = format!("got {representations} representations");
                prop_assert!(error.message.contains(&expected), "{}", error.message);
            }
        }

        #[test]
        fn n_aliases_count_as_n(n in 0..120usize) {
            let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
            let text = format!("{{ __typename {} }}", fields.join(" "));
            let mut request = async_graphql::Request::new(text.clone());
            prop_assert!(cache().prepare(&mut request, &limits(n, 0)).is_ok());
            if n > 0 {
                let mut request = async_graphql::Request::new(text);
                let error = cache().prepare(&mut request, &limits(n - 1, 0)).unwrap_err();
                prop_assert!(error.message.contains(&format!("has {n} aliased fields")), "{}", error.message);
            }
        }
    }

    #[test]
    fn a_document_nested_as_deep_as_a_request_body_allows_is_refused_without_overflowing() {
        // 64 KiB of `{a` pairs: far past the parser's recursion limit.
        let depth = 16 * 1024;
        let text = format!("{}{}", "{a".repeat(depth), "}".repeat(depth));
        let cache = DocumentCache::new(4);
        let mut request = async_graphql::Request::new(text);
        assert!(cache.prepare(&mut request, &GraphLimits::default()).is_ok());
        assert!(request.parsed_query().is_err());
    }
}
