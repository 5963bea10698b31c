//! Assembly of the roles into processes: `ironmage up` runs them all in one process (the
//! embedded default); the role subcommands run one each. `main` and the tests share this code.

pub mod batch_cli;
pub mod config;
pub mod deps_cli;
pub mod orchestration_args;
pub mod orchestration_cli;
pub mod registry_args;
pub mod registry_cli;
pub mod stack;
pub mod vars;
