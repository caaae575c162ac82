//! The campaign file exactly as written: serde structs that mirror the YAML.
//!
//! Everything is optional or a string here, so that [`super::check`] can say precisely what is
//! wrong with a value (and where) instead of serde's generic "invalid type". Unknown keys are
//! rejected by `deny_unknown_fields`; [`super::LoadError`] turns that into a "did you mean".
//! Each struct says what it expects (`expecting`) in the file's words: serde would otherwise
//! name the Rust type in its message ("expected struct RawCall").

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of the campaign's sections (`name`, `input`, `call`, `fields`, `schedule`, `limits`, `retry`, `suppress`, `output`, `webhook`)"
)]
pub struct RawCampaign {
    pub name: Option<String>,
    pub input: RawInput,
    pub call: RawCall,
    #[serde(default)]
    pub fields: Vec<RawField>,
    pub schedule: Option<RawSchedule>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub suppress: Vec<String>,
    #[serde(default)]
    pub output: RawOutput,
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `path` (the contacts CSV) and optionally `phone_column`, `key_column`, `default_region`, `timezone_column`, `deadline_column`, `delimiter`"
)]
pub struct RawInput {
    pub path: String,
    pub phone_column: Option<String>,
    pub key_column: Option<String>,
    pub default_region: Option<String>,
    pub timezone_column: Option<String>,
    pub deadline_column: Option<String>,
    pub delimiter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `objective` and optionally `context`, `caller_id`, `voice`, `language`"
)]
pub struct RawCall {
    pub objective: String,
    pub context: Option<String>,
    pub caller_id: Option<String>,
    pub voice: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `name` and optionally `type` and `description`"
)]
pub struct RawField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `timezone`, `windows` and optionally `last_call_before_end`, `not_before`, `not_after`, `stop_before`, `require_known_timezone`"
)]
pub struct RawSchedule {
    pub timezone: Option<String>,
    pub windows: Option<Vec<RawWindow>>,
    pub last_call_before_end: Option<String>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    pub stop_before: Option<String>,
    pub require_known_timezone: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `days`, `from` and `to`"
)]
pub struct RawWindow {
    pub days: Vec<String>,
    pub from: String,
    pub to: String,
}

/// Signed so that `0` and `-3` reach the checks and get a message that says "positive".
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of limits such as `calls_per_minute`, `burst`, `max_concurrent`"
)]
pub struct RawLimits {
    pub calls_per_minute: Option<i64>,
    pub burst: Option<i64>,
    pub max_concurrent: Option<i64>,
    pub max_calls: Option<i64>,
    pub max_minutes: Option<i64>,
    pub max_calls_per_day: Option<i64>,
    pub max_minutes_per_day: Option<i64>,
    pub max_call_minutes: Option<i64>,
    pub breaker_window: Option<i64>,
    pub breaker_percent: Option<i64>,
    pub lost_answer_wait: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of outcomes (`no_answer`, `voicemail`, `failed`, `declined`) to retry rules"
)]
pub struct RawRetry {
    pub no_answer: Option<RawRetryRule>,
    pub voicemail: Option<RawRetryRule>,
    pub failed: Option<RawRetryRule>,
    pub declined: Option<RawRetryRule>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `attempts` and optionally `after`, e.g. { attempts: 3, after: 2h }"
)]
pub struct RawRetryRule {
    pub attempts: Option<i64>,
    pub after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `path` and optionally `transcript`, `excel`"
)]
pub struct RawOutput {
    pub path: Option<String>,
    pub transcript: Option<bool>,
    pub excel: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `listen`, `public_url` and `secret_env`"
)]
pub struct RawWebhook {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub secret_env: Option<String>,
}
