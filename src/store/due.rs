//! Which contact the runner calls next, and the contacts it sets aside on the way: the
//! queries asked before every placement, and what the calls placed so far spent (for the caps).
//!
//! These run for every placement, so they must not grow with the campaign: see
//! [`Store::next_due`].

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use std::sync::LazyLock;

use super::attempts::exec;
use super::{CALLABLE, Store, StoreError, attempts_where, contacts_where, instant, millis};
use crate::api::Outcome;
use crate::state::{self, AttemptState, ContactState, Wait};

/// A contact ready to be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub key: String,
    pub phone: String,
    pub line: u64,
    pub cells: Vec<String>,
    pub timezone: Option<String>,
    /// Calls placed for it so far.
    pub calls: u32,
    /// How its last call ended.
    pub outcome: Option<Outcome>,
}

/// The contacts [`Store::next_due`] may answer: pending, in the CSV, due at `?1`, and not
/// sharing a number with a contact that holds it (an `active` one; an `unknown` one until its
/// `due_at`). A never-called contact is due at 0.
fn from_due() -> String {
    format!(
        "FROM contacts c
    WHERE {callable}
      AND COALESCE(due_at, 0) <= ?1
      AND NOT EXISTS (SELECT 1 FROM contacts a WHERE a.phone = c.phone
            AND a.state IN ({holds}) AND (a.state = '{active}' OR a.due_at > ?1))",
        callable = *CALLABLE,
        holds = contacts_where(ContactState::holds_number),
        active = ContactState::Active,
    )
}

/// The query behind [`Store::next_due`].
static NEXT_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT key, phone, line, cells, timezone, calls, outcome {} ORDER BY COALESCE(due_at, 0), seq LIMIT 1",
        from_due()
    )
});

/// The query behind [`Store::due_count`], which stops reading its rows at its limit. Not a
/// `LIMIT ?2`: SQLite plans a LIMIT with the value bound to it, so every new limit would make
/// it parse and plan the statement again.
static DUE_COUNT: LazyLock<String> = LazyLock::new(|| format!("SELECT 1 {}", from_due()));

