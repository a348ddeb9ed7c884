//! TEMPORARY measurement harness (reuses the integration seeding source).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
#[path = "../../integration/src/bench/api_seed.rs"]
mod api_seed;
