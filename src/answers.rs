//! What the completed calls obtained: one summary per field of the campaign's schema, shared by
//! `status` (a line per field, and `--json`) and the report.
//!
//! Over the completed calls (a conversation took place; absent contacts' calls included):
//! - boolean: yes, no, not obtained (null or no value), and values of another type;
//! - number: how many were obtained, min, median, max and a histogram;
//! - string: how many were obtained, how many distinct values, the most common ones.
//!
//! The counts come from one pass over the calls of a [`Snapshot`], which also counts the
//! distinct values of number and string fields while there are few (at most
//! [`DISTINCT_IN_MEMORY`] a field). A field with more is grouped by SQLite, which streams its
//! values out in order: the numbers once in ascending order, which gives the median and fills
//! the histogram, the texts once each with its count, of which the most common are kept. Memory
//! does not grow with the calls.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::campaign::{Field, FieldKind};
use crate::store::{CallFacts, Snapshot, StoreError};
use crate::text::escape_control;

/// How many of the most common values a string field lists.
pub const MOST_COMMON: u32 = 10;

/// The answers of every field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answers {
    /// Calls that completed: what every count below is out of.
    pub completed_calls: u64,
    pub fields: Vec<FieldAnswers>,
}

/// One field's answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldAnswers {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Values {
    Boolean {
        yes: u64,
        no: u64,
        not_obtained: u64,
        /// Values that are not booleans.
        other: u64,
    },
    Number {
        obtained: u64,
        not_obtained: u64,
        /// Values that are not numbers.
        other: u64,
        min: Option<f64>,
        median: Option<f64>,
        max: Option<f64>,
        histogram: Vec<Bin>,
    },
    String {
        obtained: u64,
        distinct: u64,
        not_obtained: u64,
        most_common: Vec<Common>,
    },
}

/// A bar of a number field's histogram: values from `from` (inclusive) to `to` (exclusive, but
/// inclusive for the last bar).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Common {
    pub value: String,
    pub count: u64,
}

/// Reads the answers of `fields` from the snapshot: one pass over the calls, then (for fields
/// with many distinct values) their values grouped by SQLite. The report, which reads the calls
/// for more than this, feeds a [`Tally`] in its own pass instead.
pub fn read(snapshot: &Snapshot<'_>, fields: &[Field]) -> Result<Answers, StoreError> {
    let mut tally = Tally::new(fields);
    snapshot.for_each_call(|call| tally.add(call))?;
    tally.finish(snapshot)
}

/// How many distinct values of a number or string field are counted in memory; a field with
/// more is grouped by SQLite instead (a second, slower read of the completed calls).
const DISTINCT_IN_MEMORY: usize = 4096;

