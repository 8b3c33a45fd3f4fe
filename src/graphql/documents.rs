//! GraphQL documents parsed once and reused, with the request limits async-graphql does not check itself.
//!
//! Clients send the same few documents over and over (a gateway's query plans, an app's queries), so the parsed
//! document is cached by its text: a hit skips the parser. The counts the limits need (tokens, aliases,
//! directives, `_entities` representations) are taken once per document, at parse time; tokens are counted before
//! the parser runs, so a flood of them costs a scan, not a parse. A document that does not parse is refused here,
//! coded by what the parser found, so no one has to read its message to know it is a parse error. Depth and
//! complexity are left to async-graphql's validation (see [`super::build_schema`]).

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Name, ServerError};
use async_graphql_value::Value;

use super::GraphLimits;
use super::entities::EntityScreen;
use super::error::code;

/// Documents above this size are parsed every time, not cached: the cache is for the repeated small ones.
const LARGEST_CACHED_DOCUMENT: usize = 16 * 1024;

pub struct DocumentCache {
    parsed: moka::sync::Cache<String, Arc<Parsed>>,
}

struct Parsed {
    document: ExecutableDocument,
    tokens: usize,
    aliases: usize,
    directives: usize,
    literal_representations: usize,
    /// Variables passed as an `_entities` field's `representations` (any name: gateways say `$representations`).
    representation_variables: Vec<Name>,
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

