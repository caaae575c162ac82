//! `bys-campaign report`: what a campaign achieved, as one self-contained HTML page.
//!
//! The page answers, in this order: what the completed calls obtained (each field of the
//! schema), how rows became answers (the funnel), what retries bought, when people answer (by
//! the recipient's local weekday and hour), what it cost against the limits, which rows need a
//! person, and every run with how it ended.
//!
//! How it is made: one read snapshot of the state file ([`crate::store::Snapshot`]: every
//! figure aggregated in SQL, nothing held per row), pure builders turning aggregates into the
//! sections' data ([`page`]; the timing section's in [`timing`], the cost section's in
//! [`cost`]), plotters drawing the charts with axes to SVG ([`charts`]), and one Tera template
//! compiled into the binary ([`template`]). The file is written atomically beside the results
//! CSV; `run` refreshes it at the end of every run.
//!
//! Invariants:
//! - nothing is loaded from the network: styles, charts and the one small script (sorting
//!   tables) are inline, and the page's Content-Security-Policy forbids any other source;
//! - every value from the CSV, the API or a transcript goes through the template's HTML
//!   escaping; only our own SVG and script are inserted as they are;
//! - by default phone numbers are masked ([`mask`]) and no summary or transcript is included;
//!   `--full` includes them. The API key is never stored, so it cannot appear;
//! - read-only: it takes no lock and writes nothing to the state file, so it works while a run
//!   is going on.

pub mod charts;
pub mod cost;
pub mod mask;
pub mod page;
mod template;
pub mod timing;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::answers::{self, Answers, Values};
use crate::campaign::Campaign;
use crate::store::{AttentionRow, RunEnding, RunRecord, Runs, Snapshot, Store, StoreError};

use cost::{CostView, cost_view};
use page::{AttemptRow, Funnel, Segment, legend, segments, share, width};
use timing::{Heatmap, TimingView, timing_view};

/// How many rows needing attention the page lists.
pub const ATTENTION_ROWS: u32 = 1000;
/// How many runs the page lists (the newest).
pub const RUNS_SHOWN: u32 = 200;

/// What the page includes, and how the commands it suggests read the state file.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Phone numbers in full, summaries and transcripts.
    pub full: bool,
    /// The state file is the rehearsal's (commands it suggests add `--rehearsal`).
    pub rehearsal: bool,
    /// The state file was named with `--state` (commands it suggests name it too).
    pub state: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot make the report page: {0}")]
    Template(String),
    #[error("cannot write the report to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Where the report goes by default: beside the results CSV, `<name>.report.html`
/// (`<name>.rehearsal.report.html` for a rehearsal).
pub fn default_path(campaign: &Campaign, rehearsal: bool) -> PathBuf {
    let results = campaign.results_path(rehearsal);
    let name = if rehearsal {
        format!("{}.rehearsal.report.html", campaign.name)
    } else {
        format!("{}.report.html", campaign.name)
    };
    results.with_file_name(name)
}

/// Makes the page from `store` and writes it to `path` atomically (a reader never sees half a
/// page; a failure leaves the previous one).
pub fn write(
    store: &Store,
    campaign: &Campaign,
    path: &Path,
    options: &ReportOptions,
) -> Result<Written, ReportError> {
    let html = render(store, campaign, options, Timestamp::now())?;
    let failed = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    crate::atomic::write(path, |out| std::io::Write::write_all(out, html.as_bytes())).map_err(
        |e| match e {
            crate::atomic::Error::Io(e) | crate::atomic::Error::Fill(e) => failed(e),
        },
    )?;
    Ok(Written {
        path: path.to_owned(),
        bytes: html.len() as u64,
    })
}

