//! `_entities` representations screened before execution. async-graphql answers a representation no entity
//! resolver can take with a bare "Entity not found." that nulls the whole list, so the good positions are lost too.
//! Here each bad one (unknown `__typename`, no usable key field) is taken out of the list before execution and put
//! back afterwards as `null` at its own position, with a `BAD_USER_INPUT` error at `["_entities", i]` naming the
//! type or the key. This holds however the representations are bound: a variable of any name, or inline.

use std::collections::{BTreeMap, HashSet};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, PathSegment, Positioned, ServerError, Value, Variables};

use super::error::code;

/// Entity types of this subgraph and their `@key`s (each key is the list of its fields).
/// A unit test keeps this in step with the schema's `@key` directives.
pub(crate) const ENTITY_KEYS: &[(&str, &[&[&str]])] = &[
    ("Candidate", &[&["id"]]),
    ("DirectoryAccount", &[&["id"]]),
    ("Employee", &[&["id"], &["email"]]),
    ("Group", &[&["id"]]),
    ("GroupType", &[&["id"]]),
    ("Job", &[&["id"]]),
    ("Office", &[&["id"]]),
    ("TimeoffRequest", &[&["id"]]),
    ("TimeoffType", &[&["id"]]),
];

/// What screening took out of a request's `_entities` lists, to be put back into the answer.
#[derive(Debug, Default)]
pub struct EntityScreen {
    fields: Vec<Screened>,
}

/// One `_entities` field (by response key) that had bad representations.
#[derive(Debug)]
struct Screened {
    key: Name,
    positions: Positions,
}

/// Which positions of a list of representations are kept and which refused.
#[derive(Debug, Clone)]
struct Positions {
    /// The original positions of the representations kept, in order: the executed list's item `j` is
    /// the original item `kept[j]`.
    kept: Vec<usize>,
    /// The original positions taken out, with what is wrong with each.
    refused: Vec<(usize, String)>,
}

impl Positions {
    /// From each position's problem, if any.
    fn sort(problems: impl Iterator<Item = Option<String>>) -> Self {
        let mut positions = Self { kept: Vec::new(), refused: Vec::new() };
        for (index, problem) in problems.enumerate() {
            match problem {
                Some(problem) => positions.refused.push((index, problem)),
                None => positions.kept.push(index),
            }
        }
        positions
    }

    /// Leaves only the kept items of the list these positions were sorted from.
    fn keep<T>(&self, items: &mut Vec<T>) {
        let mut index = 0;
        items.retain(|_| {
            index += 1;
            self.kept.binary_search(&(index - 1)).is_ok()
        });
    }
}

impl EntityScreen {
    /// Takes the bad representations out of the `_entities` fields the request will execute (those of the chosen
    /// operation's root, directly or through inline fragments and fragment spreads), from the variables or from the
    /// document itself. A document that names no chosen operation is left alone: execution reports that.
    pub fn screen(
        document: &mut ExecutableDocument,
        variables: &mut Variables,
        operation_name: Option<&str>,
    ) -> EntityScreen {
        let Some(root_fragments) = chosen_operation(document, operation_name)
            .map(|operation| root_fragments(document, &operation.node.selection_set.node))
        else {
            return EntityScreen::default();
        };
        let mut screen = Screening { variables, screened_variables: BTreeMap::new(), fields: Vec::new() };
        if let Some(operation) = chosen_operation_mut(document, operation_name) {
            screen.selection_set(&mut operation.node.selection_set.node);
        }
        for name in root_fragments {
            if let Some(fragment) = document.fragments.get_mut(&name) {
                screen.selection_set(&mut fragment.node.selection_set.node);
            }
        }
        let mut seen = HashSet::new();
        let fields = screen.fields.into_iter().filter(|field| seen.insert(field.key.clone())).collect();
        EntityScreen { fields }
    }

