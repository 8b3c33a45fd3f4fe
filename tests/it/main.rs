//! One integration-test binary (faster to link than one per file).

mod binary;
mod browser;
mod budget;
mod custom_fields;
mod directory;
mod federation;
mod federation_gateway;
mod fleet;
mod graphql_api;
mod graphql_over_http;
mod hardening;
mod helpers;
mod keeper_client;
mod keka_client;
mod raw_records;
mod redis_server;
mod sandbox_end_to_end;
mod schema_file;
mod sync;
mod writes;