/// The page, as HTML. `now` is when it is made.
pub fn render(
    store: &Store,
    campaign: &Campaign,
    options: &ReportOptions,
    now: Timestamp,
) -> Result<String, ReportError> {
    let as_of = store.reading_time()?;
    let runs = store.runs(RUNS_SHOWN)?;
    let snapshot = store.report_snapshot()?;
    let page = gather(&snapshot, campaign, options, as_of, now, &runs)?;
    drop(snapshot);
    template::render(&page).map_err(ReportError::Template)
}

/// The zone the page shows times in: the campaign's `schedule.timezone`, else UTC.
fn display_zone(campaign: &Campaign) -> (TimeZone, String) {
    match &campaign.schedule {
        Some(s) => (s.timezone.clone(), s.timezone_name.clone()),
        None => (TimeZone::UTC, "UTC".to_owned()),
    }
}

/// An instant to the minute, in the page's zone.
fn minute(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The whole page's data.
#[derive(Debug, Serialize)]
pub struct Page {
    title: String,
    campaign: String,
    version: &'static str,
    rehearsal: bool,
    full: bool,
    as_of: String,
    generated: String,
    zone: String,
    state_file: String,
    /// `53 calls placed`.
    placed: String,
    command: String,
    answers: AnswersView,
    funnel: Funnel,
    retries: RetriesView,
    timing: TimingView,
    cost: CostView,
    attention: AttentionView,
    runs: RunsView,
}

fn gather(
    snapshot: &Snapshot<'_>,
    campaign: &Campaign,
    options: &ReportOptions,
    as_of: Timestamp,
    now: Timestamp,
    runs: &Runs,
) -> Result<Page, ReportError> {
    let (zone, zone_name) = display_zone(campaign);
    let mut counts = snapshot.read_contacts()?;
    let mut calls = Calls::new(campaign);
    snapshot.for_each_call(|call| calls.add(call))?;
    let answers =
        std::mem::replace(&mut calls.answers, answers::Tally::new(&[])).finish(snapshot)?;
    let mut reasons = Vec::new();
    // Reasons are grouped by kind: the row's own values (numbers among them) are left out.
    snapshot.reasons(|state, reason, n| {
        reasons.push((state.to_owned(), reason.to_owned(), n));
    })?;
    counts.complete = calls.complete;
    let funnel = page::funnel(&counts, &reasons);
    let command = commands(campaign, options);
    Ok(Page {
        title: format!("{}: campaign report", campaign.name),
        campaign: campaign.name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        rehearsal: options.rehearsal,
        full: options.full,
        as_of: minute(as_of, &zone),
        generated: minute(now, &zone),
        zone: zone_name,
        state_file: snapshot_path(campaign, options),
        placed: format!("{} placed", page::plural(calls.placed, "call", "calls")),
        command: command.report,
        answers: answers_view(&answers, options.full),
        funnel,
        retries: retries_view(&calls.by_attempt),
        timing: timing_view(&mut calls, &zone),
        cost: cost_view(&calls, campaign),
        attention: attention_view(
            snapshot,
            campaign,
            options,
            &command.explain,
            &command.export,
        )?,
        runs: runs_view(runs, &zone, options.full),
    })
}

/// How many (zone, quarter hour) groups [`Calls`] keeps before folding them into the heatmap.
const QUARTERS_HELD: usize = 100_000;
const QUARTER_MS: i64 = 15 * 60 * 1000;

/// What the page counts in its one pass over the calls; every map is bounded by something other
/// than the number of calls (zones and quarter hours, results and lengths in seconds).
struct Calls {
    fields: Vec<crate::campaign::Field>,
    answers: answers::Tally,
    placed: u64,
    seconds: f64,
    /// Completed calls of contacts still in the CSV that obtained every field.
    complete: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// Zones by name, and the zone of contacts without one (the campaign's).
    zones: Vec<(Option<String>, TimeZone)>,
    /// `(zone, quarter hour)` → `(calls, completed)`, folded into `heat` now and then.
    quarters: HashMap<(usize, i64), (u64, u64)>,
    heat: Heatmap,
    /// Quarter hour → calls by result (in the order of [`page::RESULTS`]).
    over_time: BTreeMap<i64, [u64; 7]>,
    /// `(result, seconds)` → calls.
    lengths: BTreeMap<(usize, u64), u64>,
    /// `(attempt number, result)` → calls.
    by_attempt: Vec<(u64, String, u64)>,
}

impl Calls {
    fn new(campaign: &Campaign) -> Calls {
        // A contact without a known zone is called in the campaign's (see `schedule::zone`).
        let default = campaign
            .schedule
            .as_ref()
            .map_or(TimeZone::UTC, |s| s.timezone.clone());
        Calls {
            fields: campaign.fields.clone(),
            answers: answers::Tally::new(&campaign.fields),
            placed: 0,
            seconds: 0.0,
            complete: 0,
            first: None,
            last: None,
            zones: vec![(None, default)],
            quarters: HashMap::new(),
            heat: Heatmap::default(),
            over_time: BTreeMap::new(),
            lengths: BTreeMap::new(),
            by_attempt: Vec::new(),
        }
    }

    fn add(&mut self, call: &crate::store::CallFacts<'_>) {
        self.answers.add(call);
        self.placed += 1;
        // Few distinct pairs (attempt numbers times results): a list, searched without
        // allocating for each call.
        match self
            .by_attempt
            .iter_mut()
            .find(|(nth, result, _)| *nth == call.nth && result == call.result)
        {
            Some(entry) => entry.2 += 1,
            None => self.by_attempt.push((call.nth, call.result.to_owned(), 1)),
        }
        let completed = call.result == "completed";
        if completed && call.present && answers::every_field_obtained(call, &self.fields) {
            self.complete += 1;
        }
        self.first = Some(self.first.map_or(call.at, |f| f.min(call.at)));
        self.last = Some(self.last.map_or(call.at, |l| l.max(call.at)));
        let quarter = call.at.div_euclid(QUARTER_MS) * QUARTER_MS;
        let zone = self.zone(call.zone);
        let cell = self.quarters.entry((zone, quarter)).or_default();
        cell.0 += 1;
        cell.1 += u64::from(completed);
        if self.quarters.len() >= QUARTERS_HELD {
            self.fold_quarters();
        }
        // A result this version does not know is counted as unknown.
        let result = page::RESULTS
            .iter()
            .position(|r| *r == call.result)
            .unwrap_or(5);
        self.over_time.entry(quarter).or_default()[result] += 1;
        if let Some(secs) = call.secs.filter(|s| s.is_finite() && *s >= 0.0) {
            self.seconds += secs;
            *self
                .lengths
                .entry((result, secs.round() as u64))
                .or_default() += 1;
        }
    }

    /// The index of `name` in `zones`, added if new (an unknown name: the campaign's zone).
    fn zone(&mut self, name: Option<&str>) -> usize {
        let Some(name) = name else { return 0 };
        if let Some(i) = self.zones.iter().position(|z| z.0.as_deref() == Some(name)) {
            return i;
        }
        let tz = TimeZone::get(name).unwrap_or_else(|_| self.zones[0].1.clone());
        self.zones.push((Some(name.to_owned()), tz));
        self.zones.len() - 1
    }

    fn fold_quarters(&mut self) {
        for ((zone, quarter), (calls, reached)) in self.quarters.drain() {
            let at = crate::store::instant(quarter);
            self.heat.add(at, &self.zones[zone].1, calls, reached);
        }
    }
}

/// The state file as the page names it: its file name (the page may be read elsewhere).
fn snapshot_path(campaign: &Campaign, options: &ReportOptions) -> String {
    let path = campaign.state_path(options.state.as_deref(), options.rehearsal);
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The commands the page suggests, reading the same state file as this report.
struct Commands {
    report: String,
    /// `explain`, with `{key}` where the key goes.
    explain: String,
    export: String,
}

fn commands(campaign: &Campaign, options: &ReportOptions) -> Commands {
    let file = crate::text::shell_word(&campaign.file.to_string_lossy());
    let reading = match (&options.state, options.rehearsal) {
        (Some(state), _) => format!(
            " --state {}",
            crate::text::shell_word(&state.to_string_lossy())
        ),
        (None, true) => " --rehearsal".to_owned(),
        (None, false) => String::new(),
    };
    Commands {
        report: format!(
            "bys-campaign report {file}{reading}{}",
            if options.full { " --full" } else { "" }
        ),
        explain: format!("bys-campaign explain {file} {{key}}{reading}"),
        export: format!("bys-campaign export {file}{reading}"),
    }
}

// ---- Answers ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct AnswersView {
    completed_calls: u64,
    /// `the 36 completed calls`.
    completed: String,
    fields: Vec<FieldView>,
}

#[derive(Debug, Serialize)]
struct FieldView {
    name: String,
    description: Option<String>,
    kind: &'static str,
    /// The field's answers in a line, as `status` prints them (without the name).
    summary: String,
    boolean: Option<Vec<Segment>>,
    chart: Option<String>,
    bins: String,
    top: Option<Vec<TopValue>>,
}

#[derive(Debug, Serialize)]
struct TopValue {
    value: String,
    count: u64,
    width: String,
}

fn answers_view(answers: &Answers, full: bool) -> AnswersView {
    let fields = answers
        .fields
        .iter()
        .map(|f| {
            let mut view = FieldView {
                name: f.name.clone(),
                description: f.description.clone(),
                kind: "",
                summary: f
                    .line()
                    .strip_prefix(&format!("{}: ", f.name))
                    .unwrap_or_default()
                    .to_owned(),
                boolean: None,
                chart: None,
                bins: String::new(),
                top: None,
            };
            match &f.values {
                Values::Boolean {
                    yes,
                    no,
                    not_obtained,
                    other,
                } => {
                    view.kind = "boolean";
                    view.boolean = Some(segments(&[
                        ("yes", "yes", *yes),
                        ("no", "no", *no),
                        ("other value", "other", *other),
                        ("not obtained", "missing", *not_obtained),
                    ]));
                }
                Values::Number { histogram, .. } => {
                    view.kind = "number";
                    view.chart = charts::histogram(&f.name, histogram)
                        .inspect_err(|e| tracing::warn!(%e, field = %f.name, "no histogram"))
                        .ok()
                        .filter(|svg| !svg.is_empty());
                    view.bins = match histogram.first() {
                        Some(b) if histogram.len() > 1 => format!(
                            "{} bars {} wide",
                            histogram.len(),
                            answers::number(b.to - b.from)
                        ),
                        _ => "one bar".to_owned(),
                    };
                }
                Values::String {
                    most_common,
                    obtained,
                    ..
                } => {
                    view.kind = "string";
                    // The summary quotes values: masked like the list below.
                    if !full {
                        view.summary = mask::phones(&view.summary).into_owned();
                    }
                    view.top = Some(
                        most_common
                            .iter()
                            .map(|c| TopValue {
                                value: if full {
                                    c.value.clone()
                                } else {
                                    mask::phones(&c.value).into_owned()
                                },
                                count: c.count,
                                width: width(c.count, *obtained),
                            })
                            .collect(),
                    );
                }
            }
            view
        })
        .collect();
    AnswersView {
        completed_calls: answers.completed_calls,
        completed: match answers.completed_calls {
            1 => "the one completed call".to_owned(),
            n => format!("the {n} completed calls"),
        },
        fields,
    }
}

// ---- Retries ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct RetriesView {
    rows: Vec<AttemptRow>,
    legend: Vec<Segment>,
    summary: String,
}

