//! What a campaign would do with each row: the report behind `validate` and `plan`.
//!
//! [`scan`] streams the contacts once, renders every callable row's request (so a template that
//! fails on some row is caught now, not mid-run), and keeps only counts, the first few line
//! numbers of each group and the requests asked for: memory does not grow with the file.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::campaign::Campaign;
use crate::census::Census;
use crate::contacts::{Contact, Problems, Row, Scanned};
use crate::render::{self, CallRequest};
use crate::scan::{Scan, ScanError};
use crate::schedule::zone::TzSource;
use crate::zones;

/// How many line numbers a group lists before "and N more".
const LINES_SHOWN: usize = 5;

/// Rows that share a fate, with the first few of them.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Group {
    pub count: u64,
    pub lines: Vec<u64>,
    /// What the first row of the group looks like, e.g. `line 14: "555-0123": not a valid …`.
    pub example: Option<String>,
}

impl Group {
    fn add(&mut self, line: u64, detail: impl FnOnce() -> String) {
        if self.count == 0 {
            self.example = Some(format!("line {line}: {}", detail()));
        }
        self.count += 1;
        if self.lines.len() < LINES_SHOWN {
            self.lines.push(line);
        }
    }
}

/// A request as `plan` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub line: u64,
    pub key: String,
    /// The contact's zone and where it came from (see [`crate::schedule::zone`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tz_source: Option<&'static str>,
    pub body: CallRequest,
}

/// The fate of the row `plan --row` asked about.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Selected {
    // Boxed: a request is large next to the other fates.
    Callable(Box<Planned>),
    Invalid { line: u64, reason: String },
    Duplicate { line: u64, first_line: u64 },
    Suppressed { line: u64 },
}

/// Everything `validate` and `plan` print.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub rows: u64,
    pub to_call: u64,
    /// Rows that cannot be called.
    pub invalid_rows: u64,
    /// Invalid rows by problem: a row with several problems is in several groups.
    pub invalid: BTreeMap<&'static str, Group>,
    pub duplicates: Group,
    pub suppressed: Group,
    /// Rows to call whose deadline has already passed (`input.deadline_column` less
    /// `schedule.stop_before`): a run writes them `expired` without calling them.
    pub past_deadline: Group,
    /// Rows to call by where their zone comes from: `column`, `number`, `default`.
    pub time_zones: BTreeMap<&'static str, u64>,
    /// Rows whose timezone column names a zone without summer time where its places have one
    /// (`GMT`), by the name (see [`crate::zones::without_summer_time`]).
    #[serde(skip)]
    pub fixed_zones: BTreeMap<String, Group>,
    pub warnings: Vec<String>,
    /// The first requests, as many as asked for.
    pub requests: Vec<Planned>,
    /// `None` when no row was asked for, or the asked-for row does not exist.
    pub selected: Option<Selected>,
}

impl Report {
    pub fn invalid_count(&self) -> u64 {
        self.invalid_rows
    }

    /// The rows, each counted once, as `run`, `status` and `export` count them.
    pub fn census(&self) -> Census {
        Census {
            rows: self.rows,
            to_call: self.to_call,
            invalid: self.invalid_rows,
            duplicates: self.duplicates.count,
            suppressed: self.suppressed.count,
        }
    }
}

/// What to keep besides the counts.
#[derive(Debug, Default, Clone)]
pub struct Options<'a> {
    /// How many requests to keep.
    pub show: usize,
    /// Keep the fate of the row with this key.
    pub row: Option<&'a str>,
    /// The instant deadlines are judged at [default: now].
    pub now: Option<jiff::Timestamp>,
}

/// Reads every row of the campaign's contacts and tallies what would happen to it.
pub fn scan(campaign: &Campaign, options: &Options<'_>) -> Result<Report, ScanError> {
    scan_each(campaign, options, None)
}

/// Called with each invalid row: its line, its cells as read, every problem it has.
pub type OnInvalid<'a> = &'a mut dyn FnMut(u64, Vec<String>, &Problems) -> std::io::Result<()>;

