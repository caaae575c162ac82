//! The YAML scenario file (`--scenario FILE`): the same settings as the flags, so a setup can be
//! kept in a file and shared. Flags given on the command line win over the file.
//!
//! ```yaml
//! seed: 42
//! time_scale: 0.01
//! api_key: bys_ak_test
//! caller_ids: ["+14155550100", "+14155550101"]
//! webhook_secret: whsec_sandbox
//! outcomes: { completed: 70, no_answer: 12, voicemail: 10, declined: 5, failed: 3 }
//! faults:
//!   rate_limit: 60/min
//!   minute_cap: 500
//!   error_rate: 0.05
//!   latency_ms: 40
//!   drop_after_create: 0.01
//!   late_create_secs: 40
//!   late_create_rate: 0.05
//!   webhook_fail_rate: 0.1
//!   empty_rate: 0.02
//!   stuck_minutes: 30
//! ledger: sandbox-ledger.jsonl
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use super::outcome::Distribution;

/// The file as written; every key optional, unknown keys refused (a typo should not be silently
/// ignored in a test setup).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub seed: Option<u64>,
    pub time_scale: Option<f64>,
    pub api_key: Option<String>,
    pub caller_ids: Option<Vec<String>>,
    pub webhook_secret: Option<String>,
    pub outcomes: Option<Distribution>,
    #[serde(default)]
    pub faults: ScenarioFaults,
    pub ledger: Option<PathBuf>,
}

/// The `faults:` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFaults {
    /// `N/min` or a bare number per minute.
    pub rate_limit: Option<RateText>,
    pub minute_cap: Option<u32>,
    pub error_rate: Option<f64>,
    pub latency_ms: Option<u64>,
    pub drop_after_create: Option<f64>,
    pub late_create_secs: Option<f64>,
    pub late_create_rate: Option<f64>,
    pub webhook_fail_rate: Option<f64>,
    pub empty_rate: Option<f64>,
    pub stuck_minutes: Option<u32>,
}

/// A rate written either as `60/min` or as `60`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RateText {
    Number(u32),
    Text(String),
}

impl RateText {
    pub fn as_text(&self) -> String {
        match self {
            RateText::Number(n) => n.to_string(),
            RateText::Text(s) => s.clone(),
        }
    }
}

impl Scenario {
    /// Parses the YAML text of a scenario file.
    pub fn parse(text: &str) -> Result<Scenario, serde_yaml::Error> {
        if text.trim().is_empty() {
            return Ok(Scenario::default());
        }
        serde_yaml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("scenario.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```yaml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.strip_prefix("//! ").unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let s = Scenario::parse(&text).unwrap();
        assert_eq!(s.seed, Some(42));
        assert_eq!(s.outcomes, Some(Distribution::default()));
        assert_eq!(s.faults.rate_limit.unwrap().as_text(), "60/min");
        assert_eq!(s.faults.latency_ms, Some(40));
    }

    #[test]
    fn typos_are_refused() {
        assert!(Scenario::parse("sed: 4").is_err());
        assert!(Scenario::parse("faults: {error_rat: 0.1}").is_err());
        assert_eq!(Scenario::parse("").unwrap(), Scenario::default());
        assert_eq!(
            Scenario::parse("faults: {rate_limit: 5}")
                .unwrap()
                .faults
                .rate_limit,
            Some(RateText::Number(5))
        );
    }
}
