//! The one table of exit codes, and the mapping from errors to it.
//!
//! Codes follow BSD `sysexits.h` where one fits, so cron wrappers and scripts can branch on
//! them. The README's "Exit codes" section is this table; keep the two in step.

use std::process::ExitCode;

use crate::campaign::LoadError;
use crate::commands::NotStarted;
use crate::sandbox::SandboxError;
use crate::store::{LockError, StoreError};

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
    /// A file the campaign names does not exist or cannot be read, or `status`/`export` found
    /// no state file (EX_NOINPUT).
    NoInput,
    /// The campaign file or a template is broken (EX_CONFIG).
    Config,
    /// The API refused the run: bad key or caller ID not owned (EX_NOPERM).
    Refused,
    /// Try again later: another run holds the state file (EX_TEMPFAIL).
    TempFail,
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT).
    Interrupted,
    /// `run`: the circuit breaker stopped placements: too many recent calls failed or
    /// obtained nothing (EX_UNAVAILABLE: the calls are not getting through).
    Breaker,
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
            Exit::Refused => 77,
            Exit::TempFail => 75,
            Exit::Interrupted => 130,
            Exit::Breaker => 69,
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
    if is_broken_pipe(err) {
        return Exit::Ok;
    }
    for cause in err.chain() {
        if let Some(load) = cause.downcast_ref::<LoadError>() {
            return load.exit();
        }
        if cause.downcast_ref::<LockError>().is_some() {
            return Exit::TempFail;
        }
        if let Some(
            StoreError::OtherCampaign { .. }
            | StoreError::OtherApi { .. }
            | StoreError::OtherIdentity { .. },
        ) = cause.downcast_ref::<StoreError>()
        {
            return Exit::Config;
        }
        if cause.downcast_ref::<crate::api::KeyError>().is_some() {
            return Exit::Config;
        }
        if cause.is::<crate::commands::run::NoApiKey>() {
            return Exit::Config;
        }
        if cause.is::<NotStarted>() {
            return Exit::NoInput;
        }
        if let Some(sandbox) = cause.downcast_ref::<SandboxError>() {
            return match sandbox {
                SandboxError::Config(_) | SandboxError::ScenarioParse { .. } => Exit::Config,
                SandboxError::ScenarioRead { .. } => Exit::NoInput,
                SandboxError::Bind { .. } | SandboxError::Ledger { .. } => Exit::Failure,
            };
        }
    }
    Exit::Failure
}

/// Whether the command ended because whoever read its standard output went away
/// (`bys-campaign status … | head`): nothing to report, like any program cut off by its pipe.
/// Only an error of stdout itself ([`crate::out!`]), never one from deeper down (a socket).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<crate::out::StdoutError>()
        .is_some_and(|e| e.0.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The text printed after `error: ` for an error that ended a command.
/// Each cause in the chain is appended once: a message that already quotes its source (as
/// `LoadError::Missing` does) is not followed by the same text again.
pub fn render_error(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
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
            (Exit::Refused, 77),
            (Exit::TempFail, 75),
            (Exit::Interrupted, 130),
            (Exit::Breaker, 69),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn causes_already_quoted_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = anyhow::Error::new(io)
            .context("cannot read x.csv: gone")
            .context("validating c.yaml");
        assert_eq!(
            render_error(&err),
            "validating c.yaml: cannot read x.csv: gone"
        );
    }

    #[test]
    fn a_closed_stdout_ends_quietly_but_a_broken_socket_does_not() {
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let closed = anyhow::Error::new(crate::out::StdoutError(pipe()));
        assert!(is_broken_pipe(&closed));
        assert_eq!(code_for(&closed), Exit::Ok);
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(!is_broken_pipe(&anyhow::Error::new(
            crate::out::StdoutError(full)
        )));
        let deeper = anyhow::Error::new(pipe()).context("sending a request");
        assert!(!is_broken_pipe(&deeper));
        assert_eq!(code_for(&deeper), Exit::Failure);
    }

    #[test]
    fn unknown_errors_are_plain_failures() {
        assert_eq!(code_for(&anyhow::anyhow!("boom")), Exit::Failure);
    }
}
