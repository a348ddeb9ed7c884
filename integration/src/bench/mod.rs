//! Benchmark subcommands of `decnet-bench`; each returns one [`crate::report::Report`].
