//! The runner's side of deadlines (`input.deadline_column`, `schedule.stop_before`): no call,
//! first or retry, is placed at or after a contact's cutoff. Before each placement the contact
//! is checked; when the run starts, and whenever it has nothing in flight, every pending contact
//! whose next call could not come before its cutoff (a retry delay or a closed window that
//! ends after it) is written `expired` at once, so a cron run does not say "next due tomorrow"
//! for a contact that will never be called. The decisions are [`state::after_deadline`]'s.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{RunError, Runner};
use crate::campaign::Campaign;
use crate::state::{self, ContactState};
use crate::store::{Due, Late, Store, StoreError};
use crate::text::escape_control;

/// Expires every pending contact of `store` whose next call could not come before its cutoff;
/// returns how many. Also run by `run` before each import, so that a row whose deadline passed
/// ends `expired`, not `removed`, when the day's new CSV leaves it out.
pub fn expire(store: &Store, campaign: &Campaign, now: Timestamp) -> Result<u64, StoreError> {
    if campaign.input.deadline_column.is_none() {
        return Ok(0);
    }
    let mut expired = 0;
    for late in store.late_candidates(now)? {
        let after = state::after_deadline(ContactState::Pending, late.cutoff, late.due, now);
        if after == ContactState::Expired
            && store.expire(&late.key, &reason(campaign, &late, now), now)?
        {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Why a contact expired, with its cutoff as its own clock reads it.
fn reason(campaign: &Campaign, late: &Late, now: Timestamp) -> String {
    let zone = zone(campaign, late.timezone.as_deref());
    let stop = campaign
        .schedule
        .as_ref()
        .map(|s| s.stop_before.describe())
        .unwrap_or_default();
    let column = campaign
        .input
        .deadline_column
        .as_ref()
        .map(|c| c.name.as_str())
        .unwrap_or_default();
    let cutoff = format!(
        "calls stop at {} (its `{}` less schedule.stop_before {stop})",
        local(late.cutoff, &zone),
        escape_control(column)
    );
    match late.due.filter(|&due| due > now && now < late.cutoff) {
        Some(due) => format!(
            "its next call could come only at {}, and {cutoff}",
            local(due, &zone)
        ),
        None => format!("its deadline passed: {cutoff}"),
    }
}

fn zone(campaign: &Campaign, name: Option<&str>) -> TimeZone {
    name.and_then(|n| jiff::tz::db().get(n).ok())
        .or_else(|| campaign.schedule.as_ref().map(|s| s.timezone.clone()))
        .unwrap_or(TimeZone::UTC)
}

/// `2026-12-03 21:00 GMT`: an instant as the contact's clock reads it.
fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

impl Runner {
    /// Expires the pending contacts whose next call could not come before their cutoff (see
    /// [`expire`]).
    pub(super) fn expire_late(&mut self, now: Timestamp) -> Result<(), RunError> {
        let expired = expire(&self.store, &self.campaign, now)?;
        if expired > 0 {
            self.progress.note(&format!(
                "{expired} contact(s) expired: their next call could not come before their \
                 deadline (input.deadline_column less schedule.stop_before); not called again"
            ));
        }
        Ok(())
    }

    /// Whether `due` may no longer be called at `now` (its cutoff has passed); if so it is
    /// written `expired`. Asked before every placement.
    pub(super) fn past_deadline(&mut self, due: &Due, now: Timestamp) -> Result<bool, RunError> {
        if self.campaign.input.deadline_column.is_none() {
            return Ok(false);
        }
        let Some(cutoff) = self.store.cutoff_of(&due.key)? else {
            return Ok(false);
        };
        if state::before_cutoff(Some(cutoff), now) {
            return Ok(false);
        }
        let late = Late {
            key: due.key.clone(),
            cutoff,
            due: None,
            timezone: due.timezone.clone(),
        };
        self.store
            .expire(&due.key, &reason(&self.campaign, &late, now), now)?;
        self.progress.note(&format!(
            "contact {} expired: its deadline has passed; not called",
            escape_control(&due.key)
        ));
        Ok(true)
    }
}