    /// Gives the request its parsed document (from the cache when possible), checks the token, alias, directive,
    /// representation and introspection limits, and screens `_entities` representations (see [`EntityScreen`]). A
    /// document that does not parse is refused with the parser's message (see [`unparsable`]) and not cached.
    pub fn prepare(&self, request: &mut async_graphql::Request, limits: &GraphLimits) -> Result<Prepared, ServerError> {
        let parsed = match self.parsed.get(request.query.as_str()) {
            Some(parsed) => parsed,
            None => {
                let tokens = count_tokens(&request.query, limits.max_tokens);
                if tokens > limits.max_tokens {
                    return Err(limit_error(
                        code::TOO_MANY_TOKENS,
                        format!("the document has more than {} tokens", limits.max_tokens),
                    ));
                }
                let document = async_graphql::parser::parse_query(&request.query).map_err(unparsable)?;
                let operation_name = match &document.operations {
                    DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                        operations.keys().next().map(|name| name.to_string())
                    }
                    _ => None,
                };
                let (literal_representations, representation_variables) = representations(&document);
                let parsed = Arc::new(Parsed {
                    tokens,
                    aliases: count_aliases(&document),
                    directives: count_directives(&document),
                    literal_representations,
                    representation_variables,
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
        within(code::TOO_MANY_TOKENS, "tokens", parsed.tokens, limits.max_tokens)?;
        within(code::TOO_MANY_ALIASES, "aliased fields", parsed.aliases, limits.max_aliases)?;
        within(code::TOO_MANY_DIRECTIVES, "directives", parsed.directives, limits.max_directives)?;
        let representations = parsed.literal_representations
            + parsed
                .representation_variables
                .iter()
                .map(|name| match request.variables.get(name) {
                    Some(async_graphql::Value::List(items)) => items.len(),
                    _ => 0,
                })
                .sum::<usize>();
        if representations > limits.max_representations {
            return Err(limit_error(
                code::TOO_MANY_REPRESENTATIONS,
                format!(
                    "`_entities` got {representations} representations; at most {} are allowed per request",
                    limits.max_representations
                ),
            ));
        }
        if parsed.asks_introspection && !limits.introspection {
            return Err(limit_error(
                code::INTROSPECTION_DISABLED,
                "introspection (`__schema`, `__type`) is switched off on this subgraph".to_owned(),
            ));
        }
        let mut document = parsed.document.clone();
        let entities = if parsed.literal_representations > 0 || !parsed.representation_variables.is_empty() {
            EntityScreen::screen(&mut document, &mut request.variables, request.operation_name.as_deref())
        } else {
            EntityScreen::default()
        };
        request.set_parsed_query(document);
        let is_mutation = super::entities::chosen_operation(&parsed.document, request.operation_name.as_deref())
            .is_some_and(|operation| operation.node.ty == OperationType::Mutation);
        let operation_name = request.operation_name.clone().or_else(|| parsed.operation_name.clone());
        Ok(Prepared { operation_name, is_mutation, entities })
    }
}

/// A request made ready for execution.
#[derive(Debug)]
pub struct Prepared {
    /// The operation's name: the request's, or else the document's only operation's.
    pub operation_name: Option<String>,
    /// Whether the operation that will run is a mutation (which a `GET` must not run).
    pub is_mutation: bool,
    /// The `_entities` representations taken out before execution, to be put back into the answer.
    pub entities: EntityScreen,
}

/// `count` of `what` in the document, refused with `code` past `max`.
fn within(code: &str, what: &str, count: usize, max: usize) -> Result<(), ServerError> {
    if count > max {
        return Err(limit_error(code, format!("the document has {count} {what}; at most {max} are allowed")));
    }
    Ok(())
}

fn limit_error(code: &str, message: String) -> ServerError {
    coded(ServerError::new(message, None), code)
}

/// The parser's refusal, with the message and locations async-graphql would have given it. Broken syntax (or nesting
/// past the parser's own limit) is a parse failure; a well-formed document that breaks one of GraphQL's document
/// rules (no operation, an anonymous operation beside others, a name defined twice) is a validation failure.
fn unparsable(error: async_graphql::parser::Error) -> ServerError {
    use async_graphql::parser::Error;
    let code = match &error {
        Error::MultipleOperations { .. }
        | Error::OperationDuplicated { .. }
        | Error::FragmentDuplicated { .. }
        | Error::MissingOperation => code::GRAPHQL_VALIDATION_FAILED,
        _ => code::GRAPHQL_PARSE_FAILED,
    };
    coded(ServerError::from(error), code)
}

fn coded(mut error: ServerError, code: &str) -> ServerError {
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

/// The `representations` of every `_entities` field in the document: how many are written into it as literal lists
/// (`_entities(representations: [...])`), and the variables that carry the others (any name: gateways say
/// `$representations`).
fn representations(document: &ExecutableDocument) -> (usize, Vec<Name>) {
    let mut literal = 0;
    let mut variables: Vec<Name> = Vec::new();
    for set in selection_sets(document) {
        visit_fields(set, &mut |field| {
            if field.name.node != "_entities" {
                return;
            }
            for (name, value) in &field.arguments {
                match &value.node {
                    _ if name.node != "representations" => {}
                    Value::List(items) => literal += items.len(),
                    Value::Variable(variable) if !variables.contains(variable) => variables.push(variable.clone()),
                    _ => {}
                }
            }
        });
    }
    (literal, variables)
}

/// Directives anywhere in the document: on operations, variables, fields, fragments and spreads.
fn count_directives(document: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => field.node.directives.len() + in_set(&field.node.selection_set.node),
                Selection::InlineFragment(fragment) => {
                    fragment.node.directives.len() + in_set(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => spread.node.directives.len(),
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| {
            let variables: usize =
                operation.node.variable_definitions.iter().map(|variable| variable.node.directives.len()).sum();
            operation.node.directives.len() + variables + in_set(&operation.node.selection_set.node)
        })
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| fragment.node.directives.len() + in_set(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

/// GraphQL's lexical tokens in `text` (punctuators, names, numbers, strings; not whitespace, commas or comments),
/// counted up to `limit + 1`: a scan that stops early, so a flood costs no more than the limit. Text that is not
/// GraphQL counts a token per unexpected character; the parser refuses it afterwards.
fn count_tokens(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let mut tokens = 0;
    let mut at = 0;
    while at < bytes.len() && tokens <= limit {
        match bytes[at] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => at += 1,
            // The byte-order mark is ignored like white space.
            0xEF if bytes[at..].starts_with("\u{feff}".as_bytes()) => at += 3,
            b'#' => {
                while at < bytes.len() && !matches!(bytes[at], b'\n' | b'\r') {
                    at += 1;
                }
            }
            b'"' => {
                tokens += 1;
                if bytes[at..].starts_with(b"\"\"\"") {
                    at += 3;
                    while at < bytes.len() && !bytes[at..].starts_with(b"\"\"\"") {
                        at += if bytes[at..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                    }
                    at += 3;
                } else {
                    at += 1;
                    while at < bytes.len() && !matches!(bytes[at], b'"' | b'\n' | b'\r') {
                        at += if bytes[at] == b'\\' { 2 } else { 1 };
                    }
                    at += 1;
                }
            }
            b'.' if bytes[at..].starts_with(b"...") => {
                tokens += 1;
                at += 3;
            }
            byte if byte == b'_' || byte.is_ascii_alphanumeric() || byte == b'-' => {
                // A name or a number (with its sign, fraction and exponent): one token.
                tokens += 1;
                at += 1;
                while at < bytes.len()
                    && (bytes[at] == b'_'
                        || bytes[at].is_ascii_alphanumeric()
                        || (bytes[at] == b'.' && !bytes[at..].starts_with(b"..."))
                        || (matches!(bytes[at], b'+' | b'-') && matches!(bytes[at - 1], b'e' | b'E')))
                {
                    at += 1;
                }
            }
            byte => {
                tokens += 1;
                // One token per character, not per byte, for text that is not GraphQL.
                at += 1;
                while at < bytes.len() && byte >= 0x80 && (bytes[at] & 0xC0) == 0x80 {
                    at += 1;
                }
            }
        }
    }
    tokens
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
    fn tokens_are_counted_as_graphql_lexes_them() {
        let cases = [
            ("{ a }", 3),
            ("query Q($x: Int = -1.5e+3) { a(x: $x) @include(if: true) }", 26),
            (r#"{ a(s: "x \" { } y", b: """ one "" \""" two """) }"#, 11),
            ("# { a b c }\n{ a, b,, c }", 5),
            ("\u{feff}{ ...F }", 4),
            ("{ é }", 3),
        ];
        for (text, tokens) in cases {
            assert_eq!(count_tokens(text, usize::MAX), tokens, "{text}");
        }
        assert_eq!(count_tokens(&"a ".repeat(10_000), 99), 100, "the scan stops past the limit");
    }

    #[test]
    fn refuses_too_many_tokens_and_directives_with_their_codes() {
        let cache = DocumentCache::new(10);
        let flood = format!("{{ __typename {} }}", "@include(if: true) ".repeat(2000));
        let mut request = async_graphql::Request::new(flood.clone());
        let error = cache.prepare(&mut request, &GraphLimits { max_tokens: usize::MAX, ..GraphLimits::default() });
        let error = error.unwrap_err();
        assert_eq!(code_of(&error), "\"TOO_MANY_DIRECTIVES\"");
        assert_eq!(error.message, "the document has 2000 directives; at most 50 are allowed");
        let mut request = async_graphql::Request::new(flood);
        assert_eq!(code_of(&cache.prepare(&mut request, &GraphLimits::default()).unwrap_err()), "\"TOO_MANY_TOKENS\"");

        let document = async_graphql::parser::parse_query(
            "query Q($v: Int @d) @d { a @d { ... on X @d { b @d } ...F @d } } fragment F on X @d { c @d }",
        )
        .unwrap();
        assert_eq!(count_directives(&document), 8);
        // A cached document is held to the limits of each request.
        let text = "{ a @skip(if: false) b @skip(if: false) }";
        let mut request = async_graphql::Request::new(text);
        assert!(cache.prepare(&mut request, &GraphLimits::default()).is_ok());
        let mut request = async_graphql::Request::new(text);
        let strict = GraphLimits { max_directives: 1, ..GraphLimits::default() };
        assert_eq!(code_of(&cache.prepare(&mut request, &strict).unwrap_err()), "\"TOO_MANY_DIRECTIVES\"");
        let mut request = async_graphql::Request::new(text);
        let strict = GraphLimits { max_tokens: 10, ..GraphLimits::default() };
        assert_eq!(code_of(&cache.prepare(&mut request, &strict).unwrap_err()), "\"TOO_MANY_TOKENS\"");
    }

    #[test]
    fn representations_in_variables_of_any_name_count_for_the_limit() {
        let cache = DocumentCache::new(10);
        let limits = GraphLimits { max_representations: 2, ..GraphLimits::default() };
        let variables = async_graphql::Variables::from_json(serde_json::json!({"r": [1, 2], "s": [3]}));
        let mut request = async_graphql::Request::new(
            "query($r: [_Any!]!, $s: [_Any!]!) { a: _entities(representations: $r) { __typename } b: _entities(representations: $s) { __typename } }",
        )
        .variables(variables);
        let error = cache.prepare(&mut request, &limits).unwrap_err();
        assert_eq!(code_of(&error), "\"TOO_MANY_REPRESENTATIONS\"");
        assert!(error.message.contains("got 3 representations"), "{}", error.message);
    }

    #[test]
    fn a_cached_document_is_reused_and_a_broken_one_is_refused_uncached() {
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
        let error = cache.prepare(&mut broken, &limits).unwrap_err();
        assert_eq!(code_of(&error), "\"GRAPHQL_PARSE_FAILED\"");
        cache.parsed.run_pending_tasks();
        assert_eq!(cache.parsed.entry_count(), 1);
    }

    #[test]
    fn the_parsers_refusals_are_coded_by_what_it_found_with_its_own_message() {
        let cache = DocumentCache::new(10);
        let cases = [
            ("{ employees(", "\"GRAPHQL_PARSE_FAILED\""),
            ("query { a } }", "\"GRAPHQL_PARSE_FAILED\""),
            ("{ a } query Q { b }", "\"GRAPHQL_VALIDATION_FAILED\""),
            ("query Q { a } query Q { b }", "\"GRAPHQL_VALIDATION_FAILED\""),
            ("{ ...F } fragment F on Query { a } fragment F on Query { b }", "\"GRAPHQL_VALIDATION_FAILED\""),
            ("fragment F on Query { a }", "\"GRAPHQL_VALIDATION_FAILED\""),
        ];
        for (text, expected) in cases {
            let mut request = async_graphql::Request::new(text);
            let error = cache.prepare(&mut request, &GraphLimits::default()).unwrap_err();
            assert_eq!(code_of(&error), expected, "{text}");
            let parser = ServerError::from(async_graphql::parser::parse_query(text).unwrap_err());
            assert_eq!((&error.message, &error.locations), (&parser.message, &parser.locations), "{text}");
        }
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
        fn any_text_is_prepared_or_refused_and_broken_text_is_refused_with_the_parsers_message(
            text in prop_oneof![any::<String>(), token_soup()],
        ) {
            let mut request = async_graphql::Request::new(text.clone());
            let prepared = cache().prepare(&mut request, &limits(3, 3));
            if let Err(parser) = async_graphql::parser::parse_query(&text) {
                prop_assert_eq!(prepared.unwrap_err().message, parser.to_string());
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
            prop_assert_eq!(super::representations(&document).0, representations, "{}", text);

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
        // The token limit refuses it before the parser sees it...
        let mut request = async_graphql::Request::new(text.clone());
        let error = cache.prepare(&mut request, &GraphLimits::default()).unwrap_err();
        assert!(error.message.contains("more than 5000 tokens"), "{}", error.message);
        // ...and without that limit the parser refuses it without overflowing its stack.
        let mut request = async_graphql::Request::new(text);
        let limits = GraphLimits { max_tokens: usize::MAX, ..GraphLimits::default() };
        let error = cache.prepare(&mut request, &limits).unwrap_err();
        let code = error.extensions.as_ref().and_then(|extensions| extensions.get("code")).map(ToString::to_string);
        assert_eq!(code.as_deref(), Some("\"GRAPHQL_PARSE_FAILED\""), "{}", error.message);
    }
}
