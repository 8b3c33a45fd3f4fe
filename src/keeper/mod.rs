//! Keeper Security's SCIM 2.0 endpoint (one node's users and teams), read-only: a typed client sharing the rate
//! limiter and retry rules of [`crate::upstream`], lenient models, and the [`Directory`] snapshot of a node.
//!
//! Knows nothing of GraphQL and nothing of Keka. Everything else in the crate uses only the names re-exported here.
//!
//! One token opens one node (not its sub-nodes); the node is part of every answer ([`Directory::node_id`]).

mod client;
mod config;
mod directory;
mod error;
pub mod models;
mod paging;
#[cfg(test)]
mod properties;

pub use client::KeeperClient;
pub use config::{DataCentre, KeeperConfig};
pub use directory::{Account, AccountStatus, Directory, DirectorySource, Team, normalise_email};
pub use error::KeeperError;
pub use models::{ListResponse, ScimEmail, ScimGroup, ScimName, ScimRef, ScimUser};