fn retries_view(by_attempt: &[(u64, String, u64)]) -> RetriesView {
    let rows = page::retries(by_attempt);
    let first = rows.first().map_or(0, |r| r.reached);
    let later: u64 = rows.iter().skip(1).map(|r| r.reached).sum();
    let summary = match rows.len() {
        0 => String::new(),
        1 => format!(
            "Every call so far was a contact's first; {} reached someone.",
            page::plural(first, "contact", "contacts")
        ),
        _ => {
            let mut text = format!(
                "{} reached on their first call, {later} more on a later one.",
                page::plural(first, "contact was", "contacts were")
            );
            if first > 0 {
                text.push_str(&format!(
                    " Retries added {} to the contacts reached.",
                    share(later, first)
                ));
            }
            text
        }
    };
    let present = |r: &str| {
        by_attempt
            .iter()
            .any(|(_, result, n)| result == r && *n > 0)
    };
    RetriesView {
        legend: legend(present),
        rows,
        summary,
    }
}

// ---- Needs attention --------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct AttentionView {
    summary: String,
    rows: Vec<AttentionLine>,
    total: u64,
    more: u64,
    export: String,
    /// Numbers are masked.
    masked: bool,
    /// Keys are masked too (they are phone numbers).
    masked_keys: bool,
}

