//! The campaign file: parsed into [`raw`] structs, then validated into a [`Campaign`] in which
//! invalid states cannot exist (compiled templates, parsed durations and zones, positive limits,
//! resolved paths, columns checked against the CSV header).
//!
//! [`Campaign::load`] is exactly what `bys-campaign validate` runs; everything downstream takes
//! a `Campaign` and never sees a raw string from the file.

mod check;
pub mod duration;
mod error;
pub mod locate;
mod raw;
#[cfg(test)]
pub(crate) mod testing;

use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;

pub use error::{LoadError, Problem};

use crate::api::Outcome;
use crate::template::Templates;

/// A validated campaign, ready to plan or run.
#[derive(Debug)]
pub struct Campaign {
    /// Names the state and results files; letters, digits, `.`, `_` and `-` only.
    pub name: String,
    /// The campaign file, as given on the command line.
    pub file: PathBuf,
    pub input: Input,
    pub call: Call,
    pub fields: Vec<Field>,
    /// `None`: calls may be placed at any hour (validate warns about it).
    pub schedule: Option<Schedule>,
    pub limits: Limits,
    pub retry: RetryPolicy,
    /// Suppression files, resolved against the campaign file's folder.
    pub suppress: Vec<PathBuf>,
    pub output: Output,
    /// `None`: results are polled for (no `webhook` section).
    pub webhook: Option<Webhook>,
    /// Things that do not stop the campaign but deserve a look.
    pub warnings: Vec<String>,
}

/// The contacts CSV and how to read it.
#[derive(Debug)]
pub struct Input {
    /// Resolved against the campaign file's folder.
    pub path: PathBuf,
    pub delimiter: u8,
    /// The header row, in order.
    pub columns: Vec<String>,
    pub phone_column: Column,
    /// `None`: a row's identity is its normalized phone number.
    pub key_column: Option<Column>,
    pub timezone_column: Option<Column>,
    /// The row's deadline (an appointment's time): no call is placed at or after it, less
    /// `schedule.stop_before` (see [`crate::schedule::deadline`]). Requires a `schedule`.
    pub deadline_column: Option<Column>,
    /// Country assumed for numbers written without `+country code`; `None` accepts only E.164.
    pub default_region: Option<crate::phone::Region>,
}

/// A CSV column the campaign refers to, checked to exist in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub index: usize,
}

/// What every call asks for.
#[derive(Debug)]
pub struct Call {
    pub templates: Templates,
    /// E.164; `None` uses the account's default number.
    pub caller_id: Option<String>,
    pub voice: Option<String>,
    pub language: Option<String>,
}

/// A value the AI is asked to extract from the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Boolean,
    Number,
}

impl FieldKind {
    pub const NAMES: [&'static str; 3] = ["string", "boolean", "number"];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Boolean => "boolean",
            FieldKind::Number => "number",
        }
    }

    fn parse(text: &str) -> Option<FieldKind> {
        match text {
            "string" => Some(FieldKind::String),
            "boolean" => Some(FieldKind::Boolean),
            "number" => Some(FieldKind::Number),
            _ => None,
        }
    }
}

/// When calls may be placed, in each recipient's local time.
#[derive(Debug)]
pub struct Schedule {
    /// Zone for contacts whose own zone is unknown.
    pub timezone: TimeZone,
    /// The IANA name of `timezone`, as written.
    pub timezone_name: String,
    pub windows: Vec<Window>,
    /// No call starts later than this before its window closes.
    pub last_call_before_end: Duration,
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
    /// How long before each row's deadline its calls stop (with `input.deadline_column`).
    pub stop_before: StopBefore,
    /// Skip contacts whose zone would fall back to `timezone`.
    pub require_known_timezone: bool,
}

/// A weekly local-time window, `from` inclusive to `to` exclusive, `from < to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub from: Time,
    pub to: Time,
}

/// Pacing and spending limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub calls_per_minute: NonZeroU32,
    pub burst: NonZeroU32,
    pub max_concurrent: NonZeroU32,
    /// Cap on placements for the whole campaign.
    pub max_calls: Option<NonZeroU64>,
    /// Cap on call minutes for the whole campaign.
    pub max_minutes: Option<NonZeroU64>,
    /// Cap on placements per day, the day as `schedule.timezone` reads it (UTC without a
    /// schedule); see [`crate::runner::guard::Daily`].
    pub max_calls_per_day: Option<NonZeroU64>,
    /// Cap on call minutes per day, counted like `max_calls_per_day`.
    pub max_minutes_per_day: Option<NonZeroU64>,
    /// Minutes reserved for each call in flight when checking `max_minutes`.
    pub max_call_minutes: NonZeroU32,
    /// The circuit breaker looks at this many recent calls...
    pub breaker_window: NonZeroU32,
    /// ...and trips when at least this share of them (percent, 1 to 100) went wrong.
    pub breaker_percent: NonZeroU32,
    /// How long a POST whose answer was lost may still take effect at the API (held by a
    /// gateway, a queue, the network): only once this has passed, in real and in simulated
    /// time, may the list of calls show that no call was created.
    pub lost_answer_wait: Duration,
}

