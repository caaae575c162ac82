//! Read-only queries behind the results CSV (`export`) and `run --canary`'s list of calls
//! (`status` has its own, see `status`).
//!
//! Nothing here writes: these queries run while a runner may hold the state file (WAL lets
//! readers and one writer work side by side; no runner lock is taken). Invariants:
//! - [`Store::for_each_result`] streams rows through one prepared statement (a single SQLite
//!   read snapshot, so the export is consistent even mid-run) and hands them to a callback one
//!   at a time; memory does not grow with the number of rows;
//! - rows come in CSV order: contacts still in the CSV and skipped rows merged by `seq`; then,
//!   when asked for (`export --all`), contacts of earlier imports no longer in the CSV that were
//!   called, so no call placed is ever out of reach.

use jiff::Timestamp;
use rusqlite::{Row, params};

use super::{Store, StoreError, attempts_where, instant, millis};
use crate::api::Outcome;
use crate::state::{self, AttemptState, ContactState, Wait};

/// One line of the results: a contact (present, or absent but called) or a skipped row.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// Position in the CSV at the last import.
    pub seq: i64,
    /// Line of the CSV at the last import.
    pub line: i64,
    /// The row's identity; `None` for a skipped row (it has none of its own).
    pub key: Option<String>,
    /// `false` for a contact that is no longer in the CSV (listed at the end).
    pub present: bool,
    /// The input cells, in the header order of the import.
    pub cells: Vec<String>,
    pub state: ContactState,
    /// Why the row is invalid, duplicate, suppressed, unknown or was refused.
    pub reason: Option<String>,
    /// The last terminal outcome.
    pub outcome: Option<Outcome>,
    /// Calls placed, or possibly placed.
    pub calls: u32,
    /// The latest attempt that counts as a call (placed, finished or unknown).
    pub call: Option<CallAttempt>,
    /// The error of the contact's latest attempt, of any state.
    pub last_error: Option<String>,
    /// Whether the contact has attempts at all (a contact made `invalid` or `done` without an
    /// outcome by the API refusing its POST has some; one invalid from the import has none).
    pub attempted: bool,
    /// The contact's IANA zone, and where it came from (`column`, `number`, `default`).
    pub timezone: Option<String>,
    pub tz_source: Option<String>,
    /// A pending contact: not called before this instant, and why.
    pub due_at: Option<Timestamp>,
    pub wait: Option<Wait>,
}

/// The attempt whose call a result row describes.
#[derive(Debug, Clone, PartialEq)]
pub struct CallAttempt {
    pub state: AttemptState,
    pub call_id: Option<String>,
    /// The final call record, as the API sent it (JSON text); `None` until the call ended.
    pub record: Option<String>,
    /// When the call ended, as recorded by the runner.
    pub ended_at: Option<Timestamp>,
    pub error: Option<String>,
    /// The number the call was placed to (E.164), from the request sent: the row's `phone`
    /// may have been edited since.
    pub dialled: Option<String>,
}

impl ResultRow {
    /// Whether the API refused this contact's POST for good (no call, no outcome).
    pub fn refused(&self) -> bool {
        self.attempted && self.outcome.is_none() && self.state.may_be_refused()
    }
}

/// The result rows in CSV order (see the module header). `part` keeps absent contacts last.
/// A row's call is its latest attempt that counts as one.
fn results() -> String {
    format!(
        "
SELECT 0 AS part, c.seq, c.line, c.key, c.cells, c.state, c.reason, c.outcome, c.calls,
       a.state, a.call_id, a.record, a.ended_at, a.error,
       (SELECT l.error FROM attempts l WHERE l.contact_key = c.key ORDER BY l.id DESC LIMIT 1),
       EXISTS (SELECT 1 FROM attempts x WHERE x.contact_key = c.key), 1,
       c.timezone, c.tz_source, c.due_at, c.wait, json_extract(a.request, '$.to')
FROM contacts c
LEFT JOIN attempts a ON a.id = (
    SELECT p.id FROM attempts p
    WHERE p.contact_key = c.key AND p.state IN ({calls})
    ORDER BY p.id DESC LIMIT 1)
WHERE c.present = 1
UNION ALL
SELECT 0, s.seq, s.line, NULL, s.cells, s.state, s.reason, NULL, 0,
       NULL, NULL, NULL, NULL, NULL, NULL, 0, 1, NULL, NULL, NULL, NULL, NULL
FROM skipped_rows s
UNION ALL
SELECT 1, c.seq, c.line, c.key, c.cells, c.state, c.reason, c.outcome, c.calls,
       a.state, a.call_id, a.record, a.ended_at, a.error,
       (SELECT l.error FROM attempts l WHERE l.contact_key = c.key ORDER BY l.id DESC LIMIT 1),
       EXISTS (SELECT 1 FROM attempts x WHERE x.contact_key = c.key), 0,
       c.timezone, c.tz_source, c.due_at, c.wait, json_extract(a.request, '$.to')
FROM contacts c
LEFT JOIN attempts a ON a.id = (
    SELECT p.id FROM attempts p
    WHERE p.contact_key = c.key AND p.state IN ({calls})
    ORDER BY p.id DESC LIMIT 1)
WHERE c.present = 0 AND c.calls > 0 AND ?1
ORDER BY 1, 2",
        calls = attempts_where(AttemptState::counts_as_call)
    )
}