#[derive(Debug, Serialize)]
struct AttentionLine {
    line: i64,
    key: String,
    phone: String,
    kind: &'static str,
    calls: u64,
    reason: String,
    explain: Option<String>,
    summary: Option<String>,
    transcript: Option<String>,
}

fn attention_view(
    snapshot: &Snapshot<'_>,
    campaign: &Campaign,
    options: &ReportOptions,
    explain: &str,
    export: &str,
) -> Result<AttentionView, ReportError> {
    let (rows, total) = snapshot.attention(ATTENTION_ROWS)?;
    let keyed_by_number = campaign.input.key_column.is_none();
    let show = |text: &str| {
        if options.full {
            text.to_owned()
        } else {
            mask::phones(text).into_owned()
        }
    };
    let mut lines = Vec::with_capacity(rows.len());
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for row in &rows {
        *kinds.entry(row.kind).or_default() += 1;
        lines.push(attention_line(
            snapshot,
            row,
            options,
            keyed_by_number,
            explain,
            &show,
        )?);
    }
    let shown = lines.len() as u64;
    let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let need = page::plural(total, "row needs", "rows need");
    let listed = if shown < total {
        format!("; the first {shown} in CSV order")
    } else {
        String::new()
    };
    Ok(AttentionView {
        summary: format!(
            "{need} a person to look at {} ({}){listed}. Unknown: a call may have gone out, and \
             it is never placed again without --retry-unknown; failed: every attempt failed; \
             invalid: refused by the CSV check; refused: by the API.",
            if total == 1 { "it" } else { "them" },
            by_kind.join(", ")
        ),
        rows: lines,
        total,
        more: total.saturating_sub(shown),
        export: export.to_owned(),
        masked: !options.full,
        masked_keys: !options.full && keyed_by_number,
    })
}