/// How often, and how long after, each unsuccessful outcome is tried again.
/// `completed` is final and never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub no_answer: Retry,
    pub voicemail: Retry,
    pub failed: Retry,
    pub declined: Retry,
}

impl RetryPolicy {
    /// The retry rule for this outcome; `None` for `completed`, which is final.
    pub fn for_outcome(&self, outcome: Outcome) -> Option<Retry> {
        match outcome {
            Outcome::Completed => None,
            Outcome::NoAnswer => Some(self.no_answer),
            Outcome::Voicemail => Some(self.voicemail),
            Outcome::Declined => Some(self.declined),
            Outcome::Failed => Some(self.failed),
        }
    }
}

impl Default for RetryPolicy {
    /// The rules of a campaign file without a `retry` section.
    fn default() -> RetryPolicy {
        let rule = |(attempts, after): (u32, Duration)| Retry {
            attempts: NonZeroU32::new(attempts).expect("default attempts are positive"),
            after,
        };
        RetryPolicy {
            no_answer: rule(defaults::NO_ANSWER),
            voicemail: rule(defaults::VOICEMAIL),
            failed: rule(defaults::FAILED),
            declined: rule(defaults::DECLINED),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Calls placed in total for a contact, the first included.
    pub attempts: NonZeroU32,
    /// Delay between one call's end and the next placement.
    pub after: Duration,
}

/// Where results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Resolved against the campaign file's folder.
    pub path: PathBuf,
    pub transcript: bool,
    /// Write the results for a spreadsheet (see [`crate::export`]).
    pub excel: bool,
}

/// Webhook mode: where the runner's receiver listens and what it tells the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub listen: std::net::SocketAddr,
    /// Sent as `webhookUrl`; `None`: the receiver's own `http://` address, which only a
    /// sandbox on this machine can reach (`run` checks that).
    pub public_url: Option<reqwest::Url>,
    /// The environment variable holding the signing secret (never the secret itself).
    pub secret_env: String,
    /// Where the file sets `public_url` and `secret_env`, for problems `run` finds later
    /// (a plain-HTTP URL for a live API, an unset variable).
    pub public_url_at: Option<locate::Pos>,
    pub secret_env_at: Option<locate::Pos>,
}

/// Defaults for every optional key; the campaign reference (docs/campaign.md) lists the same values.
pub mod defaults {
    use std::time::Duration;

    pub const PHONE_COLUMN: &str = "phone";
    pub const DELIMITER: u8 = b',';
    pub const CALLS_PER_MINUTE: u32 = 20;
    pub const BURST: u32 = 5;
    pub const MAX_CONCURRENT: u32 = 10;
    pub const MAX_CALL_MINUTES: u32 = 10;
    pub const BREAKER_WINDOW: u32 = 20;
    pub const BREAKER_PERCENT: u32 = 50;
    pub const LOST_ANSWER_WAIT: Duration = Duration::from_secs(10 * 60);
    /// Below this, `validate` warns: a request held longer could still create its call.
    pub const LOST_ANSWER_WAIT_WARN: Duration = Duration::from_secs(2 * 60);
    pub const LAST_CALL_BEFORE_END: Duration = Duration::from_secs(10 * 60);
    /// `(attempts, after)` per retryable outcome.
    pub const NO_ANSWER: (u32, Duration) = (3, Duration::from_secs(2 * 3600));
    pub const VOICEMAIL: (u32, Duration) = (2, Duration::from_secs(4 * 3600));
    pub const FAILED: (u32, Duration) = (3, Duration::from_secs(15 * 60));
    pub const DECLINED: (u32, Duration) = (1, Duration::from_secs(24 * 3600));
    /// Windows when `schedule` is present without `windows`: weekdays 09:00–18:00.
    pub const WINDOW: (&str, &str) = ("09:00", "18:00");
    pub const MAX_FIELDS: usize = 20;
    pub const WEBHOOK_LISTEN: &str = "127.0.0.1:8787";
    pub const WEBHOOK_SECRET_ENV: &str = "BYS_WEBHOOK_SECRET";
}

