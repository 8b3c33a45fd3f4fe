//! Checks `_entities` representations before execution, so a router or gateway misconfiguration
//! gets a clear, coded error naming the bad representation instead of async-graphql's bare
//! "Entity not found." for the whole list.

use async_graphql::{ErrorExtensionValues, ServerError, Value};

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

/// Finds representations (in the `representations` variable, as routers send them) that no
/// entity resolver can take. Returns one error per bad representation.
pub fn check_representations(variables: &async_graphql::Variables) -> Vec<ServerError> {
    let Some(Value::List(representations)) = variables.get(&async_graphql::Name::new("representations")) else {
        return Vec::new();
    };
    representations
        .iter()
        .enumerate()
        .filter_map(|(index, representation)| problem(representation).map(|problem| (index, problem)))
        .map(|(index, problem)| {
            let mut error = ServerError::new(format!("representation {index}: {problem}"), None);
            error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", "BAD_USER_INPUT");
            error
        })
        .collect()
}

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

    fn variables(json: serde_json::Value) -> async_graphql::Variables {
        async_graphql::Variables::from_json(json)
    }

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

    #[test]
    fn good_representations_pass_and_bad_ones_are_named() {
        let good = variables(serde_json::json!({"representations": [
            {"__typename": "Employee", "id": "e1"}, {"__typename": "Employee", "email": "a@b.c"}, {"__typename": "Office", "id": "o1"}
        ]}));
        assert!(check_representations(&good).is_empty());
        let bad = variables(serde_json::json!({"representations": [
            {"__typename": "Employee", "id": "e1"}, {"__typename": "Spaceship", "id": "x"}, {"__typename": "Employee"}, {"id": "x"}, 7
        ]}));
        let messages: Vec<String> = check_representations(&bad).into_iter().map(|error| error.message).collect();
        assert_eq!(
            messages,
            [
                "representation 1: `Spaceship` is not an entity of this subgraph",
                "representation 2: `Employee` needs a key field: `id` or `email` (a string)",
                "representation 3: has no `__typename`",
                "representation 4: is not an object",
            ]
        );
    }
}