fn attention_line(
    snapshot: &Snapshot<'_>,
    row: &AttentionRow,
    options: &ReportOptions,
    keyed_by_number: bool,
    explain: &str,
    show: &dyn Fn(&str) -> String,
) -> Result<AttentionLine, ReportError> {
    let key = row.key.as_deref().map(|k| {
        if keyed_by_number {
            show(k)
        } else {
            k.to_owned()
        }
    });
    let (mut summary, mut transcript) = (None, None);
    if options.full
        && let Some(id) = row.attempt
        && let Some(record) = snapshot.record(id)?
        && let Ok(record) = serde_json::from_str::<serde_json::Value>(&record)
    {
        summary = record["summary"].as_str().map(str::to_owned);
        transcript = record
            .get("transcript")
            .filter(|t| !t.is_null())
            .map(crate::export::transcript_text);
    }
    Ok(AttentionLine {
        line: row.line,
        explain: key
            .as_ref()
            .map(|k| explain.replace("{key}", &crate::text::shell_word(k))),
        key: key.unwrap_or_else(|| "—".to_owned()),
        phone: row.phone.as_deref().map(show).unwrap_or_default(),
        kind: row.kind,
        calls: row.calls,
        reason: row.reason.as_deref().map(show).unwrap_or_default(),
        summary,
        transcript,
    })
}