impl Store {
    /// The next contact to call at `now`: pending, in the CSV, due, and not sharing a number
    /// with a contact whose call is in progress, or may still be (an `unknown` contact's call
    /// may be ringing: its number is held until the instant [`Store::record_call_unknown`] or
    /// [`Store::record_placement`] gave). In CSV order among equally due contacts.
    ///
    /// Runs before every placement, so it must not grow with the campaign: the `contacts_next`
    /// index yields pending contacts in this order (a never-called contact is due at 0), and
    /// each candidate's number is checked against `contacts_phone`; the scan stops at the first
    /// callable row instead of sorting every pending one.
    pub fn next_due(&self, now: Timestamp) -> Result<Option<Due>, StoreError> {
        let found = self
            .conn
            .prepare_cached(&NEXT_DUE)
            .and_then(|mut stmt| {
                stmt.query_row([millis(now)], |r| {
                    let cells: String = r.get(3)?;
                    let due = Due {
                        key: r.get(0)?,
                        phone: r.get(1)?,
                        line: r.get::<_, i64>(2)? as u64,
                        cells: serde_json::from_str(&cells).unwrap_or_default(),
                        timezone: r.get(4)?,
                        calls: r.get::<_, i64>(5)? as u32,
                        outcome: None,
                    };
                    Ok((due, r.get::<_, Option<String>>(6)?))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((mut due, outcome)) = found else {
            return Ok(None);
        };
        // Read as every reader of the state file reads it: an unknown word is a corrupt file.
        due.outcome = outcome.as_deref().map(|o| self.parse(o)).transpose()?;
        Ok(Some(due))
    }

    /// How many contacts [`Store::next_due`] could answer at `now`, counting up to `limit`.
    pub fn due_count(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(&DUE_COUNT)
            .and_then(|mut stmt| {
                let mut rows = stmt.query([millis(now)])?;
                let mut count = 0;
                while count < limit && rows.next()?.is_some() {
                    count += 1;
                }
                Ok(count)
            })
            .map_err(|e| self.err(e))
    }

    /// When the next pending contact becomes due (`None`: no pending contact at all), its
    /// number's hold included. Contacts due already answer `now`-or-earlier instants.
    ///
    /// Asked only when no call is in flight, so no number is held by an `active` contact.
    pub fn next_due_at(&self) -> Result<Option<Option<Timestamp>>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT COUNT(*), MIN(MAX(COALESCE(due_at, 0), COALESCE(
                        (SELECT MAX(a.due_at) FROM contacts a WHERE a.phone = c.phone AND a.state = '{unknown}'),
                        0)))
                     FROM contacts c
                     WHERE {callable}",
                    unknown = ContactState::Unknown,
                    callable = *CALLABLE,
                ),
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map(|(count, min)| (count > 0).then(|| min.filter(|&m| m > 0).map(instant)))
            .map_err(|e| self.err(e))
    }

    /// Calls placed or possibly placed for the whole campaign (for `limits.max_calls`).
    pub fn calls_placed(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM attempts WHERE state IN ({})",
                    attempts_where(AttemptState::may_have_called)
                ),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// What the calls placed at or after `since` spent, for the daily caps: how many were
    /// placed or possibly placed, the seconds of those that finished, and how many have an
    /// unknown fate.
    pub fn spent_since(&self, since: Timestamp) -> Result<(u64, u64, u64), StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT COUNT(*),
                        COALESCE(SUM(CASE WHEN state = '{finished}'
                            THEN json_extract(record, '$.durationSec') END), 0),
                        COALESCE(SUM(state = '{unknown}'), 0)
                     FROM attempts
                     WHERE created_at >= ?1 AND state IN ({called})",
                    finished = AttemptState::Finished,
                    unknown = AttemptState::Unknown,
                    called = attempts_where(AttemptState::may_have_called),
                ),
                [millis(since)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .map(|(calls, secs, unknown)| (calls as u64, secs.max(0) as u64, unknown as u64))
            .map_err(|e| self.err(e))
    }

    /// Contacts that will be called (now or later) if nothing stops the run.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT COUNT(*) FROM contacts WHERE {}", *CALLABLE),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Calls placed so far for a contact.
    pub fn contact_calls(&self, key: &str) -> Result<u32, StoreError> {
        self.conn
            .prepare_cached("SELECT calls FROM contacts WHERE key = ?1")
            .and_then(|mut stmt| stmt.query_row([key], |r| r.get::<_, i64>(0)))
            .map(|n| n as u32)
            .map_err(|e| self.err(e))
    }

    /// A pending contact whose number was added to a suppression list since the import
    /// ([`state::SUPPRESS`]). Whether the fence held (the contact was still pending).
    pub fn set_contact_suppressed(
        &self,
        key: &str,
        phone: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let reason = format!("{phone} was added to a suppression list during the run");
        self.set_aside(key, state::SUPPRESS, &reason, now)
    }

    /// Moves the contact `key`, waiting for a retry its retry rule no longer allows, to done
    /// ([`state::RULE_SPENT`]). Whether the fence held.
    pub fn set_contact_spent(
        &self,
        key: &str,
        why: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.set_aside(key, state::RULE_SPENT, why, now)
    }

    /// Moves the contact `key` by `step`, with `reason`, fenced on the states it starts from:
    /// for a contact set aside before its call. Whether the fence held.
    fn set_aside(
        &self,
        key: &str,
        step: state::Step<ContactState>,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        exec(
            &self.conn,
            &format!(
                "UPDATE contacts SET state = ?4, reason = ?2, due_at = NULL, wait = NULL,
                    updated_at = ?3
                 WHERE key = ?1 AND state IN ({})",
                super::sql_list(step.from)
            ),
            params![key, reason, millis(now), step.to.as_str()],
        )
        .map(|changed| changed == 1)
        .map_err(|e| self.err(e))
    }

    /// A pending contact waits until `until` (another campaign on the account holds its number,
    /// see [`crate::store::account`]). Placed no sooner, as after a refusal that passes.
    pub fn defer_contact(
        &self,
        key: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "UPDATE contacts SET due_at = ?2, wait = ?4, updated_at = ?3
             WHERE key = ?1 AND state = ?5",
            params![
                key,
                millis(until),
                millis(now),
                Wait::Backoff.as_str(),
                ContactState::Pending.as_str()
            ],
        )
        .map(drop)
        .map_err(|e| self.err(e))
    }

