//! The `limits` and `retry` sections: numbers with their bounds, and the retry rule per outcome.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use super::Checker;
use crate::campaign::raw::{RawLimits, RawRetry, RawRetryRule};
use crate::campaign::{Limits, Retry, RetryPolicy, defaults, duration};

impl Checker<'_> {
    pub(super) fn limits(&mut self, raw: &RawLimits) -> Option<Limits> {
        let cpm = self.positive(
            "limits.calls_per_minute",
            raw.calls_per_minute,
            defaults::CALLS_PER_MINUTE,
        );
        let burst = self.positive("limits.burst", raw.burst, defaults::BURST);
        let conc = self.positive(
            "limits.max_concurrent",
            raw.max_concurrent,
            defaults::MAX_CONCURRENT,
        );
        let mcm = self.positive(
            "limits.max_call_minutes",
            raw.max_call_minutes,
            defaults::MAX_CALL_MINUTES,
        );
        let breaker_window = self.positive(
            "limits.breaker_window",
            raw.breaker_window,
            defaults::BREAKER_WINDOW,
        );
        let breaker_percent = self.percent(
            "limits.breaker_percent",
            raw.breaker_percent,
            defaults::BREAKER_PERCENT,
        );
        let max_calls = raw
            .max_calls
            .map(|n| self.positive64("limits.max_calls", n));
        let max_minutes = raw
            .max_minutes
            .map(|n| self.positive64("limits.max_minutes", n));
        let max_calls_per_day = raw
            .max_calls_per_day
            .map(|n| self.positive64("limits.max_calls_per_day", n));
        let max_minutes_per_day = raw
            .max_minutes_per_day
            .map(|n| self.positive64("limits.max_minutes_per_day", n));
        let lost_answer_wait = match raw.lost_answer_wait.as_deref() {
            None => Some(defaults::LOST_ANSWER_WAIT),
            Some(text) => match self.duration("limits.lost_answer_wait", text) {
                Some(wait) if wait.is_zero() => {
                    self.report("limits.lost_answer_wait", "must be longer than 0")
                        .hint = Some(format!(
                        "the default, {}, leaves room for a request held by a gateway or the network",
                        duration::format(defaults::LOST_ANSWER_WAIT)
                    ));
                    None
                }
                wait => wait,
            },
        };
        Some(Limits {
            calls_per_minute: cpm?,
            burst: burst?,
            max_concurrent: conc?,
            max_calls: max_calls.map_or(Some(None), |n| n.map(Some))?,
            max_minutes: max_minutes.map_or(Some(None), |n| n.map(Some))?,
            max_calls_per_day: max_calls_per_day.map_or(Some(None), |n| n.map(Some))?,
            max_minutes_per_day: max_minutes_per_day.map_or(Some(None), |n| n.map(Some))?,
            max_call_minutes: mcm?,
            breaker_window: breaker_window?,
            breaker_percent: breaker_percent?,
            lost_answer_wait: lost_answer_wait?,
        })
    }

    pub(super) fn percent(
        &mut self,
        path: &str,
        value: Option<i64>,
        default: u32,
    ) -> Option<NonZeroU32> {
        self.whole(path, value, default, 100, "a percentage from 1 to 100")
    }

    pub(super) fn positive(
        &mut self,
        path: &str,
        value: Option<i64>,
        default: u32,
    ) -> Option<NonZeroU32> {
        self.whole(path, value, default, u32::MAX, "a positive whole number")
    }

    /// `value` if it is a whole number from 1 to `max`, `default` if absent; else reported as
    /// not being `what`.
    pub(super) fn whole(
        &mut self,
        path: &str,
        value: Option<i64>,
        default: u32,
        max: u32,
        what: &str,
    ) -> Option<NonZeroU32> {
        let Some(value) = value else {
            return NonZeroU32::new(default);
        };
        let parsed = u32::try_from(value)
            .ok()
            .filter(|&n| n <= max)
            .and_then(NonZeroU32::new);
        if parsed.is_none() {
            self.report(path, format!("`{path}` must be {what}, not {value}"))
                .hint = Some(format!("remove it to use the default, {default}"));
        }
        parsed
    }

    pub(super) fn positive64(&mut self, path: &str, value: i64) -> Option<NonZeroU64> {
        let parsed = u64::try_from(value).ok().and_then(NonZeroU64::new);
        if parsed.is_none() {
            self.report(
                path,
                format!("`{path}` must be a positive whole number, not {value}"),
            )
            .hint = Some("remove it for no cap".into());
        }
        parsed
    }

    pub(super) fn retry(&mut self, raw: &RawRetry) -> Option<RetryPolicy> {
        let no_answer = self.retry_rule(
            "retry.no_answer",
            raw.no_answer.as_ref(),
            defaults::NO_ANSWER,
        );
        let voicemail = self.retry_rule(
            "retry.voicemail",
            raw.voicemail.as_ref(),
            defaults::VOICEMAIL,
        );
        let failed = self.retry_rule("retry.failed", raw.failed.as_ref(), defaults::FAILED);
        let declined = self.retry_rule("retry.declined", raw.declined.as_ref(), defaults::DECLINED);
        Some(RetryPolicy {
            no_answer: no_answer?,
            voicemail: voicemail?,
            failed: failed?,
            declined: declined?,
        })
    }

    pub(super) fn retry_rule(
        &mut self,
        path: &str,
        raw: Option<&RawRetryRule>,
        default: (u32, Duration),
    ) -> Option<Retry> {
        let Some(raw) = raw else {
            return Some(Retry {
                attempts: NonZeroU32::new(default.0)?,
                after: default.1,
            });
        };
        let attempts = self.positive(&format!("{path}.attempts"), raw.attempts, default.0);
        let after = match raw.after.as_deref() {
            None => Some(default.1),
            Some(text) => self.duration(&format!("{path}.after"), text),
        };
        Some(Retry {
            attempts: attempts?,
            after: after?,
        })
    }
}
