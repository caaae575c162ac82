//! The one table of exit codes, and the mapping from errors to it.
//!
//! Codes follow BSD `sysexits.h` where one fits, so cron wrappers and scripts can branch on
//! them. The README's "Exit codes" section is this table; keep the two in step.

use std::process::ExitCode;

use crate::campaign::LoadError;

/// Every way `bys-campaign` can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked.
    Ok,
    /// An unexpected failure (a bug, or an I/O error with no better code).
    Failure,
    /// The command line was wrong (clap reports these itself).
    Usage,
    /// `validate --strict` found invalid rows (EX_DATAERR).
    DataErr,
    /// A file the campaign names does not exist or cannot be read (EX_NOINPUT).
    NoInput,
    /// The campaign file or a template is broken (EX_CONFIG).
    Config,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::DataErr => 65,
            Exit::NoInput => 66,
            Exit::Config => 78,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The exit code for an error that ended a command: the first error in the chain that knows
/// its own code wins; anything else is a plain failure.
pub fn code_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(load) = cause.downcast_ref::<LoadError>() {
            return load.exit();
        }
    }
    Exit::Failure
}

/// The text printed after `error: ` for an error that ended a command.
pub fn render_error(err: &anyhow::Error) -> String {
    format!("{err:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let table = [
            (Exit::Ok, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::DataErr, 65),
            (Exit::NoInput, 66),
            (Exit::Config, 78),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn unknown_errors_are_plain_failures() {
        assert_eq!(code_for(&anyhow::anyhow!("boom")), Exit::Failure);
    }
}
