//! keka-subgraph: an Apollo Federation 2 subgraph over the Keka HR API.
//!
//! # Layout
//! - [`keka`]: the Keka API client (auth, rate limit, retries, pagination, cache, models). Knows nothing of GraphQL or HTTP servers.
//! - [`keeper`]: the Keeper SCIM 2.0 client (read-only: one node's users and teams) and its directory snapshot. Knows nothing of GraphQL or Keka.
//! - [`graphql`]: the GraphQL schema over Keka and Keeper: types, connections, loaders, error codes.
//! - [`embedded_sandbox`]: the zero-setup mode: starts the `keka_sandbox` crate's simulated tenant and points the
//!   Keka and Keeper clients at it.
//! - [`server`]: the HTTP server (axum): GraphQL, GraphiQL, health, metrics, router authentication.
//! - [`upstream`]: what every upstream client shares: rate limiter, retry rules, a snapshot rebuilt in the background, per-request context (deadline, counts, budget holds), metrics.
//! - [`directory_join`]: Keka employees joined to Keeper accounts by email (matches, drift, ambiguities).
//! - [`cli`]: the command line.
//! - [`settings`]: every flag's value checked once, at start-up, and turned into typed settings.
//! - [`telemetry`]: logging setup.

pub mod cli;
pub mod directory_join;
pub mod embedded_sandbox;
pub mod graphql;
pub mod keeper;
pub mod keka;
pub mod server;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod upstream;