/// [`scan`], handing every invalid row to `on_invalid` as well (`validate --invalid-csv`).
pub fn scan_each(
    campaign: &Campaign,
    options: &Options<'_>,
    mut on_invalid: Option<OnInvalid<'_>>,
) -> Result<Report, ScanError> {
    let scan = Scan::open(campaign)?;
    let mut report = Report {
        warnings: campaign.warnings.clone(),
        ..Report::default()
    };
    for entry in scan.unreadable() {
        report.warnings.push(format!(
            "suppression entry is not a phone number, it suppresses nothing: {entry}"
        ));
    }
    // `--row` may be given as the user wrote the number; keys of phone-keyed campaigns are E.164.
    let wanted = options.row.map(|row| match &campaign.input.key_column {
        Some(_) => row.trim().to_owned(),
        None => crate::phone::normalize(row, campaign.input.default_region)
            .unwrap_or_else(|_| row.trim().to_owned()),
    });
    let now = options.now.unwrap_or_else(jiff::Timestamp::now);
    scan.for_each(|scanned| {
        if let (Some(each), Row::Invalid { line, problems, .. }) =
            (on_invalid.as_mut(), &scanned.row)
        {
            each(*line, scanned.cells.to_strings(), problems).map_err(ScanError::Invalid)?;
        }
        tally(
            campaign,
            &mut report,
            options,
            wanted.as_deref(),
            now,
            scanned,
        );
        Ok::<_, ScanError>(())
    })?;
    for (name, group) in &report.fixed_zones {
        let given = format!(
            "{} ({}) {} the time zone",
            plural(group.count, "row", "rows"),
            lines_text(group),
            if group.count == 1 { "gives" } else { "give" }
        );
        report
            .warnings
            .extend(zones::summer_time_warning(&given, name));
    }
    Ok(report)
}

/// Counts one row in the report, keeping it if it is shown or asked for.
fn tally(
    campaign: &Campaign,
    report: &mut Report,
    options: &Options<'_>,
    wanted: Option<&str>,
    now: jiff::Timestamp,
    scanned: Scanned<'_, ()>,
) {
    report.rows += 1;
    let row = match scanned.row {
        Row::Callable(contact) => {
            if !crate::state::before_cutoff(contact.cutoff, now) {
                report.past_deadline.add(contact.line, || {
                    format!("{}: its deadline has passed", contact.key)
                });
            }
            return tally_callable(campaign, report, options.show, wanted, contact);
        }
        row => row,
    };
    let is_wanted = wanted.is_some() && row.key() == wanted;
    match row {
        Row::Callable(_) => unreachable!("handled above"),
        Row::Invalid { line, problems, .. } => {
            report.invalid_rows += 1;
            for problem in problems.iter() {
                report
                    .invalid
                    .entry(problem.label())
                    .or_default()
                    .add(line, || problem.to_string());
            }
            if is_wanted {
                report.selected = Some(Selected::Invalid {
                    line,
                    reason: problems.to_string(),
                });
            }
        }
        Row::Duplicate {
            line,
            phone,
            first_line,
        } => {
            report
                .duplicates
                .add(line, || format!("{phone} is also on line {first_line}"));
            if is_wanted && report.selected.is_none() {
                report.selected = Some(Selected::Duplicate { line, first_line });
            }
        }
        Row::Suppressed { line, phone, .. } => {
            report
                .suppressed
                .add(line, || format!("{phone} is on a suppression list"));
            if is_wanted {
                report.selected = Some(Selected::Suppressed { line });
            }
        }
    }
}

fn tally_callable(
    campaign: &Campaign,
    report: &mut Report,
    show: usize,
    wanted: Option<&str>,
    contact: Contact,
) {
    report.to_call += 1;
    if let Some(source) = contact.tz_source {
        *report.time_zones.entry(source.as_str()).or_default() += 1;
    }
    if let (Some(zone), Some(TzSource::Column)) = (&contact.timezone, contact.tz_source)
        && zones::without_summer_time(zone).is_some()
    {
        let group = report.fixed_zones.entry(zone.clone()).or_default();
        group.add(contact.line, String::new);
    }
    let is_wanted = wanted == Some(contact.key.as_str());
    if report.requests.len() < show || is_wanted {
        // The scan rendered it already, and rendering is deterministic.
        let body = render::request(campaign, &contact.phone, &contact.values)
            .expect("the scan's check rendered it");
        let planned = Planned {
            line: contact.line,
            key: contact.key,
            timezone: contact.timezone,
            tz_source: contact.tz_source.map(|s| s.as_str()),
            body,
        };
        if is_wanted {
            report.selected = Some(Selected::Callable(Box::new(planned.clone())));
        }
        if report.requests.len() < show {
            report.requests.push(planned);
        }
    }
}

/// How long placing the campaign's calls would take at its limits.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub calls: u64,
    pub calls_per_minute: u32,
    pub burst: u32,
    pub max_concurrent: u32,
    /// What a call is assumed to last, ringing included.
    pub assumed_call_seconds: u64,
    /// Calls per minute the campaign can sustain: the rate limit, or fewer when the
    /// concurrency cap binds first.
    pub sustained_calls_per_minute: f64,
    pub minutes: f64,
    /// Whether calling windows may stretch the run over several days.
    pub windows_apply: bool,
}

/// Typical length of a call from placement to its end; the sandbox's default distribution has
/// the same mean. An estimate, stated as such in the output.
pub const ASSUMED_CALL_SECONDS: u64 = 180;

