//! The GraphQL schema over Keka: types, Relay connections, batched loaders, error codes.
//!
//! [`schema_builder`] describes the types with no data (used by `print-schema` and the SDL
//! test); [`build_schema`] adds the long-lived Keka access. Per-request loaders are added by
//! the server to each request ([`RequestLoaders`]).

pub mod access_control;
mod batch_gate;
pub mod connection;
mod context;
pub mod documents;
mod entities;
pub mod error;
mod lists;
mod loaders;
mod mutation;
mod plain;
mod query;
pub mod scalars;
pub mod types;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

pub use access_control::AccessDirectives;
pub use batch_gate::BatchGate;
pub use context::{GraphContext, GraphLimits, RequestLoaders, Today};
pub use documents::{DocumentCache, Prepared};
pub use entities::EntityScreen;
pub use mutation::{Mutation, RequestTimeoffInput, WRITE_TIMEOFF_ANY_SCOPE, WRITE_TIMEOFF_SCOPE, Writes};
pub use query::{EmployeesFilter, Query};

pub type KekaSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema's types, without data.
// No async-graphql extension is registered: the fields `plain` answers would bypass an extension's per-field hooks.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription).enable_federation()
}

/// The schema with its long-lived data and the request limits.
pub fn build_schema(context: GraphContext) -> KekaSchema {
    let limits = context.limits;
    let builder = schema_builder().limit_depth(limits.max_depth).limit_complexity(limits.max_complexity);
    let builder = if limits.introspection { builder } else { builder.disable_introspection() };
    builder.data(context).finish()
}

/// The SDL `print-schema` prints: federation directives included, fields sorted for stable diffs,
/// access-control markers per `directives`. `schema.graphql` holds it for the default (none).
pub fn schema_sdl(directives: AccessDirectives) -> String {
    let sdl = schema_builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation().compose_directive().sorted_fields());
    directives.apply(&sdl)
}
