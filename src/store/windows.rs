//! The runner's calling-window queries: holding back pending contacts whose window is closed,
//! and leaving the rest pending when `schedule.not_after` ends the campaign.
//!
//! A closed window is the same for every contact in one zone, so one statement moves all the
//! due contacts of that zone to the window's opening: each contact is touched once per closed
//! window, through the `contacts_next` index (due pending rows only), never once per runner
//! loop turn.

use jiff::Timestamp;
use rusqlite::params;

use std::sync::LazyLock;

use super::{CALLABLE, Store, StoreError, millis};
use crate::state::{ContactState, Wait};

/// Due pending contacts of one zone (`timezone IS ?`, so a contact without a zone matches
/// `NULL`). Its WHERE implies the `contacts_next` index's, and orders nothing.
static DEFER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE contacts SET due_at = ?3, wait = ?4, updated_at = ?2
         WHERE {} AND COALESCE(due_at, 0) <= ?2 AND timezone IS ?1",
        *CALLABLE
    )
});

impl Store {
    /// Holds back every contact in `zone` that is due at `now` until `until`, for `wait`
    /// (`window` or `campaign`, the `contacts.wait` column). Returns how many moved.
    pub fn defer_zone(
        &self,
        zone: Option<&str>,
        now: Timestamp,
        until: Timestamp,
        wait: &str,
    ) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(&DEFER)
            .and_then(|mut stmt| stmt.execute(params![zone, millis(now), millis(until), wait]))
            .map_err(|e| self.err(e))
    }

    /// Makes contacts held back for a window or the campaign due again, so a schedule edited
    /// since they were held back is applied afresh (a contact is only held back once it is
    /// due, so no retry delay is cut short). Returns how many.
    pub fn release_holds(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET due_at = NULL, wait = NULL, updated_at = ?1
                 WHERE state = ?2 AND wait IN (?3, ?4)",
                params![
                    millis(now),
                    ContactState::Pending.as_str(),
                    Wait::Window.as_str(),
                    Wait::Campaign.as_str()
                ],
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// The campaign is over (`schedule.not_after`): every contact still pending stays pending,
    /// with `reason` for the results (its `wait` and `due_at` are left as they are: a retry
    /// delay stays a retry delay if the campaign is extended). Returns how many.
    pub fn leave_pending(&self, reason: &str, now: Timestamp) -> Result<u64, StoreError> {
        self.conn
            .execute(
                &format!(
                    "UPDATE contacts SET reason = ?1, updated_at = ?2 WHERE {}",
                    *CALLABLE
                ),
                params![reason, millis(now)],
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::testing;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn row(store: &Store, key: &str) -> (Option<i64>, Option<String>, Option<String>) {
        store
            .conn
            .query_row(
                "SELECT due_at, wait, tz_source FROM contacts WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    }

    #[test]
    fn deferring_a_zone_moves_only_its_due_contacts_and_uses_the_index() {
        let dir = tempfile::tempdir().unwrap();
        // Zones from the numbers: 212 New York, 415 Los Angeles.
        let csv =
            "id,name,phone\nA,Ana,(212) 555-0101\nB,Wei,(415) 555-0102\nC,Lin,(212) 555-0103\n";
        let campaign = testing::campaign(
            dir.path(),
            "  key_column: id\n",
            "schedule:\n  timezone: America/Chicago\n",
            csv,
        );
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = t("2026-12-07T12:00:00Z");
        crate::scan::import(&mut store, &campaign, now).unwrap();
        store
            .conn
            .execute(
                "UPDATE contacts SET due_at = ?1 WHERE key = 'C'",
                [millis(t("2026-12-08T00:00:00Z"))],
            )
            .unwrap();
        let opens = t("2026-12-07T14:00:00Z");
        let moved = store
            .defer_zone(Some("America/New_York"), now, opens, "window")
            .unwrap();
        assert_eq!(moved, 1, "C is not due yet");
        assert_eq!(
            row(&store, "A"),
            (
                Some(millis(opens)),
                Some("window".into()),
                Some("number".into())
            )
        );
        assert_eq!(row(&store, "B").1, None);
        assert_eq!(
            store.next_due(now).unwrap().map(|d| d.key).as_deref(),
            Some("B")
        );

        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", *DEFER))
            .unwrap()
            .query_map(params!["z", 0, 0, "window"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("USING INDEX contacts_next"), "{plan}");

        // Claiming a contact clears its wait.
        store
            .begin_attempt("A", "k1", "{}", None, opens, opens)
            .unwrap();
        assert_eq!(row(&store, "A").1, None);

        // A new run applies the schedule afresh: contacts held back are due again; a retry
        // delay (C) is not cut short.
        let c_due = row(&store, "C").0;
        store
            .defer_zone(Some("America/Los_Angeles"), now, opens, "campaign")
            .unwrap();
        assert_eq!(store.next_due(now).unwrap(), None);
        assert_eq!(store.release_holds(now).unwrap(), 1);
        assert_eq!(row(&store, "B"), (None, None, Some("number".into())));
        assert_eq!(row(&store, "C").0, c_due);
        assert_eq!(
            store.next_due(now).unwrap().map(|d| d.key).as_deref(),
            Some("B")
        );

        assert_eq!(store.leave_pending("over", now).unwrap(), 2);
        let reason: Option<String> = store
            .conn
            .query_row("SELECT reason FROM contacts WHERE key = 'C'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(reason.as_deref(), Some("over"));
    }
}
