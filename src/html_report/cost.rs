//! The "Cost" section: minutes of conversation and calls placed against `limits.max_calls` and
//! `max_minutes`, and how long the calls of each result lasted.

use serde::Serialize;

use super::page::{self, clock, result_label};
use super::{Calls, charts};
use crate::campaign::Campaign;

/// How long the calls of one result lasted (seconds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthStats {
    pub result: String,
    pub calls: u64,
    pub total: u64,
    pub min: u64,
    pub q1: u64,
    pub median: u64,
    pub q3: u64,
    pub p90: u64,
    pub max: u64,
}

/// The statistics of `values`: `(seconds, calls)` in ascending order of seconds. Quantiles are
/// the value at the rank (nearest rank, so always a length some call had).
pub fn length_stats(result: &str, values: &[(u64, u64)]) -> Option<LengthStats> {
    let calls: u64 = values.iter().map(|v| v.1).sum();
    if calls == 0 {
        return None;
    }
    let at = |q: f64| {
        let rank = ((q * calls as f64).ceil() as u64).clamp(1, calls);
        let mut seen = 0;
        for &(secs, n) in values {
            seen += n;
            if seen >= rank {
                return secs;
            }
        }
        values.last().map_or(0, |v| v.0)
    };
    Some(LengthStats {
        result: result.to_owned(),
        calls,
        total: values.iter().map(|(s, n)| s * n).sum(),
        min: values.first().map_or(0, |v| v.0),
        q1: at(0.25),
        median: at(0.5),
        q3: at(0.75),
        p90: at(0.9),
        max: values.last().map_or(0, |v| v.0),
    })
}

/// A use of a limit, as a bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meter {
    pub label: String,
    pub width: String,
    pub text: String,
    /// The limit is reached.
    pub full: bool,
    /// A limit is set (without one there is no bar to fill).
    pub capped: bool,
}

/// `used` of a `cap` (`None`: no limit set), e.g. calls against `limits.max_calls`.
pub fn meter(label: &str, used: f64, cap: Option<u64>, unit: &str, key: &str) -> Meter {
    let used_text = if used.fract() == 0.0 {
        format!("{used:.0}")
    } else {
        format!("{used:.1}")
    };
    match cap {
        Some(cap) => {
            let pct = (used / cap as f64 * 100.0).clamp(0.0, 100.0);
            Meter {
                label: label.to_owned(),
                width: format!("{pct:.2}%"),
                text: format!("{used_text} of {cap} {unit} ({key}), {pct:.0} %"),
                full: used >= cap as f64,
                capped: true,
            }
        }
        None => Meter {
            label: label.to_owned(),
            width: "0%".into(),
            text: format!("{used_text} {unit} ({key} is not set)"),
            full: false,
            capped: false,
        },
    }
}

#[derive(Debug, Serialize)]
pub(super) struct CostView {
    summary: String,
    meters: Vec<Meter>,
    chart: String,
    lengths: Vec<LengthView>,
}

#[derive(Debug, Serialize)]
struct LengthView {
    label: String,
    calls: u64,
    minutes: String,
    median: String,
    p90: String,
    max: String,
}

pub(super) fn cost_view(calls: &Calls, campaign: &Campaign) -> CostView {
    let minutes = calls.seconds / 60.0;
    let limits = &campaign.limits;
    let meters = vec![
        meter(
            "Calls placed",
            calls.placed as f64,
            limits.max_calls.map(|n| n.get()),
            "calls",
            "limits.max_calls",
        ),
        meter(
            "Minutes of conversation",
            (minutes * 10.0).round() / 10.0,
            limits.max_minutes.map(|n| n.get()),
            "minutes",
            "limits.max_minutes",
        ),
    ];
    let mut stats: Vec<LengthStats> = Vec::new();
    for (r, result) in page::RESULTS.iter().enumerate() {
        let values: Vec<(u64, u64)> = calls
            .lengths
            .range((r, 0)..(r + 1, 0))
            .map(|(&(_, secs), &n)| (secs, n))
            .collect();
        stats.extend(length_stats(result, &values));
    }
    let chart = if stats.is_empty() {
        String::new()
    } else {
        charts::lengths(&stats)
            .inspect_err(|e| tracing::warn!(%e, "no chart of call lengths"))
            .unwrap_or_default()
    };
    let lengths = stats
        .iter()
        .map(|s| LengthView {
            label: result_label(&s.result).to_owned(),
            calls: s.calls,
            minutes: format!("{:.1}", s.total as f64 / 60.0),
            median: clock(s.median),
            p90: clock(s.p90),
            max: clock(s.max),
        })
        .collect();
    let placed = calls.placed;
    let timed: u64 = calls.lengths.values().sum();
    CostView {
        summary: format!(
            "{} placed; {minutes:.1} minutes of conversation in all, as the API reported each \
             call's length ({} had one{}).",
            page::plural(placed, "call", "calls"),
            page::plural(timed, "call", "calls"),
            if timed > 0 {
                format!(
                    ", {} on average",
                    clock((calls.seconds / timed as f64).round() as u64)
                )
            } else {
                String::new()
            }
        ),
        meters,
        chart,
        lengths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_lengths_by_rank() {
        let s = length_stats("completed", &[(30, 1), (60, 2), (90, 1), (600, 1)]).unwrap();
        assert_eq!(
            (s.calls, s.total, s.min, s.q1, s.median, s.q3, s.p90, s.max),
            (5, 840, 30, 60, 60, 90, 600, 600)
        );
        assert_eq!(length_stats("failed", &[]), None);
        assert_eq!(clock(178), "2:58");
        assert_eq!(clock(3725), "1:02:05");
    }
    #[test]
    fn meters_against_limits() {
        let m = meter("calls", 53.0, Some(500), "calls", "limits.max_calls");
        assert_eq!(
            (m.width.as_str(), m.text.as_str(), m.full),
            ("10.60%", "53 of 500 calls (limits.max_calls), 11 %", false)
        );
        assert!(meter("c", 600.0, Some(500), "calls", "k").full);
        let unset = meter("minutes", 83.65, None, "minutes", "limits.max_minutes");
        assert_eq!(unset.text, "83.7 minutes (limits.max_minutes is not set)");
    }
}