    /// A pending contact that cannot be rendered any more is invalid, never placed half-made
    /// ([`state::INVALIDATE`]). Whether the fence held (the contact was still pending).
    pub fn set_contact_invalid(
        &self,
        key: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.set_aside(key, state::INVALIDATE, reason, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{next, set, store, t};

    #[test]
    fn next_due_is_the_earliest_due_callable_contact_in_csv_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\nC,Lin,(415) 555-0101\nD,Sam,(312) 555-0103\n",
        );
        let now = "2026-12-07T17:00:00Z";
        let count = |at: &str, limit| store.due_count(t(at), limit).unwrap();
        assert_eq!(next(&store, now).as_deref(), Some("A"));
        assert_eq!((count(now, 10), count(now, 2)), (4, 2));
        // A's call is in progress: C shares its number and waits; B is next.
        set(&store, "A", "active", None);
        assert_eq!(next(&store, now).as_deref(), Some("B"));
        assert_eq!(count(now, 10), 2);
        // B is retried later: not due yet, and due before never-called contacts once it is.
        set(&store, "B", "pending", Some("2026-12-07T18:00:00Z"));
        assert_eq!(next(&store, now).as_deref(), Some("D"));
        assert_eq!(next(&store, "2026-12-07T18:00:00Z").as_deref(), Some("D"));
        set(&store, "D", "done", None);
        assert_eq!(next(&store, now), None, "C waits for A's call to end");
        assert_eq!(next(&store, "2026-12-07T18:00:00Z").as_deref(), Some("B"));
        set(&store, "A", "done", None);
        assert_eq!(next(&store, now).as_deref(), Some("C"));
    }

    #[test]
    fn a_number_suppressed_during_the_run_is_never_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        store
            .set_contact_suppressed("A", "+14155550101", now)
            .unwrap();
        assert_eq!(next(&store, "2026-12-07T17:00:00Z"), None);
        // Never called: not waiting, but counted as suppressed.
        assert_eq!(store.waiting(now).unwrap(), []);
        assert_eq!(store.census().unwrap().0.suppressed, 1);
    }

    #[test]
    fn next_due_scans_an_index_instead_of_sorting_every_pending_contact() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let plan = |sql: &str| -> String {
            let plan: Vec<String> = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([0], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            plan.join("\n")
        };
        // Both run before every round of placements.
        for sql in [&*NEXT_DUE, &*DUE_COUNT] {
            let plan = plan(sql);
            assert!(plan.contains("USING INDEX contacts_next"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn the_queries_before_every_round_are_planned_once() {
        use rusqlite::StatementStatus;
        let dir = tempfile::tempdir().unwrap();
        let store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\nC,Lin,(312) 555-0103\n",
        );
        for (at, limit) in [("17:00", 5), ("17:01", 2), ("17:02", 1), ("17:03", 10)] {
            let now = t(&format!("2026-12-07T{at}:00Z"));
            assert_eq!(store.due_count(now, limit).unwrap(), limit.min(3));
            assert_eq!(
                store.next_due(now).unwrap().map(|d| d.key).as_deref(),
                Some("A")
            );
        }
        // A statement whose plan depends on a bound value is planned again whenever that
        // value changes: four rounds would have meant four plans.
        for sql in [&*NEXT_DUE, &*DUE_COUNT] {
            let stmt = store.conn.prepare_cached(sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            assert_eq!(stmt.get_status(StatementStatus::Run), 4, "{sql}");
        }
    }
}
