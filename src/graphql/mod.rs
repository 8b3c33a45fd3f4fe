//! The GraphQL schema over Keka: types, Relay connections, batched loaders, error codes.
//!
//! [`schema_builder`] describes the types with no data (used by `print-schema` and the SDL
//! test); [`build_schema`] adds the long-lived Keka access. Per-request loaders are added by
//! the server to each request ([`RequestLoaders`]).

mod batch_gate;
pub mod connection;
mod context;
pub mod error;
mod loaders;
mod query;
pub mod scalars;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema, SchemaBuilder};

pub use batch_gate::BatchGate;
pub use context::{GraphContext, GraphLimits, RequestLoaders, Today};
pub use query::{EmployeesFilter, Query};

pub type KekaSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The schema's types, without data.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription).enable_federation()
}

/// The schema with its long-lived data.
pub fn build_schema(context: GraphContext) -> KekaSchema {
    schema_builder().data(context).finish()
}

/// The SDL as committed in `schema.graphql`: federation directives included, fields sorted for stable diffs.
pub fn schema_sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation().compose_directive().sorted_fields())
}
