//! Test helpers. Here: the builder for CLI tests (a temp folder with a campaign and its CSV, the
//! real binary run in it, the whole invocation as one text to snapshot). In [`campaign`]: the
//! campaign the runner tests run against the sandbox, as a builder. In [`sandbox`]: the
//! sandbox in-process or as a process, and a small API client; in [`receiver`]: a webhook
//! receiver; in [`fixture`]: the state file's tables, written as a run leaves them and read back
//! (the only module that knows them).

pub mod campaign;
pub mod fixture;
pub mod html;
pub mod receiver;
pub mod sandbox;
pub mod spreadsheet;

pub use campaign::{Campaign, contacts};
pub use sandbox::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_bys-campaign")
}

/// The repository root, for tests that use the shipped example campaigns.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A campaign file that works with [`CONTACTS`]; tests replace parts of it.
pub const CAMPAIGN: &str = "\
name: demo
input:
  path: contacts.csv
  key_column: id
  default_region: US
call:
  objective: Confirm {{ first_name }}'s appointment on {{ date }}.
fields:
  - { name: confirmed, type: boolean, description: Did they confirm? }
schedule:
  timezone: America/New_York
";

pub const CONTACTS: &str = "\
id,first_name,phone,date
1,Ana,(415) 555-0101,2026-12-07
2,Wei,212-555-0102,2026-12-08
";

/// One invocation of the binary in a temp folder of its own.
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    cwd: Option<PathBuf>,
}

/// What an invocation did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            cwd: None,
        }
    }

    /// A test with the standard campaign and contacts written.
    pub fn demo() -> Test {
        Test::new()
            .file("campaign.yaml", CAMPAIGN)
            .file("contacts.csv", CONTACTS)
    }

    /// The temp folder the test runs in.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(path, contents).expect("write test file");
        self
    }

    /// The standard campaign with `from` replaced by `to` (which must be in it).
    pub fn edit_campaign(self, from: &str, to: &str) -> Test {
        assert!(CAMPAIGN.contains(from), "the demo campaign has no {from:?}");
        self.file("campaign.yaml", CAMPAIGN.replace(from, to))
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Run from this folder instead of the temp folder (e.g. the repository root).
    pub fn current_dir(mut self, dir: PathBuf) -> Test {
        self.cwd = Some(dir);
        self
    }

    pub fn command(&self) -> Command {
        self.command_with(&self.args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The command for other arguments in the same folder (a later step of the same test).
    pub fn command_with(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .current_dir(self.cwd.as_deref().unwrap_or(self.dir.path()))
            .env_remove("BYS_API_KEY")
            .env_remove("BYS_API_URL")
            .env_remove("BYS_LOG")
            // The account's shared record goes in the test's folder, never the user's.
            .env("XDG_STATE_HOME", self.dir.path().join("state-home"))
            .env("NO_COLOR", "1")
            // A fixed width, so wrapped help text is the same on every machine.
            .env("COLUMNS", "100");
        command
    }

    pub fn run(&self) -> Run {
        let output: Output = self.command().output().expect("run bys-campaign");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    /// The whole invocation as one text, for snapshots.
    pub fn transcript(&self) -> String {
        let mut out = format!("exit: {}\n", self.code);
        if !self.stdout.is_empty() {
            out.push_str("--- stdout\n");
            out.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            out.push_str("--- stderr\n");
            out.push_str(&self.stderr);
        }
        out
    }
}

/// Snapshot a run's transcript with temp paths, and the time, version and process id of a
/// `run`'s first line, replaced.
#[macro_export]
macro_rules! assert_run {
    ($run:expr) => {{
        let run = &$run;
        insta::with_settings!({ filters => vec![
            (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
            (r"run started \S+: bys-campaign \S+, (.*), pid \d+", "run started [TIME]: bys-campaign [VERSION], $1, pid [PID]"),
        ] }, {
            insta::assert_snapshot!(run.transcript());
        });
    }};
}
