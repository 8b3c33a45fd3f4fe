//! `schema.graphql` at the repository root is exactly what `print-schema` prints.

#[test]
fn schema_graphql_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let generated = keka_subgraph::graphql::schema_sdl(keka_subgraph::graphql::AccessDirectives::None);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, &generated)
            .unified_diff()
            .header("schema.graphql (committed)", "schema (generated)")
            .to_string();
        panic!(
            "schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test schema_graphql` (or `cargo run -- print-schema > schema.graphql`) and commit it:\n{diff}"
        );
    }
}

/// Doc comments of entity resolvers ("Federation: …") are not fields: one that reaches the schema has slipped onto
/// the field below it.
#[test]
fn no_entity_resolver_comment_leaks_into_a_field_description() {
    let sdl = keka_subgraph::graphql::schema_sdl(keka_subgraph::graphql::AccessDirectives::None);
    let leaked: Vec<&str> = sdl.lines().filter(|line| line.trim_start().starts_with("Federation:")).collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}
