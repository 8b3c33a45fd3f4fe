//! The GraphQL object types: thin handles over Keka records, one concept per file.

pub mod directory;
pub mod employee;
pub mod enums;
pub mod hire;
pub mod org;
pub mod time;

/// A resolver's future on the heap. async-graphql builds one future per object that can run any of its fields, so
/// the object's future is as large as its largest field's; boxing the heavy fields (loaders, snapshots,
/// connections) keeps that size small, and the per-value moves of list resolution cheap.
pub(crate) type BoxedField<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
