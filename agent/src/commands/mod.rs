//! One module per subcommand.

pub mod catalog;
pub mod deploy;
pub mod docker;
pub mod enroll;
pub mod run;
