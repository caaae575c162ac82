//! One module per subcommand. Each takes its parsed arguments, does the work and returns the
//! exit status; none of them calls `process::exit`.

pub mod export;
pub mod plan;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod validate;
