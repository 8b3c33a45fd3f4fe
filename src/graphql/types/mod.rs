//! The GraphQL object types: thin handles over Keka records, one concept per file.

pub mod custom_field;
pub mod directory;
pub mod employee;
pub mod enums;
pub mod hire;
pub mod org;
pub mod time;