/// What a completed call obtained for one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer<'a> {
    /// Null, or no value at all.
    Missing,
    True,
    False,
    Number(f64),
    Text(&'a str),
    /// An object or an array.
    Composite(&'a serde_json::Value),
}

impl<'a> Answer<'a> {
    pub fn of(
        extracted: Option<&'a serde_json::Map<String, serde_json::Value>>,
        field: &str,
    ) -> Self {
        use serde_json::Value;
        match extracted.and_then(|e| e.get(field)) {
            None | Some(Value::Null) => Answer::Missing,
            Some(Value::Bool(true)) => Answer::True,
            Some(Value::Bool(false)) => Answer::False,
            Some(Value::Number(n)) => n.as_f64().map_or(Answer::Missing, Answer::Number),
            Some(Value::String(s)) => Answer::Text(s),
            Some(other) => Answer::Composite(other),
        }
    }
}

/// Whether a completed call obtained every one of `fields`.
pub fn every_field_obtained(call: &CallFacts<'_>, fields: &[Field]) -> bool {
    fields
        .iter()
        .all(|f| !matches!(Answer::of(call.extracted, &f.name), Answer::Missing))
}

/// The counts of every field over the calls seen so far.
#[derive(Debug, Clone)]
pub struct Tally {
    fields: Vec<Field>,
    completed_calls: u64,
    counts: Vec<Counts>,
}

/// One field's counts: every kind of answer, the range of the numbers, and while they are few,
/// the distinct values with their counts (`None` once there are too many).
#[derive(Debug, Clone, Default)]
struct Counts {
    missing: u64,
    yes: u64,
    no: u64,
    numbers: u64,
    texts: u64,
    composites: u64,
    min: Option<f64>,
    max: Option<f64>,
    /// A number field's values, by their bits (ordered by value when read back).
    number_values: Option<HashMap<u64, u64>>,
    /// A string field's values, as text.
    text_values: Option<HashMap<String, u64>>,
}

impl Tally {
    pub fn new(fields: &[Field]) -> Tally {
        let counts = fields
            .iter()
            .map(|f| Counts {
                number_values: (f.kind == FieldKind::Number).then(HashMap::new),
                text_values: (f.kind == FieldKind::String).then(HashMap::new),
                ..Counts::default()
            })
            .collect();
        Tally {
            fields: fields.to_vec(),
            completed_calls: 0,
            counts,
        }
    }

    /// Counts a call's answers, when it completed.
    pub fn add(&mut self, call: &CallFacts<'_>) {
        if call.result != "completed" {
            return;
        }
        self.completed_calls += 1;
        for (c, field) in self.counts.iter_mut().zip(&self.fields) {
            let answer = Answer::of(call.extracted, &field.name);
            match answer {
                Answer::Missing => c.missing += 1,
                Answer::True => c.yes += 1,
                Answer::False => c.no += 1,
                Answer::Number(x) => {
                    c.numbers += 1;
                    c.min = Some(c.min.map_or(x, |m| m.min(x)));
                    c.max = Some(c.max.map_or(x, |m| m.max(x)));
                    if let Some(values) = &mut c.number_values {
                        *values.entry(x.to_bits()).or_default() += 1;
                    }
                }
                Answer::Text(_) => c.texts += 1,
                Answer::Composite(_) => c.composites += 1,
            }
            if let Some(values) = &mut c.text_values {
                let text = match answer {
                    Answer::Missing => None,
                    Answer::True => Some("true".into()),
                    Answer::False => Some("false".into()),
                    Answer::Number(_) | Answer::Composite(_) => call
                        .extracted
                        .and_then(|e| e.get(&field.name))
                        .map(|v| std::borrow::Cow::Owned(v.to_string())),
                    Answer::Text(s) => Some(std::borrow::Cow::Borrowed(s)),
                };
                if let Some(text) = text {
                    match values.get_mut(text.as_ref()) {
                        Some(n) => *n += 1,
                        None => {
                            values.insert(text.into_owned(), 1);
                        }
                    }
                }
            }
            if c.number_values
                .as_ref()
                .is_some_and(|v| v.len() > DISTINCT_IN_MEMORY)
            {
                c.number_values = None;
            }
            if c.text_values
                .as_ref()
                .is_some_and(|v| v.len() > DISTINCT_IN_MEMORY)
            {
                c.text_values = None;
            }
        }
    }

    /// The answers: the counts, with the numbers' median and histogram and the most common
    /// texts (from the values counted, or grouped by SQLite for a field that had too many).
    pub fn finish(self, snapshot: &Snapshot<'_>) -> Result<Answers, StoreError> {
        let mut out = Vec::with_capacity(self.fields.len());
        for (field, c) in self.fields.into_iter().zip(self.counts) {
            let obtained = c.yes + c.no + c.numbers + c.texts + c.composites;
            let values = match field.kind {
                FieldKind::Boolean => Values::Boolean {
                    yes: c.yes,
                    no: c.no,
                    not_obtained: c.missing,
                    other: obtained - c.yes - c.no,
                },
                FieldKind::Number => {
                    let mut stats = NumberStats::new(c.numbers, c.min, c.max);
                    match c.number_values {
                        Some(values) => {
                            let mut values: Vec<(f64, u64)> = values
                                .into_iter()
                                .map(|(bits, n)| (f64::from_bits(bits), n))
                                .collect();
                            values.sort_by(|a, b| a.0.total_cmp(&b.0));
                            for (value, n) in values {
                                stats.add(value, n);
                            }
                        }
                        None => {
                            snapshot.number_values(&field.name, |value, n| stats.add(value, n))?;
                        }
                    }
                    Values::Number {
                        obtained: c.numbers,
                        not_obtained: c.missing,
                        other: obtained - c.numbers,
                        min: c.min,
                        median: stats.median(),
                        max: c.max,
                        histogram: stats.bins,
                    }
                }
                FieldKind::String => {
                    let mut top = TopValues::new(MOST_COMMON as usize);
                    match c.text_values {
                        Some(values) => {
                            for (value, n) in &values {
                                top.add(value, *n);
                            }
                        }
                        None => snapshot.text_values(&field.name, |value, n| top.add(value, n))?,
                    }
                    Values::String {
                        obtained,
                        distinct: top.distinct,
                        not_obtained: c.missing,
                        most_common: top.into_sorted(),
                    }
                }
            };
            out.push(FieldAnswers {
                name: field.name,
                description: field.description,
                values,
            });
        }
        Ok(Answers {
            completed_calls: self.completed_calls,
            fields: out,
        })
    }
}

/// The `size` most common of values streamed with their counts, and how many there were.
#[derive(Debug, Clone)]
pub struct TopValues {
    size: usize,
    pub distinct: u64,
    /// At most `size`, kept sorted: most common first, ties in value order.
    top: Vec<Common>,
}

impl TopValues {
    pub fn new(size: usize) -> TopValues {
        TopValues {
            size,
            distinct: 0,
            top: Vec::with_capacity(size + 1),
        }
    }

    pub fn add(&mut self, value: &str, count: u64) {
        self.distinct += 1;
        let before = |c: &Common| c.count > count || (c.count == count && c.value.as_str() < value);
        let at = self.top.iter().take_while(|c| before(c)).count();
        if at < self.size {
            self.top.insert(
                at,
                Common {
                    value: value.to_owned(),
                    count,
                },
            );
            self.top.truncate(self.size);
        }
    }

    pub fn into_sorted(self) -> Vec<Common> {
        self.top
    }
}

/// How many bars a histogram has at most.
const MAX_BINS: usize = 12;

/// The median and histogram of a number field, from its values in ascending order.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberStats {
    count: u64,
    seen: u64,
    /// The values at positions `count / 2 - 1` and `count / 2` (0-based), once seen.
    lower: Option<f64>,
    upper: Option<f64>,
    pub bins: Vec<Bin>,
}

