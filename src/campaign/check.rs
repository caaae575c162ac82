//! Raw campaign → [`Campaign`]: every check that can be made without calling anyone.
//!
//! Problems are collected rather than returned at the first one, so a user fixes a file in one
//! pass. Each problem points at the line:column of the offending key or value.

mod limits;
mod schedule;
mod webhook;
mod yaml;

use schedule::short_windows;
use yaml::from_serde;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;

use super::locate::{Pos, SourceMap};
use super::raw::{RawCall, RawCampaign, RawInput};
use super::{
    Call, Campaign, Column, Field, FieldKind, Input, LoadError, Output, Problem, defaults, duration,
};
use crate::template::{RenderError, TemplateKind, Templates, budget};
use crate::text::did_you_mean;

pub(super) fn load(
    file: &Path,
    source: &str,
    options: &super::LoadOptions,
) -> Result<Campaign, LoadError> {
    let raw: RawCampaign = serde_yaml::from_str(source).map_err(|err| LoadError::Invalid {
        file: file.to_owned(),
        problems: vec![from_serde(&err, source)],
    })?;
    let mut checker = Checker {
        file,
        options,
        map: SourceMap::new(source),
        problems: Vec::new(),
    };
    let campaign = checker.campaign(raw)?;
    checker
        .problems
        .sort_by_key(|p| p.pos.map(|pos| (pos.line, pos.column)));
    checker.problems = Problem::merge(std::mem::take(&mut checker.problems));
    match campaign {
        Some(campaign) if checker.problems.is_empty() => Ok(campaign),
        _ => Err(LoadError::Invalid {
            file: file.to_owned(),
            problems: checker.problems,
        }),
    }
}

/// The existing file of `pattern` (a path whose file name holds `{date}`) with the latest date.
fn latest_daily(pattern: &Path) -> Option<PathBuf> {
    let name = pattern.file_name()?.to_str()?;
    let (prefix, suffix) = name.split_once(super::DATE_PLACEHOLDER)?;
    // `appts-{date}.csv` beside a campaign file named without a folder: the working folder.
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().into_string().ok()?;
            let date = file.strip_prefix(prefix)?.strip_suffix(suffix)?;
            let date: jiff::civil::Date = date.parse().ok()?;
            Some((date, dir.join(&file)))
        })
        .max()
        .map(|(_, path)| path)
}

