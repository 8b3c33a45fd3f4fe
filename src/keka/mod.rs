//! The Keka HR API: a typed client with OAuth (`kekaapi` grant), one shared rate limiter,
//! retries with back-off (both from [`crate::upstream`]), page walking, and TTL caches in front.
//!
//! Knows nothing of GraphQL or of HTTP servers. Everything else in the crate uses only
//! [`CachedKeka`], [`KekaClient`], [`KekaError`], [`KekaConfig`] and [`models`].

mod auth;
mod cache;
mod client;
mod config;
#[cfg(test)]
mod decode_properties;
mod error;
pub mod models;
mod pagination;
mod snapshot;
mod sync;

pub use crate::upstream::RequestContext;
pub use cache::{CacheConfig, CachedKeka};
pub use client::{EmployeeFilter, KekaClient, PreboardingFilter};
pub use config::{KekaConfig, KekaCredentials, KekaEnvironment};
pub use error::KekaError;
pub use pagination::{MAX_WINDOW_DAYS, Page, PageRequest, date_windows};
pub use snapshot::{OrgSnapshot, SnapshotSource, is_working};
pub use sync::{OrgSync, SyncConfig};
