//! The runner's side of calling windows: a due contact whose window is closed is held back to
//! its next opening (with every due contact of its zone, in one statement), and the run ends
//! when `schedule.not_after` leaves nothing more to place. The decisions are
//! [`crate::schedule::gate`]'s; this only applies them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Ending, RunError, Runner};
use crate::campaign::Campaign;
use crate::schedule::{self, Gate, Wait};
use crate::store::{Due, StoreError};

/// Whether `schedule.not_after` has passed: nothing more may be placed.
pub(super) fn campaign_over(campaign: &Campaign, now: Timestamp) -> bool {
    campaign
        .schedule
        .as_ref()
        .is_some_and(|s| schedule::campaign_over(s, now))
}

impl Runner {
    /// At the start of a run: contacts held back by an earlier run are due again, so an edited
    /// schedule (wider windows, a later `not_after`) takes effect at once.
    pub(super) fn release_holds(&mut self) -> Result<(), RunError> {
        self.store.release_holds(self.clock.now())?;
        Ok(())
    }

    /// Holds `due` back if its window is closed at `now` (with every contact of its zone that is
    /// due); `true` if it was.
    pub(super) fn hold_back(&mut self, due: &Due, now: Timestamp) -> Result<bool, RunError> {
        let Some(schedule) = &self.campaign.schedule else {
            return Ok(false);
        };
        // Import records every contact's zone; an unknown name (a state file written with
        // another tz database) falls back to the campaign's zone rather than calling blind.
        let zone = due
            .timezone
            .as_deref()
            .and_then(|name| jiff::tz::db().get(name).ok())
            .unwrap_or_else(|| schedule.timezone.clone());
        let (at, wait) = match schedule::gate(schedule, &zone, now) {
            Gate::Open { .. } => return Ok(false),
            Gate::Closed { at, wait } => (at, wait),
            // Its next window opens after the campaign ends: it waits for the end, when the
            // run stops (see `schedule_over`).
            Gate::Never => (schedule.not_after.unwrap_or(Timestamp::MAX), Wait::Campaign),
        };
        let moved = self
            .store
            .defer_zone(due.timezone.as_deref(), now, at, wait.as_str())?;
        if moved == 0 {
            // `due` itself matches the update; if it did not move, placing would loop on it
            // forever (or call it out of hours): stop instead.
            return Err(RunError::Store(StoreError::Corrupt {
                path: self.store.path().to_owned(),
                message: format!("contact {} could not be held back for its window", due.key),
            }));
        }
        self.progress.note(&format!(
            "{moved} contact(s) in {}: {}",
            due.timezone.as_deref().unwrap_or(&schedule.timezone_name),
            match wait {
                Wait::Window => format!("calling window closed; next opens {}", local(at, &zone)),
                Wait::Campaign if schedule.not_after.is_some_and(|end| at >= end) => {
                    "no calling window opens before schedule.not_after".to_owned()
                }
                Wait::Campaign => format!("the campaign starts {}", local(at, &zone)),
            }
        ));
        Ok(true)
    }

    /// How the run ends when nothing is in flight and the next contact is due at `due`
    /// (`None`: now): `Some` once `schedule.not_after` has passed or comes first. Contacts still
    /// pending then are left so, with the reason.
    pub(super) fn schedule_over(
        &mut self,
        now: Timestamp,
        due: Option<Timestamp>,
    ) -> Result<Option<Ending>, RunError> {
        let Some(end) = self.campaign.schedule.as_ref().and_then(|s| s.not_after) else {
            return Ok(None);
        };
        if now < end && due.is_none_or(|d| d < end) {
            return Ok(None);
        }
        let reason = format!(
            "the campaign ended (schedule.not_after {end}) before its next call could be placed"
        );
        let left = self.store.leave_pending(&reason, now)?;
        Ok(Some(Ending::ScheduleOver {
            not_after: end,
            left,
        }))
    }
}

/// `Mon 2026-12-07 09:00 EST (14:00Z)`: an instant as the contact's clock reads it.
fn local(at: Timestamp, zone: &TimeZone) -> String {
    format!(
        "{} ({})",
        at.to_zoned_datetime(zone.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z"),
        at.strftime("%H:%MZ")
    )
}