// ---- Runs -------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct RunsView {
    rows: Vec<RunLine>,
    total: u64,
    unrecorded_calls: u64,
    note: String,
}

#[derive(Debug, Serialize)]
struct RunLine {
    id: i64,
    started: String,
    started_sort: i64,
    ended: String,
    calls: u64,
    ending: String,
    guards: Vec<String>,
}

fn runs_view(runs: &Runs, zone: &TimeZone, full: bool) -> RunsView {
    let mut notes = Vec::new();
    if runs.total > runs.runs.len() as u64 {
        notes.push(format!(
            "The newest {} of {} runs.",
            runs.runs.len(),
            runs.total
        ));
    }
    if runs.unrecorded_calls > 0 {
        notes.push(format!(
            "{} calls were placed before runs were recorded (by an earlier bys-campaign).",
            runs.unrecorded_calls
        ));
    }
    RunsView {
        rows: runs.runs.iter().map(|r| run_line(r, zone, full)).collect(),
        total: runs.total,
        unrecorded_calls: runs.unrecorded_calls,
        note: notes.join(" "),
    }
}

fn run_line(run: &RunRecord, zone: &TimeZone, full: bool) -> RunLine {
    let ending = match run.ending {
        None => "no end recorded: still going on, or stopped without a word (killed)",
        Some(RunEnding::Finished) => "finished: every contact settled",
        Some(RunEnding::CapReached) => "stopped placing at a cap",
        Some(RunEnding::Idle) => "idle (--until-idle): nothing more was due",
        Some(RunEnding::ScheduleOver) => "campaign over (schedule.not_after)",
        Some(RunEnding::Breaker) => "circuit breaker",
        Some(RunEnding::Unreachable) => "outage stop: the API answered only errors",
        Some(RunEnding::Refused) => "the API refused the run",
        Some(RunEnding::Interrupted) => "interrupted (Ctrl-C or SIGTERM)",
        Some(RunEnding::StoppedAtOnce) => "stopped at once (a second Ctrl-C)",
    };
    let mut guards = Vec::new();
    for option in run.options.split(" --").filter(|o| !o.is_empty()) {
        let option = option.trim_start_matches("--");
        guards.push(match option.split_once(' ') {
            Some(("canary", n)) => format!("canary: {n} calls, then stop to check"),
            Some(("max-calls", n)) => format!("--max-calls {n}"),
            _ => format!("--{option}"),
        });
    }
    // The runner's words, which may quote an error the API sent.
    let detail = run.detail.as_deref().unwrap_or_default();
    let detail = if full {
        detail.into()
    } else {
        mask::phones(detail)
    };
    match run.ending {
        Some(RunEnding::Breaker) => guards.push(format!("breaker tripped: {detail}")),
        Some(RunEnding::Unreachable) => guards.push(format!("outage stop: {detail}")),
        Some(RunEnding::CapReached) => guards.push(format!("cap: {detail}")),
        Some(RunEnding::Refused) => guards.push(format!("refused: {detail}")),
        Some(_) if !detail.is_empty() => guards.push(detail.into_owned()),
        _ => {}
    }
    RunLine {
        id: run.id,
        started: minute(run.started_at, zone),
        started_sort: run.started_at.as_millisecond(),
        ended: run
            .ended_at
            .map_or_else(|| "—".to_owned(), |at| minute(at, zone)),
        calls: run.calls,
        ending: ending.to_owned(),
        guards,
    }
}
