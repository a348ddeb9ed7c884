//! Process plumbing shared by the DECNET binaries: configuration loading and
//! validation, tracing and OTLP export, shutdown signals, and the one rustls
//! crypto provider of the workspace.

pub mod config;
pub mod crypto;
pub mod shutdown;
pub mod telemetry;