    /// Puts the refused representations back into the answer: `null` at each one's position with its error, and the
    /// paths of the other positions' errors (counted in the list that ran) moved to their original positions.
    pub fn restore(&self, response: &mut async_graphql::Response) {
        let executed =
            matches!(response.data, Value::Object(_)) || response.errors.iter().any(|error| !error.path.is_empty());
        if self.fields.is_empty() || !executed {
            return;
        }
        for field in &self.fields {
            if let Value::Object(data) = &mut response.data
                && let Some(Value::List(items)) = data.get_mut(&field.key)
                && items.len() == field.positions.kept.len()
            {
                let mut ran = std::mem::take(items).into_iter();
                let total = field.positions.kept.len() + field.positions.refused.len();
                let mut refused = field.positions.refused.iter().map(|(index, _)| *index).peekable();
                *items = (0..total)
                    .map(|index| {
                        if refused.next_if_eq(&index).is_some() {
                            Value::Null
                        } else {
                            ran.next().unwrap_or(Value::Null)
                        }
                    })
                    .collect();
            }
            for error in &mut response.errors {
                if let [PathSegment::Field(key), PathSegment::Index(index), ..] = error.path.as_mut_slice()
                    && key.as_str() == field.key.as_str()
                    && let Some(original) = field.positions.kept.get(*index)
                {
                    *index = *original;
                }
            }
            for (index, problem) in &field.positions.refused {
                let mut error = ServerError::new(format!("representation {index}: {problem}"), None);
                error.path = vec![PathSegment::Field(field.key.to_string()), PathSegment::Index(*index)];
                error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code::BAD_USER_INPUT);
                response.errors.push(error);
            }
        }
    }

    /// How many representations were refused.
    pub fn refused(&self) -> usize {
        self.fields.iter().map(|field| field.positions.refused.len()).sum()
    }
}

struct Screening<'v> {
    variables: &'v mut Variables,
    /// Variables already screened (one may feed several fields): their kept and refused positions.
    screened_variables: BTreeMap<Name, Positions>,
    fields: Vec<Screened>,
}

