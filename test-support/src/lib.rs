//! Test-only code the subgraph's tests share. A dev-dependency of `keka-subgraph`, so none of it reaches the
//! binary; the property tests stay beside the decoders they test (they need the crate's private items).
//!
//! - [`json_strategies`]: proptest strategies for upstream payloads (Keka's and Keeper's models).

pub mod json_strategies;
