//! One module per subcommand. Each takes its parsed arguments, does the work and returns the
//! exit status; none of them calls `process::exit`.

pub mod plan;
pub mod sandbox;
pub mod validate;