impl Screening<'_> {
    fn selection_set(&mut self, set: &mut SelectionSet) {
        for selection in &mut set.items {
            match &mut selection.node {
                Selection::Field(field) if field.node.name.node == "_entities" => {
                    let key = field.node.response_key().node.clone();
                    let argument = field.node.arguments.iter_mut().find(|(name, _)| name.node == "representations");
                    if let Some((_, value)) = argument
                        && let Some(positions) = self.representations(&mut value.node)
                        && !positions.refused.is_empty()
                    {
                        self.fields.push(Screened { key, positions });
                    }
                }
                Selection::InlineFragment(fragment) => self.selection_set(&mut fragment.node.selection_set.node),
                Selection::Field(_) | Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// Screens one `representations` argument, filtering it in place; `None` when it is not a list (validation
    /// reports that).
    fn representations(&mut self, value: &mut async_graphql_value::Value) -> Option<Positions> {
        match value {
            async_graphql_value::Value::Variable(name) => {
                if let Some(positions) = self.screened_variables.get(name) {
                    return Some(positions.clone());
                }
                let Some(Value::List(items)) = self.variables.get_mut(name) else {
                    return None;
                };
                let positions = Positions::sort(items.iter().map(problem));
                positions.keep(items);
                self.screened_variables.insert(name.clone(), positions.clone());
                Some(positions)
            }
            async_graphql_value::Value::List(items) => {
                let variables = &*self.variables;
                let positions = Positions::sort(items.iter().map(|item| {
                    // An item may hold variables; one naming an undefined variable is left to validation.
                    let item = item.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(()));
                    item.ok().and_then(|item| problem(&item))
                }));
                positions.keep(items);
                Some(positions)
            }
            _ => None,
        }
    }
}

/// The operation that will run: the named one, or the document's only one.
pub(super) fn chosen_operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d Positioned<OperationDefinition>> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

fn chosen_operation_mut<'d>(
    document: &'d mut ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d mut Positioned<OperationDefinition>> {
    match (&mut document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get_mut(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values_mut().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The fragments spread at the root of an operation (through inline fragments and other root fragments too):
/// their `_entities` fields run as the root's own.
fn root_fragments(document: &ExecutableDocument, root: &SelectionSet) -> Vec<Name> {
    fn walk(document: &ExecutableDocument, set: &SelectionSet, found: &mut Vec<Name>) {
        for selection in &set.items {
            match &selection.node {
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if !found.contains(name)
                        && let Some(fragment) = document.fragments.get(name)
                    {
                        found.push(name.clone());
                        walk(document, &fragment.node.selection_set.node, found);
                    }
                }
                Selection::InlineFragment(fragment) => walk(document, &fragment.node.selection_set.node, found),
                Selection::Field(_) => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(document, root, &mut found);
    found
}

/// What is wrong with a representation, if anything: no entity resolver could take it.
fn problem(representation: &Value) -> Option<String> {
    let Value::Object(fields) = representation else {
        return Some("is not an object".to_owned());
    };
    let Some(Value::String(typename)) = fields.get("__typename") else {
        return Some("has no `__typename`".to_owned());
    };
    let Some((_, keys)) = ENTITY_KEYS.iter().find(|(name, _)| name == typename) else {
        return Some(format!("`{typename}` is not an entity of this subgraph"));
    };
    let usable = keys.iter().any(|key| key.iter().all(|field| matches!(fields.get(*field), Some(Value::String(_)))));
    if usable {
        return None;
    }
    let wanted: Vec<String> = keys.iter().map(|key| format!("`{}`", key.join(" "))).collect();
    Some(format!("`{typename}` needs a key field: {} (a string)", wanted.join(" or ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_table_matches_the_schema() {
        let sdl = crate::graphql::schema_sdl(crate::graphql::AccessDirectives::None);
        let mut from_sdl: Vec<(String, String)> = Vec::new();
        for line in sdl.lines().filter(|line| line.starts_with("type ")) {
            let name = line["type ".len()..].split_whitespace().next().unwrap_or_default().to_owned();
            for key in line.split("@key(fields: \"").skip(1) {
                from_sdl.push((name.clone(), key.split('"').next().unwrap_or_default().to_owned()));
            }
        }
        let mut from_table: Vec<(String, String)> = ENTITY_KEYS
            .iter()
            .flat_map(|(name, keys)| keys.iter().map(move |key| ((*name).to_owned(), key.join(" "))))
            .collect();
        from_sdl.sort();
        from_table.sort();
        assert_eq!(from_sdl, from_table);
    }

    fn screened(
        query: &str,
        variables: serde_json::Value,
        operation: Option<&str>,
    ) -> (EntityScreen, ExecutableDocument, Variables) {
        let mut document = async_graphql::parser::parse_query(query).unwrap();
        let mut variables = Variables::from_json(variables);
        let screen = EntityScreen::screen(&mut document, &mut variables, operation);
        (screen, document, variables)
    }

    fn messages(screen: &EntityScreen) -> Vec<String> {
        screen
            .fields
            .iter()
            .flat_map(|field| field.positions.refused.iter().map(|(index, problem)| format!("{index}: {problem}")))
            .collect()
    }

    #[test]
    fn bad_representations_are_taken_out_of_a_variable_of_any_name() {
        let (screen, _, variables) = screened(
            "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
            serde_json::json!({"r": [
                {"__typename": "Employee", "id": "e1"}, {"__typename": "Spaceship", "id": "x"}, {"__typename": "Employee"},
                {"id": "x"}, 7, {"__typename": "Employee", "id": 5}, {"__typename": "Office", "id": "o1"}
            ]}),
            None,
        );
        assert_eq!(
            messages(&screen),
            [
                "1: `Spaceship` is not an entity of this subgraph",
                "2: `Employee` needs a key field: `id` or `email` (a string)",
                "3: has no `__typename`",
                "4: is not an object",
                "5: `Employee` needs a key field: `id` or `email` (a string)",
            ]
        );
        let kept = variables.get(&Name::new("r")).unwrap().clone().into_json().unwrap();
        assert_eq!(
            kept,
            serde_json::json!([{"__typename": "Employee", "id": "e1"}, {"__typename": "Office", "id": "o1"}])
        );
    }

    #[test]
    fn bad_representations_are_taken_out_of_the_document_and_fragments_at_the_root() {
        let query = r#"query Q { ...Root } query Other { _entities(representations: [{__typename: "Nope"}]) { __typename } }
            fragment Root on Query { ... on Query { e: _entities(representations: [{__typename: "Office", id: "o1"}, {__typename: "Nope"}, {__typename: "Group", id: $g}]) { __typename } } }"#;
        let (screen, document, _) = screened(query, serde_json::json!({"g": "g1"}), Some("Q"));
        assert_eq!(messages(&screen), ["1: `Nope` is not an entity of this subgraph"]);
        assert_eq!(screen.fields[0].key.as_str(), "e");
        let fragment = &document.fragments[&Name::new("Root")].node.selection_set.node;
        let Selection::InlineFragment(inline) = &fragment.items[0].node else { panic!("an inline fragment") };
        let Selection::Field(field) = &inline.node.selection_set.node.items[0].node else { panic!("a field") };
        let async_graphql_value::Value::List(items) = &field.node.arguments[0].1.node else { panic!("a list") };
        assert_eq!(items.len(), 2, "the refused one left the document");
        // The operation that does not run is not screened.
        let (screen, _, _) = screened(query, serde_json::json!({"g": "g1"}), Some("Other"));
        assert_eq!(messages(&screen), ["0: `Nope` is not an entity of this subgraph"]);
    }

    #[test]
    fn restoring_puts_nulls_and_errors_at_the_refused_positions_and_moves_the_others_errors() {
        let (screen, _, _) = screened(
            "query($x: [_Any!]!) { _entities(representations: $x) { __typename } }",
            serde_json::json!({"x": [{"__typename": "Nope"}, {"__typename": "Office", "id": "o1"}, {}, {"__typename": "Office", "id": "o2"}]}),
            None,
        );
        let mut response = async_graphql::Response::new(async_graphql::value!({
            "_entities": [{"__typename": "Office"}, null],
        }));
        let mut upstream = ServerError::new("Keka failed", None);
        upstream.path = vec![PathSegment::Field("_entities".to_owned()), PathSegment::Index(1)];
        response.errors.push(upstream);
        screen.restore(&mut response);
        assert_eq!(
            response.data.into_json().unwrap(),
            serde_json::json!({"_entities": [null, {"__typename": "Office"}, null, null]})
        );
        let paths: Vec<(String, String)> = response
            .errors
            .iter()
            .map(|error| (error.message.clone(), serde_json::to_string(&error.path).unwrap()))
            .collect();
        assert_eq!(
            paths,
            [
                ("Keka failed".to_owned(), r#"["_entities",3]"#.to_owned()),
                (
                    "representation 0: `Nope` is not an entity of this subgraph".to_owned(),
                    r#"["_entities",0]"#.to_owned()
                ),
                ("representation 2: has no `__typename`".to_owned(), r#"["_entities",2]"#.to_owned()),
            ]
        );
        assert_eq!(screen.refused(), 2);
    }

    #[test]
    fn a_request_that_failed_before_execution_gets_nothing_added() {
        let (screen, _, _) = screened(
            "query($x: [_Any!]!) { _entities(representations: $x) { __typename } }",
            serde_json::json!({"x": [{"__typename": "Nope"}]}),
            None,
        );
        let mut response = async_graphql::Response::from_errors(vec![ServerError::new("invalid", None)]);
        screen.restore(&mut response);
        assert_eq!(response.errors.len(), 1);
    }
}