impl Estimate {
    pub fn new(campaign: &Campaign, calls: u64) -> Estimate {
        let limits = &campaign.limits;
        let rate = f64::from(limits.calls_per_minute.get());
        let by_concurrency =
            f64::from(limits.max_concurrent.get()) * 60.0 / ASSUMED_CALL_SECONDS as f64;
        let sustained = rate.min(by_concurrency);
        // The burst goes out at once; the rest at the sustained rate; the last call then runs.
        let after_burst = calls.saturating_sub(u64::from(limits.burst.get())) as f64;
        let minutes = if calls == 0 {
            0.0
        } else {
            after_burst / sustained + ASSUMED_CALL_SECONDS as f64 / 60.0
        };
        Estimate {
            calls,
            calls_per_minute: limits.calls_per_minute.get(),
            burst: limits.burst.get(),
            max_concurrent: limits.max_concurrent.get(),
            assumed_call_seconds: ASSUMED_CALL_SECONDS,
            sustained_calls_per_minute: (sustained * 100.0).round() / 100.0,
            minutes: (minutes * 10.0).round() / 10.0,
            windows_apply: campaign.schedule.is_some(),
        }
    }
}

/// `12 min`, `3 h 20 min`, `2 d 4 h`.
pub fn human_minutes(minutes: f64) -> String {
    let total = minutes.ceil() as u64;
    match total {
        0 => "under a minute".to_owned(),
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d {} h", m / 1440, (m % 1440) / 60),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn lines_text(group: &Group) -> String {
    let list: Vec<String> = group.lines.iter().map(u64::to_string).collect();
    let more = group.count.saturating_sub(group.lines.len() as u64);
    let word = if group.count == 1 { "line" } else { "lines" };
    if more > 0 {
        format!("{word} {} and {more} more", list.join(", "))
    } else {
        format!("{word} {}", list.join(", "))
    }
}

/// The report as people read it. Cells from the CSV are escaped for the terminal.
pub fn human(campaign: &Campaign, report: &Report) -> String {
    use std::fmt::Write;
    let esc = |s: &str| crate::text::escape_control(s).into_owned();
    let mut out = String::new();
    let _ = writeln!(out, "Campaign   {}", campaign.name);
    let _ = writeln!(out, "File       {}", campaign.file.display());
    let _ = writeln!(
        out,
        "Contacts   {} ({})",
        campaign.input.path.display(),
        report.census().line()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Rows");
    let _ = writeln!(out, "  to call     {:>7}", report.to_call);
    let _ = writeln!(
        out,
        "  invalid     {:>7}  skipped; listed in the results",
        report.invalid_count()
    );
    let _ = writeln!(
        out,
        "  duplicates  {:>7}  same number as an earlier row; not called",
        report.duplicates.count
    );
    let _ = writeln!(
        out,
        "  suppressed  {:>7}  on a suppression list; never called",
        report.suppressed.count
    );
    if let Some(schedule) = &campaign.schedule {
        let count = |source| report.time_zones.get(source).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "\nTime zones of the rows to call (each is called only inside its local windows)"
        );
        if campaign.input.timezone_column.is_some() {
            let _ = writeln!(out, "  from the timezone column {:>7}", count("column"));
        }
        let _ = writeln!(out, "  from the number          {:>7}", count("number"));
        let _ = writeln!(
            out,
            "  schedule.timezone        {:>7}  {}",
            count("default"),
            schedule.timezone_name
        );
    }
    if !report.invalid.is_empty() {
        let by_problem: u64 = report.invalid.values().map(|g| g.count).sum();
        if by_problem > report.invalid_rows {
            let _ = writeln!(
                out,
                "\nInvalid rows, by problem (a row with several problems is under each)"
            );
        } else {
            let _ = writeln!(out, "\nInvalid rows, by problem");
        }
        for (reason, group) in &report.invalid {
            let _ = writeln!(out, "  {reason} ({}): {}", group.count, lines_text(group));
            if let Some(example) = &group.example {
                let _ = writeln!(out, "    {}", esc(example));
            }
        }
        if report
            .invalid
            .values()
            .any(|g| g.count > g.lines.len() as u64)
        {
            let _ = writeln!(
                out,
                "  (every invalid row with all its problems: add --invalid-csv FILE to validate)"
            );
        }
    }
    if report.past_deadline.count > 0 {
        let group = &report.past_deadline;
        let _ = writeln!(
            out,
            "\nPast their deadline ({}): {}\n  to call, but calls for them stop before now \
             (input.deadline_column less schedule.stop_before): a run writes them expired, never \
             called",
            group.count,
            lines_text(group)
        );
    }
    for (title, group) in [
        ("Duplicates", &report.duplicates),
        ("Suppressed", &report.suppressed),
    ] {
        if group.count > 0 {
            let _ = writeln!(out, "\n{title} ({}): {}", group.count, lines_text(group));
            if let Some(example) = &group.example {
                let _ = writeln!(out, "  {}", esc(example));
            }
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings");
        for warning in &report.warnings {
            let _ = writeln!(out, "  - {}", esc(warning));
        }
    }
    out
}
