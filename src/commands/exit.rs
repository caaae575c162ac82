//! The one table of exit codes, and the mapping from errors to it.
//!
//! Codes follow BSD `sysexits.h` where one fits, so cron wrappers and scripts can branch on
//! them. The README's "Exit codes" section is this table; keep the two in step.

use std::process::ExitCode;

use super::error::{NoApiKey, NotStarted};
use crate::campaign::LoadError;
use crate::runner::{Cap, Ending};
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
            return match load {
                LoadError::Missing { .. } => Exit::NoInput,
                LoadError::Invalid { .. } => Exit::Config,
            };
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
        if cause.is::<NoApiKey>() {
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

/// The exit code for how a run ended. `canary`: the run was given `--canary`, whose cap is a
/// step the user asked for; `left`: calls in flight or lost answers it left to the next run,
/// which make an otherwise finished run's work not done.
pub fn for_ending(ending: &Ending, canary: bool, left: u64) -> Exit {
    let exit = match ending {
        Ending::Finished | Ending::ScheduleOver { .. } => Exit::Ok,
        Ending::CapReached(Cap::Run, _) if canary => Exit::Ok,
        // Any other cap with contacts left is work cut short: never 0, so that cron (and a
        // script) can tell it from a finished campaign.
        Ending::CapReached(..) | Ending::Idle(_) | Ending::Unreachable(_) => Exit::TempFail,
        Ending::Breaker(_) => Exit::Breaker,
        Ending::Interrupted => Exit::Interrupted,
        Ending::Refused(_) => Exit::Refused,
    };
    if exit == Exit::Ok && left > 0 {
        Exit::TempFail
    } else {
        exit
    }
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

    /// Every row of the README's exit-code table, each with the errors and run endings that
    /// lead to it, written out; the test fails when the README lists a code none of them gives,
    /// or one of them gives a code the README does not list.
    #[test]
    fn every_code_of_the_readme_table_and_what_leads_to_it() {
        use std::path::PathBuf;

        use crate::campaign::locate::Pos;
        use crate::store::ApiKind;

        let at = || jiff::Timestamp::UNIX_EPOCH;
        let path = || PathBuf::from("s.db");
        let error = |e: anyhow::Error| code_for(&e).code();
        let ending = |e: Ending| for_ending(&e, false, 0).code();
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let cases: Vec<(&str, u8, u8)> = vec![
            (
                "a run that settled every contact",
                ending(Ending::Finished),
                0,
            ),
            (
                "schedule.not_after passed",
                ending(Ending::ScheduleOver {
                    not_after: at(),
                    left: 3,
                }),
                0,
            ),
            (
                "--canary placed its calls",
                for_ending(&Ending::CapReached(Cap::Run, String::new()), true, 0).code(),
                0,
            ),
            ("an unexpected error", error(anyhow::anyhow!("boom")), 1),
            (
                "a closed stdout",
                error(anyhow::Error::new(crate::out::StdoutError(
                    std::io::Error::from(std::io::ErrorKind::BrokenPipe),
                ))),
                0,
            ),
            ("the command line is wrong", Exit::Usage.code(), 2),
            (
                "validate --strict with invalid rows",
                Exit::DataErr.code(),
                65,
            ),
            (
                "a missing campaign file",
                error(anyhow::Error::new(LoadError::Missing {
                    what: "campaign file",
                    path: PathBuf::from("c.yaml"),
                    named_by: None,
                    source: io(),
                })),
                66,
            ),
            (
                "no state file yet",
                error(anyhow::Error::new(NotStarted {
                    campaign: PathBuf::from("c.yaml"),
                    state: path(),
                    command: "status c.yaml".into(),
                    rehearsal: None,
                })),
                66,
            ),
            (
                "the breaker tripped",
                ending(Ending::Breaker(String::new())),
                69,
            ),
            (
                "another run holds the state file",
                error(anyhow::Error::new(LockError::Held {
                    state: path(),
                    holder: "pid 1".into(),
                })),
                75,
            ),
            (
                "--until-idle with work left",
                ending(Ending::Idle(at())),
                75,
            ),
            (
                "--max-calls",
                ending(Ending::CapReached(Cap::Run, String::new())),
                75,
            ),
            (
                "a daily cap",
                ending(Ending::CapReached(Cap::Day, String::new())),
                75,
            ),
            (
                "limits.max_calls",
                ending(Ending::CapReached(Cap::Campaign, String::new())),
                75,
            ),
            ("an outage", ending(Ending::Unreachable(String::new())), 75),
            (
                "a finished run that left calls in flight",
                for_ending(&Ending::Finished, false, 2).code(),
                75,
            ),
            (
                "the API refused the run",
                ending(Ending::Refused(String::new())),
                77,
            ),
            (
                "a broken campaign file",
                error(anyhow::Error::new(LoadError::Invalid {
                    file: PathBuf::from("c.yaml"),
                    problems: vec![crate::campaign::Problem::new(
                        Some(Pos { line: 1, column: 1 }),
                        "x",
                    )],
                })),
                78,
            ),
            (
                "the state file of another campaign",
                error(anyhow::Error::new(StoreError::OtherCampaign {
                    path: path(),
                    found: "a".into(),
                    expected: "b".into(),
                })),
                78,
            ),
            (
                "simulated calls and a real API",
                error(anyhow::Error::new(StoreError::OtherApi {
                    path: path(),
                    found: ApiKind::Sandbox,
                    expected: ApiKind::Live,
                })),
                78,
            ),
            (
                "another key column",
                error(anyhow::Error::new(StoreError::OtherIdentity {
                    path: path(),
                    found: "their phone number".into(),
                    expected: "column `id`".into(),
                })),
                78,
            ),
            (
                "no API key",
                error(anyhow::Error::new(NoApiKey {
                    campaign: PathBuf::from("c.yaml"),
                })),
                78,
            ),
            (
                "an invalid sandbox setting",
                error(anyhow::Error::new(SandboxError::Config("x".into()))),
                78,
            ),
            ("Ctrl-C or SIGTERM", ending(Ending::Interrupted), 130),
        ];
        for (what, got, want) in &cases {
            assert_eq!(got, want, "{what}");
        }
        let readme = include_str!("../../README.md");
        let table = readme
            .split("## Exit codes")
            .nth(1)
            .expect("the README has an exit-code table");
        let listed: std::collections::BTreeSet<u8> = table
            .lines()
            .skip_while(|l| !l.starts_with("|---"))
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.split('|').nth(1).unwrap().trim().parse().unwrap())
            .collect();
        let given: std::collections::BTreeSet<u8> = cases.iter().map(|c| c.2).collect();
        assert_eq!(listed, given, "the README's codes and the codes given");
    }

    #[test]
    fn unknown_errors_are_plain_failures() {
        assert_eq!(code_for(&anyhow::anyhow!("boom")), Exit::Failure);
    }
}