impl NumberStats {
    /// For `count` values from `min` to `max`.
    pub fn new(count: u64, min: Option<f64>, max: Option<f64>) -> NumberStats {
        NumberStats {
            count,
            seen: 0,
            lower: None,
            upper: None,
            bins: match (min, max) {
                (Some(min), Some(max)) if count > 0 => bins(min, max),
                _ => Vec::new(),
            },
        }
    }

    /// Adds `n` values equal to `value`; values come in ascending order.
    pub fn add(&mut self, value: f64, n: u64) {
        let (from, to) = (self.seen, self.seen + n);
        let half = self.count / 2;
        if self.count.is_multiple_of(2) && half > 0 && (from..to).contains(&(half - 1)) {
            self.lower = Some(value);
        }
        if (from..to).contains(&half) {
            self.upper = Some(value);
        }
        self.seen = to;
        let last = self.bins.len().saturating_sub(1);
        if let Some(i) = self.bins.iter().position(|b| value < b.to).or(Some(last))
            && let Some(bin) = self.bins.get_mut(i)
        {
            bin.count += n;
        }
    }

    pub fn median(&self) -> Option<f64> {
        match (self.count % 2, self.lower, self.upper) {
            (0, Some(lower), Some(upper)) => Some((lower + upper) / 2.0),
            (1, _, Some(middle)) => Some(middle),
            _ => None,
        }
    }
}

/// Empty bars from `min` to `max`: one per integer when at most [`MAX_BINS`] integers span the
/// range, otherwise at most [`MAX_BINS`] bars of a round width (1, 2 or 5 times a power of ten).
pub fn bins(min: f64, max: f64) -> Vec<Bin> {
    let bin = |from: f64, to: f64| Bin { from, to, count: 0 };
    if !(min.is_finite() && max.is_finite()) || max < min {
        return Vec::new();
    }
    if min.fract() == 0.0 && max.fract() == 0.0 && max - min < MAX_BINS as f64 {
        return (0..=(max - min) as u64)
            .map(|i| bin(min + i as f64, min + i as f64 + 1.0))
            .collect();
    }
    let span = (max - min).max(f64::EPSILON);
    let rough = span / MAX_BINS as f64;
    let power = 10f64.powf(rough.log10().floor());
    let width = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|w| (max / w).floor() - (min / w).floor() < MAX_BINS as f64)
        .unwrap_or(10.0 * power);
    let start = (min / width).floor() * width;
    let count = (((max - start) / width).floor() as usize + 1).min(MAX_BINS);
    (0..count)
        .map(|i| bin(start + i as f64 * width, start + (i + 1) as f64 * width))
        .collect()
}