struct Checker<'a> {
    file: &'a Path,
    options: &'a super::LoadOptions,
    map: SourceMap,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&self, path: &str) -> Option<Pos> {
        self.map.value(path)
    }

    fn report(&mut self, path: &str, message: impl Into<String>) -> &mut Problem {
        let problem = Problem::new(self.at(path), message);
        self.problems.push(problem);
        self.problems.last_mut().expect("just pushed")
    }

    fn base(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new(""))
    }

    /// `Ok(None)` when problems were recorded; `Err` for a missing file, which stops at once.
    fn campaign(&mut self, raw: RawCampaign) -> Result<Option<Campaign>, LoadError> {
        let name = self.name(raw.name.as_deref());
        let zone = raw.schedule.as_ref().and_then(|s| s.timezone.as_deref());
        let input = self.input(&raw.input, zone)?;
        let call = input.as_ref().and_then(|input| self.call(raw.call, input));
        let fields = self.fields(raw.fields);
        let stop_before_given = raw
            .schedule
            .as_ref()
            .is_some_and(|s| s.stop_before.is_some());
        let schedule = raw.schedule.map(|s| self.schedule(s));
        let limits = self.limits(&raw.limits);
        let retry = self.retry(&raw.retry);
        let suppress = self.suppress(&raw.suppress)?;
        let webhook = raw.webhook.as_ref().map(|w| self.webhook(w));
        let output = Output {
            path: self.base().join(
                raw.output
                    .path
                    .unwrap_or_else(|| format!("results/{name}.csv")),
            ),
            transcript: raw.output.transcript.unwrap_or(false),
            excel: raw.output.excel.unwrap_or(false),
        };
        let mut warnings = Vec::new();
        if let Some(Some(schedule)) = &schedule {
            warnings.extend(short_windows(schedule));
            warnings.extend(crate::zones::summer_time_warning(
                "schedule.timezone is",
                &schedule.timezone_name,
            ));
        }
        if schedule.is_none() {
            warnings.push(
                "no `schedule`: calls may be placed at any hour. Most jurisdictions restrict \
                 calling hours (in the US, 8 am to 9 pm recipient local time); add a \
                 `schedule` with `windows`."
                    .to_owned(),
            );
        }
        if let Some(limits) = &limits
            && limits.lost_answer_wait < defaults::LOST_ANSWER_WAIT_WARN
        {
            warnings.push(format!(
                "limits.lost_answer_wait is {}: a POST whose answer was lost and that reaches the API \
                 later than that (held by a proxy, a queue or the network) could create its call \
                 after the runner judged it not placed, and the contact would be called twice. Keep \
                 it at {} or more unless you know how long a request can take to arrive.",
                duration::format(limits.lost_answer_wait),
                duration::format(defaults::LOST_ANSWER_WAIT_WARN)
            ));
        }
        let deadlines = raw.input.deadline_column.is_some();
        if deadlines && schedule.is_none() {
            self.report(
                "input.deadline_column",
                "`input.deadline_column` needs a `schedule`: deadlines are read in each row's \
                 zone, which falls back to schedule.timezone",
            )
            .hint = Some(
                "add a schedule with its timezone, e.g. schedule: { timezone: Europe/London }"
                    .into(),
            );
        }
        if !deadlines && stop_before_given {
            self.report(
                "schedule.stop_before",
                "`schedule.stop_before` needs `input.deadline_column`: it says how long before \
                 each row's deadline its calls stop",
            )
            .hint = Some(
                "name the column that holds each row's deadline, e.g. input.deadline_column: \
                 appointment"
                    .into(),
            );
        }
        let (Some(input), Some(call), Some(limits), Some(retry)) = (input, call, limits, retry)
        else {
            return Ok(None);
        };
        let Some(schedule) = schedule.map_or(Some(None), |s| s.map(Some)) else {
            return Ok(None);
        };
        let Some(webhook) = webhook.map_or(Some(None), |w| w.map(Some)) else {
            return Ok(None);
        };
        Ok(Some(Campaign {
            name,
            file: self.file.to_owned(),
            input,
            call,
            fields,
            schedule,
            limits,
            retry,
            suppress,
            output,
            webhook,
            warnings,
        }))
    }

    fn name(&mut self, name: Option<&str>) -> String {
        let stem = || {
            self.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let name = name.map_or_else(stem, str::to_owned);
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            self.report(
                "name",
                format!("campaign name {name:?} is not usable in file names"),
            )
            .hint = Some(
                "use letters, digits, `.`, `_` and `-`, e.g. appointment-confirmations".into(),
            );
        }
        name
    }

    /// The contacts CSV to read: `run --contacts`, else `input.path` with `{date}` replaced by
    /// the day of [`super::LoadOptions::at`] in `zone` (`schedule.timezone`; UTC without one or
    /// when it is unknown, which the schedule's check reports).
    fn contacts_path(&self, raw: &RawInput, zone: Option<&str>) -> PathBuf {
        if let Some(path) = &self.options.contacts {
            return path.clone();
        }
        if !raw.path.contains(super::DATE_PLACEHOLDER) {
            return self.base().join(&raw.path);
        }
        let zone = zone
            .and_then(|z| jiff::tz::db().get(z).ok())
            .unwrap_or(TimeZone::UTC);
        let at = self
            .options
            .at
            .as_deref()
            .and_then(|text| crate::zones::parse_instant(text, &zone))
            .unwrap_or_else(jiff::Timestamp::now);
        let date = at.to_zoned_datetime(zone).date().to_string();
        let path = self
            .base()
            .join(raw.path.replace(super::DATE_PLACEHOLDER, &date));
        if self.options.latest && !path.exists() {
            return latest_daily(&self.base().join(&raw.path)).unwrap_or(path);
        }
        path
    }

    fn input(&mut self, raw: &RawInput, zone: Option<&str>) -> Result<Option<Input>, LoadError> {
        let path = self.contacts_path(raw, zone);
        let delimiter = match raw.delimiter.as_deref() {
            None => Some(defaults::DELIMITER),
            Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" => {
                Some(d.as_bytes()[0])
            }
            Some(d) => {
                self.report(
                    "input.delimiter",
                    format!("delimiter {d:?} must be one ASCII character"),
                )
                .hint =
                    Some("for example \",\", \";\", \"|\" or \"\\t\" (in double quotes)".into());
                None
            }
        };
        let default_region = raw.default_region.as_deref().and_then(|r| self.region(r));
        let header =
            match crate::csvfile::read_header(&path, delimiter.unwrap_or(defaults::DELIMITER)) {
                Ok(header) => header,
                Err(crate::csvfile::HeaderError::Io(source)) => {
                    return Err(LoadError::Missing {
                        what: "contacts CSV",
                        path,
                        named_by: self.at("input.path").map(|pos| (self.file.to_owned(), pos)),
                        source,
                    });
                }
                Err(err) => {
                    self.report("input.path", format!("{}: {err}", path.display()));
                    return Ok(None);
                }
            };
        let phone_column = self.column(
            "input.phone_column",
            raw.phone_column
                .as_deref()
                .unwrap_or(defaults::PHONE_COLUMN),
            &header,
        );
        let key_column = raw
            .key_column
            .as_deref()
            .map(|c| self.column("input.key_column", c, &header));
        let timezone_column = raw
            .timezone_column
            .as_deref()
            .map(|c| self.column("input.timezone_column", c, &header));
        let deadline_column = raw
            .deadline_column
            .as_deref()
            .map(|c| self.column("input.deadline_column", c, &header));
        let (Some(delimiter), Some(phone_column)) = (delimiter, phone_column) else {
            return Ok(None);
        };
        if raw.default_region.is_some() && default_region.is_none() {
            return Ok(None);
        }
        let key_column = match key_column {
            Some(None) => return Ok(None),
            Some(Some(c)) => Some(c),
            None => None,
        };
        let timezone_column = match timezone_column {
            Some(None) => return Ok(None),
            Some(Some(c)) => Some(c),
            None => None,
        };
        let deadline_column = match deadline_column {
            Some(None) => return Ok(None),
            Some(Some(c)) => Some(c),
            None => None,
        };
        Ok(Some(Input {
            path,
            delimiter,
            columns: header,
            phone_column,
            key_column,
            timezone_column,
            deadline_column,
            default_region,
        }))
    }

    fn region(&mut self, text: &str) -> Option<crate::phone::Region> {
        let upper = text.trim().to_ascii_uppercase();
        match upper.parse::<crate::phone::Region>() {
            Ok(id) if upper.len() == 2 => Some(id),
            _ => {
                self.report(
                    "input.default_region",
                    format!("{text:?} is not a two-letter country code"),
                )
                .hint = Some("use an ISO 3166 code such as US, CA, GB, AU, NZ or IL".into());
                None
            }
        }
    }

    fn column(&mut self, path: &str, name: &str, header: &[String]) -> Option<Column> {
        if let Some(index) = header.iter().position(|c| c == name) {
            return Some(Column {
                name: name.to_owned(),
                index,
            });
        }
        let near = did_you_mean(name, header.iter().map(String::as_str));
        let problem = self.report(path, format!("the CSV has no column `{name}`"));
        problem.hint = Some(match near {
            Some(near) => format!("did you mean `{near}`? columns: {}", header.join(", ")),
            None => format!("columns: {}", header.join(", ")),
        });
        None
    }

    fn call(&mut self, raw: RawCall, input: &Input) -> Option<Call> {
        let columns = &input.columns;
        let templates = match Templates::compile(&raw.objective, raw.context.as_deref()) {
            Ok(t) => Some(t),
            Err(err) => {
                let path = match err.kind {
                    TemplateKind::Objective => "call.objective",
                    TemplateKind::Context => "call.context",
                };
                self.report(
                    path,
                    format!("`{path}` is not a valid template:\n{}", err.message),
                )
                .hint = Some("templates use Tera syntax: {{ column_name }}".into());
                None
            }
        };
        let mut ok = templates.is_some();
        if let Some(templates) = &templates {
            for (kind, variable) in templates.variables() {
                if columns.iter().any(|c| c == variable) {
                    continue;
                }
                let path = match kind {
                    TemplateKind::Objective => "call.objective",
                    TemplateKind::Context => "call.context",
                };
                let near = did_you_mean(variable, columns.iter().map(String::as_str));
                let hint = match near {
                    Some(near) => format!("did you mean `{near}`? columns: {}", columns.join(", ")),
                    None => format!("columns available: {}", columns.join(", ")),
                };
                self.report(
                    path,
                    format!("`{path}` uses `{variable}`, which is not a CSV column"),
                )
                .hint = Some(hint);
                ok = false;
            }
        }
        if ok && let Some(templates) = &templates {
            ok = self.within_budget(templates, input);
        }
        let caller_id = raw.caller_id.as_deref().and_then(|id| {
            let normalized = crate::phone::strict_e164(id);
            if normalized.is_none() {
                ok = false;
                self.report(
                    "call.caller_id",
                    format!("caller ID {id:?} is not an E.164 number"),
                )
                .hint =
                    Some("write it with + and country code, in quotes: \"+14155550100\"".into());
            }
            normalized
        });
        for (path, value) in [("call.voice", &raw.voice), ("call.language", &raw.language)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                self.report(path, format!("`{path}` is empty")).hint =
                    Some("remove the key to use the account's default".into());
                ok = false;
            }
        }
        if let Some(lang) = raw.language.as_deref().filter(|l| !l.trim().is_empty())
            && !is_language_tag(lang)
        {
            self.report(
                "call.language",
                format!("{lang:?} is not a BCP-47 language tag"),
            )
            .hint = Some("for example en-US, es-MX, fr, or auto".into());
            ok = false;
        }
        ok.then(|| Call {
            templates: templates.expect("ok implies compiled"),
            caller_id,
            voice: raw.voice,
            language: raw.language,
        })
    }

    /// Tries the templates on empty cells and on the first rows of the CSV: a template that
    /// goes over the render budget there (see [`crate::template::budget`]) would on every row,
    /// and is refused now, with its line in the campaign file, rather than found row by row.
    fn within_budget(&mut self, templates: &Templates, input: &Input) -> bool {
        let empty = vec![String::new(); input.columns.len()];
        let rows = crate::csvfile::first_rows(&input.path, input.delimiter, input.columns.len(), 3);
        let tries =
            std::iter::once((None, empty)).chain(rows.into_iter().map(|(l, c)| (Some(l), c)));
        for (line, cells) in tries {
            let Err(RenderError::OverBudget { kind, limit }) =
                templates.render_row(&input.columns, &cells)
            else {
                continue;
            };
            let path = match kind {
                TemplateKind::Objective => "call.objective",
                TemplateKind::Context => "call.context",
            };
            let on = match line {
                None => "even with every cell empty".to_owned(),
                Some(line) => format!(
                    "on line {line} of {}",
                    input.path.file_name().unwrap_or_default().to_string_lossy()
                ),
            };
            self.report(
                path,
                format!(
                    "`{path}` goes over the render budget {on}: {}",
                    limit.describe()
                ),
            )
            .hint = Some(format!(
                "each row's objective and context may be {} bytes long and take {} loop steps \
                 to render; make the loops shorter",
                crate::text::thousands(budget::MAX_OUTPUT as u64),
                crate::text::thousands(budget::MAX_STEPS.into())
            ));
            return false;
        }
        true
    }

    fn fields(&mut self, raw: Vec<super::raw::RawField>) -> Vec<Field> {
        if raw.len() > defaults::MAX_FIELDS {
            self.report(
                &format!("fields[{}]", defaults::MAX_FIELDS),
                format!(
                    "{} fields; the API accepts at most {}",
                    crate::text::thousands(raw.len() as u64),
                    defaults::MAX_FIELDS
                ),
            )
            .hint = Some("remove fields, or combine related ones into one string field".into());
        }
        let mut fields: Vec<Field> = Vec::with_capacity(raw.len());
        for (i, f) in raw.into_iter().enumerate() {
            let at = format!("fields[{i}]");
            if !is_identifier(&f.name) {
                self.report(
                    &format!("{at}.name"),
                    format!("field name {:?} is not an identifier", f.name),
                )
                .hint = Some("use letters, digits and _, starting with a letter: new_time".into());
            }
            if let Some(first) = fields.iter().position(|g| g.name == f.name) {
                let first_line = self.at(&format!("fields[{first}].name")).map(|p| p.line);
                self.report(
                    &format!("{at}.name"),
                    format!("field `{}` is defined twice", f.name),
                )
                .hint = first_line.map(|l| format!("the first definition is on line {l}"));
            }
            let kind = match f.kind.as_deref() {
                None => FieldKind::String,
                Some(text) => FieldKind::parse(text).unwrap_or_else(|| {
                    let near = did_you_mean(text, FieldKind::NAMES);
                    self.report(
                        &format!("{at}.type"),
                        format!("unknown field type {text:?}"),
                    )
                    .hint = Some(match near {
                        Some(near) => {
                            format!("did you mean `{near}`? types: string, boolean, number")
                        }
                        None => "types: string, boolean, number".into(),
                    });
                    FieldKind::String
                }),
            };
            fields.push(Field {
                name: f.name,
                kind,
                description: f.description,
            });
        }
        fields
    }

    fn time(&mut self, path: &str, text: &str) -> Option<Time> {
        // Exactly HH:MM: "9:00" or "09:00:30" are refused rather than guessed at.
        let parsed = (text.len() == 5 && text.as_bytes()[2] == b':')
            .then(|| text.parse::<Time>().ok())
            .flatten();
        if parsed.is_none() {
            self.report(path, format!("{text:?} is not a time of day"))
                .hint = Some("write 24-hour HH:MM in quotes, e.g. \"09:00\" or \"17:30\"".into());
        }
        parsed
    }

    fn duration(&mut self, path: &str, text: &str) -> Option<Duration> {
        let parsed = duration::parse(text);
        if parsed.is_none() {
            self.report(path, format!("{text:?} is not a duration"))
                .hint =
                Some("write a number and a unit: 90s, 15m, 2h, 1d, or combined: 1h30m".into());
        }
        parsed
    }

    fn instant(&mut self, path: &str, text: &str, tz: &TimeZone) -> Option<jiff::Timestamp> {
        match crate::zones::parse_instant(text, tz) {
            Some(ts) => Some(ts),
            None => {
                self.report(path, format!("{text:?} is not a date and time"))
                    .hint = Some("write \"2026-12-01 09:00\" (in schedule.timezone) or RFC 3339 \"2026-12-01T09:00:00-08:00\"".into());
                None
            }
        }
    }

    fn suppress(&mut self, raw: &[String]) -> Result<Vec<PathBuf>, LoadError> {
        let mut paths = Vec::with_capacity(raw.len());
        for (i, p) in raw.iter().enumerate() {
            let path = self.base().join(p);
            if let Err(source) = std::fs::metadata(&path) {
                return Err(LoadError::Missing {
                    what: "suppression file",
                    path,
                    named_by: self
                        .at(&format!("suppress[{i}]"))
                        .map(|pos| (self.file.to_owned(), pos)),
                    source,
                });
            }
            paths.push(path);
        }
        Ok(paths)
    }
}

/// A field name the API and a results-CSV header both take: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A loose BCP-47 check (`en`, `en-US`, `zh-Hant-TW`) or the API's `auto`.
fn is_language_tag(tag: &str) -> bool {
    if tag == "auto" {
        return true;
    }
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("confirmed"));
        assert!(is_identifier("_x1"));
        for bad in ["", "1st", "new time", "new-time", "día"] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en-US", "zh-Hant-TW", "auto", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "english", "en_US", "e"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