/// Which contacts CSV a command reads, when it is not simply `input.path`.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `run --contacts FILE`: this file instead of `input.path` (relative to the working
    /// folder, as a command-line path is).
    pub contacts: Option<PathBuf>,
    /// The instant whose date replaces `{date}` in `input.path` (`2026-12-03`, the day in
    /// `schedule.timezone`, UTC without one) [default: now]; a rehearsal's `--start` text, read
    /// in `schedule.timezone` like `--start` itself.
    pub at: Option<String>,
    /// For the commands that read a campaign's state (`status`, `explain`, `export`): when the
    /// day's CSV of a `{date}` path does not exist (yet), the latest one that does.
    pub latest: bool,
}

/// What `{date}` in `input.path` stands for: a daily CSV, `appointments-{date}.csv`.
pub const DATE_PLACEHOLDER: &str = "{date}";

impl LoadOptions {
    /// For the commands that read a campaign's state: a `{date}` path falls back to the latest
    /// daily CSV.
    pub fn reading() -> LoadOptions {
        LoadOptions {
            latest: true,
            ..LoadOptions::default()
        }
    }
}

impl Campaign {
    /// Reads, parses and validates a campaign file, and reads the header of its contacts CSV.
    /// Every problem found is reported at once, each with its line:column.
    pub fn load(file: &Path) -> Result<Campaign, LoadError> {
        Campaign::load_with(file, &LoadOptions::default())
    }

    /// [`Campaign::load`], reading the contacts CSV that `options` names.
    pub fn load_with(file: &Path, options: &LoadOptions) -> Result<Campaign, LoadError> {
        let source = std::fs::read_to_string(file).map_err(|source| LoadError::Missing {
            what: "campaign file",
            path: file.to_owned(),
            named_by: None,
            source,
        })?;
        check::load(file, &source, options)
    }

    /// The state file used when `--state` is not given: `<name>.state.db` beside the campaign.
    pub fn default_state_path(&self) -> PathBuf {
        state_file(&self.file, &self.name, None, false)
    }

    /// `<name>.rehearsal.state.db` beside the campaign file: the state of `run --sandbox`, kept
    /// apart so that a rehearsal's simulated results never pass for the live campaign's.
    pub fn rehearsal_state_path(&self) -> PathBuf {
        state_file(&self.file, &self.name, None, true)
    }

    /// `--state` if given, else the rehearsal's or the live campaign's default.
    pub fn state_path(&self, given: Option<&Path>, rehearsal: bool) -> PathBuf {
        state_file(&self.file, &self.name, given, rehearsal)
    }

    /// The state file of the campaign file `file` before it is loaded (its contacts CSV may be
    /// one that only its state file names): its `name`, unchecked, else the file's stem.
    pub fn state_path_before_load(
        file: &Path,
        given: Option<&Path>,
        rehearsal: bool,
    ) -> Option<PathBuf> {
        if let Some(given) = given {
            return Some(given.to_owned());
        }
        let source = std::fs::read_to_string(file).ok()?;
        let yaml: serde_yaml::Value = serde_yaml::from_str(&source).ok()?;
        let name = match yaml.get("name") {
            Some(name) => name.as_str()?.to_owned(),
            None => file.file_stem()?.to_str()?.to_owned(),
        };
        Some(state_file(file, &name, None, rehearsal))
    }

    /// Where the results CSV goes: `output.path`, or for a rehearsal the same name with
    /// `.rehearsal` before the extension (`results.csv` → `results.rehearsal.csv`).
    pub fn results_path(&self, rehearsal: bool) -> PathBuf {
        let path = &self.output.path;
        if !rehearsal {
            return path.clone();
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let name = match path.extension() {
            Some(ext) => format!("{stem}.rehearsal.{}", ext.to_string_lossy()),
            None => format!("{stem}.rehearsal"),
        };
        path.with_file_name(name)
    }

    /// The folder relative paths in the campaign file are resolved against.
    pub fn dir(&self) -> &Path {
        base_dir(&self.file)
    }
}

/// `--state` if given, else `<name>.state.db` or `<name>.rehearsal.state.db` beside `file`.
fn state_file(file: &Path, name: &str, given: Option<&Path>, rehearsal: bool) -> PathBuf {
    match given {
        Some(path) => path.to_owned(),
        None if rehearsal => base_dir(file).join(format!("{name}.rehearsal.state.db")),
        None => base_dir(file).join(format!("{name}.state.db")),
    }
}

fn base_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new(""))
}

/// How long before a row's deadline its calls stop (`schedule.stop_before`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopBefore {
    /// This long before the deadline (`12h`; `0s`: at the deadline itself).
    Ahead(Duration),
    /// At the start of the deadline's day, in the row's zone: no call on the day itself
    /// (`day_before`).
    DayBefore,
}

impl StopBefore {
    /// The campaign file's words for it.
    pub fn describe(self) -> String {
        match self {
            StopBefore::DayBefore => "day_before".to_owned(),
            StopBefore::Ahead(d) => duration::format(d),
        }
    }
}