/// A number as people write it: `3`, `2.5`, `0.125`, `1e21`.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl FieldAnswers {
    /// The field's answers in one line, as `status` prints them; text from the API is escaped.
    pub fn line(&self) -> String {
        let mut out = format!("{}: ", self.name);
        match &self.values {
            Values::Boolean {
                yes,
                no,
                not_obtained,
                other,
            } => {
                let _ = write!(out, "yes {yes}, no {no}, not obtained {not_obtained}");
                if *other > 0 {
                    let _ = write!(out, ", not a yes or no {other}");
                }
            }
            Values::Number {
                obtained,
                not_obtained,
                other,
                min,
                median,
                max,
                ..
            } => {
                let _ = write!(out, "{obtained} obtained");
                if let (Some(min), Some(median), Some(max)) = (min, median, max) {
                    let _ = write!(
                        out,
                        " (min {}, median {}, max {})",
                        number(*min),
                        number(*median),
                        number(*max)
                    );
                }
                let _ = write!(out, ", not obtained {not_obtained}");
                if *other > 0 {
                    let _ = write!(out, ", not a number {other}");
                }
            }
            Values::String {
                obtained,
                distinct,
                not_obtained,
                most_common,
            } => {
                let _ = write!(
                    out,
                    "{obtained} obtained ({distinct} distinct), not obtained {not_obtained}"
                );
                let common: Vec<String> = most_common
                    .iter()
                    .take(3)
                    .map(|c| format!("\"{}\" {}", escape_control(&c.value), c.count))
                    .collect();
                if !common.is_empty() {
                    let _ = write!(out, "; most common: {}", common.join(", "));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: &[(f64, u64)]) -> NumberStats {
        let count = values.iter().map(|v| v.1).sum();
        let mut stats = NumberStats::new(
            count,
            values.first().map(|v| v.0),
            values.last().map(|v| v.0),
        );
        for &(value, n) in values {
            stats.add(value, n);
        }
        stats
    }

    #[test]
    fn the_median_is_found_in_one_pass_over_the_counted_values() {
        assert_eq!(stats(&[(5.0, 1)]).median(), Some(5.0));
        assert_eq!(stats(&[(1.0, 1), (3.0, 1)]).median(), Some(2.0));
        assert_eq!(stats(&[(1.0, 2), (3.0, 1)]).median(), Some(1.0));
        assert_eq!(stats(&[(1.0, 1), (2.0, 1), (9.0, 2)]).median(), Some(5.5));
        assert_eq!(stats(&[(1.0, 3), (2.0, 3)]).median(), Some(1.5));
        assert_eq!(stats(&[]).median(), None);
    }

    #[test]
    fn small_integer_ranges_get_a_bar_per_value() {
        let s = stats(&[(1.0, 2), (3.0, 1), (4.0, 5)]);
        let bars: Vec<(f64, u64)> = s.bins.iter().map(|b| (b.from, b.count)).collect();
        assert_eq!(bars, [(1.0, 2), (2.0, 0), (3.0, 1), (4.0, 5)]);
    }

    #[test]
    fn wide_ranges_get_round_bars_and_every_value_lands_in_one() {
        let s = stats(&[(0.5, 1), (37.0, 2), (99.5, 1), (250.0, 3)]);
        assert!(s.bins.len() <= MAX_BINS, "{:?}", s.bins);
        assert_eq!(s.bins[0].from, 0.0);
        assert_eq!(s.bins[1].from - s.bins[0].from, 50.0);
        assert!(s.bins.last().unwrap().to >= 250.0);
        assert_eq!(s.bins.iter().map(|b| b.count).sum::<u64>(), 7);
        let last = s.bins.last().unwrap();
        assert_eq!(
            (last.from, last.count),
            (250.0, 3),
            "the maximum is in the last bar"
        );
        assert!(bins(3.0, 3.0).len() == 1);
        assert!(bins(0.0, 0.001).len() <= MAX_BINS);
        assert_eq!(bins(f64::NAN, 1.0), Vec::new());
    }

    #[test]
    fn the_most_common_values_are_kept_in_a_bounded_list() {
        let mut top = TopValues::new(3);
        for (value, n) in [
            ("noon", 13),
            ("10:30", 6),
            ("9:00", 10),
            ("after 3", 5),
            ("a", 10),
        ] {
            top.add(value, n);
        }
        assert_eq!(top.distinct, 5);
        let kept: Vec<(String, u64)> = top
            .into_sorted()
            .into_iter()
            .map(|c| (c.value, c.count))
            .collect();
        assert_eq!(
            kept,
            [("noon".into(), 13), ("9:00".into(), 10), ("a".into(), 10)],
            "ties in value order"
        );
    }

    #[test]
    fn lines_for_status() {
        let field = |values| FieldAnswers {
            name: "f".into(),
            description: None,
            values,
        };
        assert_eq!(
            field(Values::Boolean {
                yes: 30,
                no: 4,
                not_obtained: 2,
                other: 0
            })
            .line(),
            "f: yes 30, no 4, not obtained 2"
        );
        assert_eq!(
            field(Values::Number {
                obtained: 3,
                not_obtained: 1,
                other: 1,
                min: Some(1.0),
                median: Some(2.5),
                max: Some(9.0),
                histogram: Vec::new()
            })
            .line(),
            "f: 3 obtained (min 1, median 2.5, max 9), not obtained 1, not a number 1"
        );
        assert_eq!(
            field(Values::String {
                obtained: 5,
                distinct: 4,
                not_obtained: 0,
                most_common: ["noon\u{1b}[2J", "a", "b", "c"]
                    .iter()
                    .map(|v| Common {
                        value: (*v).into(),
                        count: 1
                    })
                    .collect()
            })
            .line(),
            "f: 5 obtained (4 distinct), not obtained 0; most common: \"noon\\u{1b}[2J\" 1, \"a\" 1, \"b\" 1"
        );
    }
}