impl Store {
    /// Calls `each` with every result row of the CSV last imported, in CSV order, streaming,
    /// and with `history`, then with every contact of earlier imports that was called; returns
    /// how many rows there were. Stops at the first error `each` returns.
    pub fn for_each_result<E>(
        &self,
        history: bool,
        mut each: impl FnMut(ResultRow) -> Result<(), E>,
    ) -> Result<u64, E>
    where
        E: From<StoreError>,
    {
        let mut statement = self.conn.prepare(&results()).map_err(|e| self.err(e))?;
        let mut rows = statement.query([history]).map_err(|e| self.err(e))?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            each(self.result_row(row)?)?;
            count += 1;
        }
        Ok(count)
    }

    fn result_row(&self, row: &Row<'_>) -> Result<ResultRow, StoreError> {
        let get = |e| self.err(e);
        let seq: i64 = row.get(1).map_err(get)?;
        let cells: String = row.get(4).map_err(get)?;
        let cells: Vec<String> = serde_json::from_str(&cells)
            .map_err(|e| self.corrupt(format!("row {seq}: unreadable cells: {e}")))?;
        let state: String = row.get(5).map_err(get)?;
        let outcome: Option<String> = row.get(7).map_err(get)?;
        let attempt_state: Option<String> = row.get(9).map_err(get)?;
        let call = match attempt_state {
            None => None,
            Some(state) => Some(CallAttempt {
                state: self.parse(&state)?,
                call_id: row.get(10).map_err(get)?,
                record: row.get(11).map_err(get)?,
                ended_at: row.get::<_, Option<i64>>(12).map_err(get)?.map(instant),
                error: row.get(13).map_err(get)?,
                dialled: row.get(21).map_err(get)?,
            }),
        };
        let wait: Option<String> = row.get(20).map_err(get)?;
        Ok(ResultRow {
            seq,
            line: row.get(2).map_err(get)?,
            key: row.get(3).map_err(get)?,
            present: row.get(16).map_err(get)?,
            cells,
            state: self.parse(&state)?,
            reason: row.get(6).map_err(get)?,
            outcome: outcome.as_deref().map(|o| self.parse(o)).transpose()?,
            calls: row.get(8).map_err(get)?,
            call,
            last_error: row.get(14).map_err(get)?,
            attempted: row.get(15).map_err(get)?,
            timezone: row.get(17).map_err(get)?,
            tz_source: row.get(18).map_err(get)?,
            due_at: row.get::<_, Option<i64>>(19).map_err(get)?.map(instant),
            wait: wait.as_deref().map(|w| self.parse(w)).transpose()?,
        })
    }

    pub(super) fn parse<T: std::str::FromStr<Err = state::UnknownState>>(
        &self,
        text: &str,
    ) -> Result<T, StoreError> {
        super::parse_word(&self.path, text)
    }

    pub(super) fn corrupt(&self, message: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message,
        }
    }

    /// The outcome and final record of the newest `n` calls that ended after `since` (all of
    /// them without it), oldest first: what the circuit breaker saw before this run.
    pub fn recent_results(
        &self,
        since: Option<Timestamp>,
        n: usize,
    ) -> Result<Vec<(Outcome, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT outcome, record FROM attempts
                 WHERE state = ?3 AND outcome IS NOT NULL AND finished_at > ?1
                 ORDER BY finished_at DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let finished = AttemptState::Finished.as_str();
        let rows: Vec<(String, Option<String>)> = stmt
            .query_map(
                params![since.map_or(i64::MIN, millis), n as i64, finished],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .rev()
            .map(|(outcome, record)| Ok((self.parse(&outcome)?, record)))
            .collect()
    }

    /// The id of the newest attempt (0 before any): attempts made after this have larger ids.
    pub fn last_attempt_id(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM attempts", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Calls (attempts that placed, or may have placed, one) made after attempt `after`, oldest
    /// first, with their contact and final record.
    pub fn calls_since(&self, after: i64) -> Result<Vec<PlacedCall>, StoreError> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT contact_key, state, status, record, error FROM attempts
                 WHERE id > ?1 AND state IN ({}) ORDER BY id",
                attempts_where(AttemptState::counts_as_call)
            ))
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([after], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut calls = Vec::new();
        for row in rows {
            let (key, state, status, record, error) = row.map_err(|e| self.err(e))?;
            calls.push(PlacedCall {
                key,
                state: self.parse(&state)?,
                status,
                record,
                error,
            });
        }
        Ok(calls)
    }

    /// Refuses a state file made for another campaign, without writing anything (a file no run
    /// has claimed yet is accepted).
    pub fn check_campaign(&self, name: &str) -> Result<(), StoreError> {
        match self.meta("campaign")? {
            Some(found) if found != name => Err(StoreError::OtherCampaign {
                path: self.path.clone(),
                found,
                expected: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

/// A call placed by a run, as `run --canary` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedCall {
    pub key: String,
    pub state: AttemptState,
    /// The last status seen.
    pub status: Option<String>,
    /// The final call record (JSON text), once the call ended.
    pub record: Option<String>,
    pub error: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use rusqlite::params;

    use super::*;
    use crate::campaign::Campaign;
    use crate::campaign::testing;

    pub(crate) fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Inserts an attempt as the runner would leave it; returns its id.
    pub(crate) fn attempt(
        store: &Store,
        key: &str,
        state: AttemptState,
        call_id: Option<&str>,
        record: Option<&str>,
        error: Option<&str>,
        at: &str,
    ) -> i64 {
        let at = millis(t(at));
        store
            .conn
            .execute(
                "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at,
                    call_id, status, polls, record, error, updated_at)
                 VALUES (?1, ?2, lower(hex(randomblob(16))), '{}', ?3, ?4, ?5, 3, ?6, ?7, ?3)",
                params![
                    key,
                    state.as_str(),
                    at,
                    call_id,
                    record.map(|_| "completed"),
                    record,
                    error
                ],
            )
            .unwrap();
        store.conn.last_insert_rowid()
    }

    pub(crate) fn set_contact(
        store: &Store,
        key: &str,
        state: ContactState,
        outcome: Option<Outcome>,
        calls: u32,
        reason: Option<&str>,
    ) {
        let changed = store
            .conn
            .execute(
                "UPDATE contacts SET state = ?2, outcome = ?3, calls = ?4, reason = ?5
                 WHERE key = ?1",
                params![
                    key,
                    state.as_str(),
                    outcome.map(Outcome::as_str),
                    calls,
                    reason
                ],
            )
            .unwrap();
        assert_eq!(changed, 1, "no contact {key}");
    }

    pub(crate) const CSV: &str = "id,name,phone\n\
        A,Ana,(415) 555-0101\n\
        B,Wei,(212) 555-0102\n\
        C,Lin,555-0103\n\
        B,Again,(415) 555-0104\n\
        D,Sam,(312) 555-0105\n\
        E,Eve,(646) 555-0106\n";

    /// A state file as a run would leave it midway: A pending, B completed after a no-answer,
    /// C invalid from the CSV, a skipped row repeating B's key, D unknown, E refused by
    /// the API, Z called and then removed from the CSV, Y removed before any call.
    pub(crate) fn midway(dir: &std::path::Path) -> (Campaign, Store) {
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        let first = format!("{CSV}Z,Zoe,(415) 555-0107\nY,Yan,(415) 555-0108\n");
        testing::campaign(dir, "  key_column: id\n", "", &first);
        let campaign = Campaign::load(&dir.join("c.yaml")).unwrap();
        store.claim_campaign(&campaign.name).unwrap();
        crate::scan::import(&mut store, &campaign, t("2026-12-07T17:00:00Z")).unwrap();
        let z = r#"{"id":"call-z","status":"voicemail","summary":"Left a message."}"#;
        attempt(
            &store,
            "Z",
            AttemptState::Finished,
            Some("call-z"),
            Some(z),
            None,
            "2026-12-07T17:01:00Z",
        );
        set_contact(
            &store,
            "Z",
            ContactState::Done,
            Some(Outcome::Voicemail),
            1,
            None,
        );
        let campaign = testing::campaign(dir, "  key_column: id\n", "", CSV);
        crate::scan::import(&mut store, &campaign, t("2026-12-07T17:02:00Z")).unwrap();

        let b1 = r#"{"id":"call-b1","status":"no_answer"}"#;
        let b2 = r#"{"id":"call-b2","status":"completed","summary":"Confirmed."}"#;
        attempt(
            &store,
            "B",
            AttemptState::Finished,
            Some("call-b1"),
            Some(b1),
            None,
            "2026-12-07T17:03:00Z",
        );
        attempt(
            &store,
            "B",
            AttemptState::NotPlaced,
            None,
            None,
            Some("store_error: try again"),
            "2026-12-07T17:04:00Z",
        );
        attempt(
            &store,
            "B",
            AttemptState::Finished,
            Some("call-b2"),
            Some(b2),
            None,
            "2026-12-07T17:05:00Z",
        );
        set_contact(
            &store,
            "B",
            ContactState::Done,
            Some(Outcome::Completed),
            2,
            None,
        );
        attempt(
            &store,
            "D",
            AttemptState::Unknown,
            None,
            None,
            Some("timed out reading the answer"),
            "2026-12-07T17:06:00Z",
        );
        set_contact(
            &store,
            "D",
            ContactState::Unknown,
            None,
            1,
            Some("not in the list of recent calls"),
        );
        attempt(
            &store,
            "E",
            AttemptState::NotPlaced,
            None,
            None,
            Some("invalid_number: not a valid number"),
            "2026-12-07T17:07:00Z",
        );
        set_contact(
            &store,
            "E",
            ContactState::Invalid,
            None,
            0,
            Some("invalid_number: not a valid number"),
        );
        store
            .conn
            .execute(
                "UPDATE contacts SET due_at = ?1 WHERE key = 'A'",
                [millis(t("2026-12-07T19:00:00Z"))],
            )
            .unwrap();
        (campaign, store)
    }

    /// Gives a contact a state this version does not know, so reading its row fails.
    pub(crate) fn break_contact(store: &Store, key: &str) {
        store
            .conn
            .execute("UPDATE contacts SET state = 'bogus' WHERE key = ?1", [key])
            .unwrap();
    }

    pub(crate) fn rows(store: &Store) -> Vec<ResultRow> {
        let mut rows = Vec::new();
        let n = store
            .for_each_result(true, |row| {
                rows.push(row);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(n as usize, rows.len());
        rows
    }

    #[test]
    fn results_come_in_csv_order_with_removed_called_contacts_last() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        let rows = rows(&store);
        let order: Vec<(i64, Option<&str>, &str, bool)> = rows
            .iter()
            .map(|r| (r.seq, r.key.as_deref(), r.state.as_str(), r.present))
            .collect();
        assert_eq!(
            order,
            [
                (1, Some("A"), "pending", true),
                (2, Some("B"), "done", true),
                (3, Some("C"), "invalid", true),
                (4, None, "invalid", true),
                (5, Some("D"), "unknown", true),
                (6, Some("E"), "invalid", true),
                (7, Some("Z"), "done", false),
            ],
            "Y was removed before any call: not listed"
        );
        assert_eq!(rows[3].cells, ["B", "Again", "(415) 555-0104"]);
        assert_eq!(rows[3].line, 5);
        assert!(rows[3].reason.is_some());
    }

    #[test]
    fn each_contact_carries_its_latest_call_and_last_error() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        let rows = rows(&store);
        let (a, b, c, d, e, z) = (&rows[0], &rows[1], &rows[2], &rows[4], &rows[5], &rows[6]);
        assert_eq!(
            (a.call.as_ref(), a.last_error.as_ref(), a.attempted),
            (None, None, false)
        );
        let call = b.call.as_ref().unwrap();
        assert_eq!(
            call.call_id.as_deref(),
            Some("call-b2"),
            "the latest call, not a refusal after it"
        );
        assert!(call.record.as_deref().unwrap().contains("Confirmed."));
        assert_eq!(
            (b.calls, b.outcome, b.last_error.as_ref()),
            (2, Some(Outcome::Completed), None)
        );
        assert!(!c.refused() && !b.refused());
        let call = d.call.as_ref().unwrap();
        assert_eq!(
            (call.state, call.call_id.as_ref()),
            (AttemptState::Unknown, None)
        );
        assert_eq!(
            d.last_error.as_deref(),
            Some("timed out reading the answer")
        );
        assert!(e.call.is_none() && e.refused());
        assert_eq!(
            e.last_error.as_deref(),
            Some("invalid_number: not a valid number")
        );
        assert_eq!(z.call.as_ref().unwrap().call_id.as_deref(), Some("call-z"));
    }

    #[test]
    fn the_callback_can_stop_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        let mut seen = 0;
        let result = store.for_each_result(true, |_| {
            seen += 1;
            if seen == 2 {
                Err(StoreError::Corrupt {
                    path: "x".into(),
                    message: "stop".into(),
                })
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(StoreError::Corrupt { .. })));
        assert_eq!(seen, 2);
    }

    #[test]
    fn a_state_file_of_another_campaign_is_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.check_campaign("t").unwrap();
        assert_eq!(store.meta("campaign").unwrap(), None, "nothing written");
        store.claim_campaign("t").unwrap();
        store.check_campaign("t").unwrap();
        assert!(matches!(
            store.check_campaign("other"),
            Err(StoreError::OtherCampaign { .. })
        ));
    }
}
