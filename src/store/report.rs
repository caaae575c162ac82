//! Read-only aggregates behind `bys-campaign report` and the answers of `status`.
//!
//! A [`Snapshot`] is one read transaction, so every figure of a report agrees with the others,
//! also while a run writes. The calls are read from `call_facts` (migration 0009): a few dozen
//! bytes a finished call (its attempt number, outcome, when it was placed, its length, the
//! contact's zone and the values it extracted), kept beside the records by triggers, so that a
//! report never reads the records themselves (a kilobyte or more each, with the request beside
//! them): a million of them took longer than a report may. Calls still in flight or unknown
//! have no record; they are few, and read from the attempts through their index on `state`.
//! - [`Snapshot::for_each_call`] streams the calls in one pass, for the caller to count what
//!   it needs in tallies of a bounded size (by result, by quarter hour and zone, by length, by
//!   value when a field has few distinct values);
//! - a field with more distinct values than are worth counting in memory is grouped (and
//!   sorted) by SQLite, which spills to disk rather than growing, and streamed out
//!   ([`Snapshot::number_values`], [`Snapshot::text_values`]);
//! - the contacts are read twice: once for the funnel's counts, once for the few rows the
//!   report looks at one by one (never called, unknown, failed, refused, no longer in the CSV),
//!   which go to a temporary table (`temp.report_rows`) that the reasons, the rows needing
//!   attention and the calls' "still in the CSV" read.
//!
//! Rows are never held in memory. The temporary table lives in SQLite's temp database, never in
//! the state file: nothing here writes the state file. It is dropped with the snapshot.

use std::sync::LazyLock;

use rusqlite::Row;
use rusqlite::types::{Type, Value as SqlValue};

use super::{Store, StoreError, attempts_where, contacts_where};
use crate::api::Outcome;
use crate::state::{AttemptState, ContactState, UnknownState};

/// A read snapshot of a state file with the facts of every call extracted (see the module
/// header). Dropping it ends the read transaction.
#[derive(Debug)]
pub struct Snapshot<'s> {
    store: &'s Store,
    /// [`Snapshot::read_contacts`] has filled `temp.report_rows`.
    rows_read: std::cell::Cell<bool>,
}

/// One call, as [`Snapshot::for_each_call`] streams it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFacts<'a> {
    /// The how-manieth call of its contact (1 for the first).
    pub nth: u64,
    /// Its outcome, or `placed` (in flight) or `unknown`.
    pub result: &'a str,
    /// When it was placed (milliseconds since the epoch).
    pub at: i64,
    /// Its length as the API reported it, once it ended.
    pub secs: Option<f64>,
    /// The contact's IANA zone, when known.
    pub zone: Option<&'a str>,
    /// The contact is still in the CSV.
    pub present: bool,
    /// What a completed call extracted (the record's `extracted` object); `None` otherwise.
    pub extracted: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// The contacts of the CSV on their way from a row to a complete answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FunnelCounts {
    /// Rows of the CSV at the last import (contacts and rows without an identity of their own).
    pub rows: u64,
    /// Rows the CSV check refused (bad number, zone, template…), keyed or not.
    pub invalid: u64,
    pub duplicate: u64,
    pub suppressed: u64,
    /// Contacts the API refused (an invalid number, a blocked destination) when placed.
    pub refused: u64,
    /// Contacts with at least one call.
    pub called: u64,
    /// Contacts whose call completed (a conversation took place).
    pub reached: u64,
    /// Contacts whose completed call obtained every field (counted from the calls, by the
    /// caller; zero here).
    pub complete: u64,
    /// Contacts not settled yet (pending, or being called).
    pub open: u64,
    /// Contacts whose call may or may not have gone out.
    pub unknown: u64,
    /// Contacts no longer in the CSV, and how many of them were called.
    pub removed: u64,
    pub removed_called: u64,
}

/// A row that needs a person to look at it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttentionRow {
    pub line: i64,
    /// `None` for a row without an identity of its own (a repeated or missing key).
    pub key: Option<String>,
    pub phone: Option<String>,
    /// `unknown`, `failed`, `invalid` (the CSV check), `refused` (the API).
    pub kind: &'static str,
    pub calls: u64,
    /// Why: the row's reason, or its last error.
    pub reason: Option<String>,
    /// The latest call's id in the state file, to read its record (`--full`).
    pub attempt: Option<i64>,
}

/// Every call: the finished ones from `call_facts`, those in flight or unknown (no record) from
/// the attempts; with whether its contact is still in the CSV (`{absent}`: a condition on
/// `f.contact_key`; the contacts no longer in the CSV are few). A POST on its way
/// (`placing`) or whose answer was lost (`ambiguous`) counts as a call in flight, as it does
/// against `limits.max_calls`.
static CALLS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT f.nth, f.result, f.at, f.secs, f.extracted, f.zone, NOT ({{absent}})
         FROM call_facts f
         UNION ALL
         SELECT 1 + (SELECT COUNT(*) FROM attempts p
                     WHERE p.contact_key = a.contact_key AND p.id < a.id AND p.state IN ({calls})),
                CASE a.state WHEN '{unknown}' THEN '{unknown}' ELSE '{placed}' END,
                COALESCE(a.placed_at, a.created_at), NULL, NULL, c.timezone, c.present = 1
         FROM attempts a JOIN contacts c ON c.key = a.contact_key
         WHERE a.state IN ({no_record})",
        calls = attempts_where(AttemptState::counts_as_call),
        no_record = attempts_where(|s| s.is_open() || s == AttemptState::Unknown),
        unknown = AttemptState::Unknown,
        placed = AttemptState::Placed,
    )
});

/// The contacts the report looks at one by one (see [`Snapshot::read_contacts`]).
const ROWS: &str = "
CREATE TEMP TABLE report_rows (
    seq INTEGER, line INTEGER, key TEXT, phone TEXT, state TEXT, outcome TEXT, calls INTEGER,
    reason TEXT, present INTEGER)";

impl Store {
    /// Opens a read snapshot for the report (see the module header).
    pub fn report_snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        let get = |e: rusqlite::Error| self.err(e);
        self.conn
            .execute_batch("DROP TABLE IF EXISTS temp.report_rows; BEGIN;")
            .map_err(get)?;
        Ok(Snapshot {
            store: self,
            rows_read: std::cell::Cell::new(false),
        })
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // A read transaction: nothing to keep.
        let _ = self
            .store
            .conn
            .execute_batch("ROLLBACK; DROP TABLE IF EXISTS temp.report_rows;");
    }
}

/// The JSON path of a field in the extracted object. Field names are identifiers (checked when
/// the campaign loads), so they need no quoting.
fn path(field: &str) -> String {
    format!("$.{field}")
}

fn count(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, Option<i64>>(index)?.unwrap_or(0).max(0) as u64)
}

impl Snapshot<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        self.store.err(e)
    }

    /// Runs `sql` and calls `each` with every row it yields, streaming.
    fn stream(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut each: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut statement = self.store.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = statement.query(params).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            each(row).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Calls `each` with every call, in one pass, in no particular order. Whether a call's
    /// contact is still in the CSV is known after [`Snapshot::read_contacts`] (before, every
    /// contact is taken to be).
    pub fn for_each_call(&self, mut each: impl FnMut(&CallFacts<'_>)) -> Result<(), StoreError> {
        // Still in the CSV: known once the contacts were read (assumed before).
        let absent = if self.rows_read.get() {
            "f.contact_key IN (SELECT key FROM temp.report_rows WHERE present <> 1)"
        } else {
            "0"
        };
        self.stream(&CALLS.replace("{absent}", absent), [], |row| {
            let result = row.get_ref(1)?.as_str()?;
            // The extracted object of a completed call: a few dozen bytes.
            let extracted: Option<serde_json::Map<String, serde_json::Value>> =
                if result == Outcome::Completed.as_str() {
                    row.get_ref(4)?
                        .as_str_or_null()?
                        .and_then(|text| serde_json::from_str(text).ok())
                } else {
                    None
                };
            each(&CallFacts {
                nth: count(row, 0)?,
                result,
                at: row.get(2)?,
                secs: row.get(3)?,
                zone: row.get_ref(5)?.as_str_or_null()?,
                present: row.get::<_, Option<bool>>(6)?.unwrap_or(true),
                extracted: extracted.as_ref(),
            });
            Ok(())
        })
    }

    /// Calls `each(value, count)` with every distinct number `field` took in a completed call,
    /// in ascending order (grouped and sorted by SQLite: for fields with too many distinct
    /// values to count in memory).
    pub fn number_values(
        &self,
        field: &str,
        mut each: impl FnMut(f64, u64),
    ) -> Result<(), StoreError> {
        self.stream(
            "SELECT v, COUNT(*) FROM (
                 SELECT json_extract(extracted, ?1) AS v FROM call_facts
                 WHERE result = ?2 AND json_type(extracted, ?1) IN ('integer', 'real'))
             GROUP BY 1 ORDER BY 1",
            [path(field).as_str(), Outcome::Completed.as_str()],
            |row| {
                each(row.get(0)?, count(row, 1)?);
                Ok(())
            },
        )
    }

    /// Calls `each(value, count)` with every distinct value `field` took in a completed call,
    /// as text (`true`, `12`, `{"a":1}` for values of another type, as the results CSV writes
    /// them), in no particular order (grouped by SQLite, as [`Snapshot::number_values`]).
    pub fn text_values(
        &self,
        field: &str,
        mut each: impl FnMut(&str, u64),
    ) -> Result<(), StoreError> {
        self.stream(
            "SELECT v, COUNT(*) FROM (
                 SELECT CASE json_type(extracted, ?1) WHEN 'null' THEN NULL
                            WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                            ELSE CAST(json_extract(extracted, ?1) AS TEXT) END AS v
                 FROM call_facts WHERE result = ?2)
             WHERE v IS NOT NULL GROUP BY 1",
            [path(field).as_str(), Outcome::Completed.as_str()],
            |row| {
                each(row.get_ref(0)?.as_str()?, count(row, 1)?);
                Ok(())
            },
        )
    }

    /// Reads the contacts once: counts the funnel, and keeps the rows the report looks at one
    /// by one in `temp.report_rows` (never called, unknown, failed, refused, and those no longer
    /// in the CSV that were called). [`Snapshot::for_each_call`] knows which calls' contacts
    /// are still in the CSV only after this.
    pub fn read_contacts(&self) -> Result<FunnelCounts, StoreError> {
        let get = |e| self.err(e);
        let conn = &self.store.conn;
        conn.execute_batch(ROWS).map_err(get)?;
        let mut keep = conn
            .prepare(
                "INSERT INTO temp.report_rows
                 SELECT seq, line, key, phone, state, outcome, calls, reason, present
                 FROM contacts WHERE rowid = ?1",
            )
            .map_err(get)?;
        let mut f = FunnelCounts::default();
        // A pass in Rust rather than a dozen sums in SQL: a quarter of the time.
        self.stream(
            "SELECT rowid, state, present = 1, outcome, calls > 0 FROM contacts",
            [],
            |row| {
                let state: ContactState =
                    row.get_ref(1)?
                        .as_str()?
                        .parse()
                        .map_err(|e: UnknownState| {
                            rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e))
                        })?;
                let present: bool = row.get(2)?;
                let outcome = row.get_ref(3)?.as_str_or_null()?;
                let called: bool = row.get(4)?;
                let kept = if present {
                    f.rows += 1;
                    f.called += u64::from(called);
                    f.reached += u64::from(outcome == Some(Outcome::Completed.as_str()));
                    match state {
                        ContactState::Pending | ContactState::Active => f.open += 1,
                        ContactState::Duplicate => f.duplicate += 1,
                        ContactState::Suppressed => f.suppressed += 1,
                        ContactState::Unknown => f.unknown += 1,
                        _ => {}
                    }
                    state.is_not_called()
                        || (state == ContactState::Done
                            && outcome.is_none_or(|o| o == Outcome::Failed.as_str()))
                } else {
                    f.removed += 1;
                    f.removed_called += u64::from(called);
                    called
                };
                if kept {
                    keep.execute([row.get::<_, i64>(0)?])?;
                }
                Ok(())
            },
        )?;
        // Invalid from the CSV check, or refused by the API (which made it invalid, or done
        // without an outcome): told apart by whether it has attempts.
        (f.invalid, f.refused) = conn
            .query_row(
                &format!(
                    "SELECT SUM(state = ?1 AND NOT attempted),
                            SUM(state IN ({refusable}) AND outcome IS NULL AND attempted)
                     FROM (SELECT state, outcome, EXISTS (SELECT 1 FROM attempts a
                                                          WHERE a.contact_key = r.key) AS attempted
                           FROM temp.report_rows r WHERE present = 1)",
                    refusable = contacts_where(ContactState::may_be_refused),
                ),
                [ContactState::Invalid.as_str()],
                |r| Ok((count(r, 0)?, count(r, 1)?)),
            )
            .map_err(get)?;
        for (state, _, n) in self
            .store
            .counts("SELECT state, 1, COUNT(*) FROM skipped_rows GROUP BY state")?
        {
            f.rows += n;
            match self.store.parse::<ContactState>(&state)? {
                ContactState::Duplicate => f.duplicate += n,
                _ => f.invalid += n,
            }
        }
        self.rows_read.set(true);
        Ok(f)
    }

    /// Calls `each(group, reason, count)` for the rows never called (`invalid`, `duplicate`,
    /// `suppressed`), the contacts the API `refused` and the `unknown` ones, grouped by their
    /// exact reason.
    pub fn reasons(&self, mut each: impl FnMut(&str, &str, u64)) -> Result<(), StoreError> {
        self.stream(
            &format!(
                "SELECT state, COALESCE(reason, ''), COUNT(*) FROM (
                     SELECT CASE WHEN state IN ({refusable})
                                      AND EXISTS (SELECT 1 FROM attempts a
                                                  WHERE a.contact_key = c.key)
                                 THEN 'refused' ELSE state END AS state,
                            COALESCE(reason, (SELECT l.error FROM attempts l
                                WHERE l.contact_key = c.key ORDER BY l.id DESC LIMIT 1)) AS reason
                     FROM temp.report_rows c
                     WHERE present = 1
                       AND (state IN ({not_called}) OR (state = ?1 AND outcome IS NULL))
                     UNION ALL SELECT state, reason FROM skipped_rows)
                 GROUP BY 1, 2 ORDER BY 1, 2",
                refusable = contacts_where(ContactState::may_be_refused),
                not_called = contacts_where(ContactState::is_not_called),
            ),
            [ContactState::Done.as_str()],
            |row| {
                each(
                    row.get_ref(0)?.as_str()?,
                    row.get_ref(1)?.as_str()?,
                    count(row, 2)?,
                );
                Ok(())
            },
        )
    }

    /// The first `limit` rows needing attention in CSV order — contacts `unknown`, whose last
    /// call `failed`, found invalid by the CSV check or refused by the API, and rows without an
    /// identity of their own found invalid — and how many there are.
    pub fn attention(&self, limit: u32) -> Result<(Vec<AttentionRow>, u64), StoreError> {
        let get = |e| self.err(e);
        let mut statement = self
            .store
            .conn
            .prepare(&format!(
                "SELECT line, key, phone, kind, calls, reason, attempt, COUNT(*) OVER () FROM (
                     SELECT c.seq, c.line, c.key, c.phone,
                            CASE WHEN c.state = '{unknown}' THEN '{unknown}'
                                 WHEN c.outcome = '{failed}' THEN 'failed'
                                 WHEN EXISTS (SELECT 1 FROM attempts x
                                              WHERE x.contact_key = c.key) THEN 'refused'
                                 ELSE '{invalid}' END AS kind,
                            c.calls,
                            COALESCE(c.reason, (SELECT l.error FROM attempts l
                                WHERE l.contact_key = c.key ORDER BY l.id DESC LIMIT 1)) AS reason,
                            (SELECT p.id FROM attempts p WHERE p.contact_key = c.key
                               AND p.state IN ({calls})
                             ORDER BY p.id DESC LIMIT 1) AS attempt
                     FROM temp.report_rows c
                     WHERE c.present = 1
                       AND (c.state IN ('{unknown}', '{invalid}')
                            OR (c.state = '{done}'
                                AND (c.outcome IS NULL OR c.outcome = '{failed}')))
                     UNION ALL
                     SELECT s.seq, s.line, NULL, NULL, '{invalid}', 0, s.reason, NULL
                     FROM skipped_rows s WHERE s.state = '{invalid}')
                 ORDER BY seq LIMIT max(?1, 1)",
                unknown = ContactState::Unknown,
                invalid = ContactState::Invalid,
                done = ContactState::Done,
                failed = Outcome::Failed,
                calls = attempts_where(AttemptState::counts_as_call),
            ))
            .map_err(get)?;
        let rows = statement
            .query_map([limit], |r| {
                Ok((
                    AttentionRow {
                        line: r.get(0)?,
                        key: r.get(1)?,
                        phone: r.get(2)?,
                        kind: match r.get_ref(3)?.as_str()? {
                            "unknown" => "unknown",
                            "failed" => "failed",
                            "refused" => "refused",
                            _ => "invalid",
                        },
                        calls: count(r, 4)?,
                        reason: r.get(5)?,
                        attempt: r.get(6)?,
                    },
                    count(r, 7)?,
                ))
            })
            .map_err(get)?;
        let mut list = Vec::new();
        let mut total = 0;
        for row in rows {
            let (row, all) = row.map_err(get)?;
            total = all;
            list.push(row);
        }
        list.truncate(limit as usize);
        Ok((list, total))
    }

    /// The final record (JSON) of attempt `id`, if it has one.
    pub fn record(&self, id: i64) -> Result<Option<String>, StoreError> {
        let value: Option<SqlValue> = self
            .store
            .conn
            .query_row("SELECT record FROM attempts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
            .map(Some)
            .or_else(|e| match e {
                StoreError::Sqlite {
                    source: rusqlite::Error::QueryReturnedNoRows,
                    ..
                } => Ok(None),
                e => Err(e),
            })?;
        Ok(match value {
            Some(SqlValue::Text(text)) => Some(text),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::results_tests::{attempt, midway};

    /// [`midway`], with the outcome of each finished attempt recorded as the runner records it
    /// (an update the triggers follow), and a call in flight for A.
    fn played(dir: &std::path::Path) -> Store {
        let (_, store) = midway(dir);
        store
            .conn
            .execute_batch(
                "UPDATE attempts SET outcome = json_extract(record, '$.status')
                 WHERE state = 'finished'",
            )
            .unwrap();
        attempt(
            &store,
            "A",
            AttemptState::Placed,
            Some("call-a"),
            None,
            None,
            "2026-12-07T17:09:00Z",
        );
        store
    }

    fn calls(snapshot: &Snapshot<'_>) -> Vec<(u64, String, bool, Option<f64>, bool)> {
        let mut seen = Vec::new();
        snapshot
            .for_each_call(|c| {
                seen.push((
                    c.nth,
                    c.result.to_owned(),
                    c.present,
                    c.secs,
                    c.extracted.is_some(),
                ));
            })
            .unwrap();
        seen.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        seen
    }

    #[test]
    fn every_call_is_read_with_its_number_and_whether_its_contact_is_still_in_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let store = played(dir.path());
        let snapshot = store.report_snapshot().unwrap();
        let before = calls(&snapshot);
        assert!(before.iter().all(|c| c.2), "before the contacts are read");
        snapshot.read_contacts().unwrap();
        assert_eq!(
            calls(&snapshot),
            [
                // B: a no-answer, a refused placement (not a call), then completed (its record
                // has no `extracted`).
                (2, "completed".into(), true, None, false),
                (1, "no_answer".into(), true, None, false),
                (1, "placed".into(), true, None, false),
                (1, "unknown".into(), true, None, false),
                // Z was called, then removed from the CSV.
                (1, "voicemail".into(), false, None, false),
            ]
        );
    }

    #[test]
    fn a_post_on_its_way_or_with_its_answer_lost_counts_as_a_call_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let store = played(dir.path());
        // A's call in flight is its first; a POST on its way and one whose answer was lost
        // follow it (as limits.max_calls counts them).
        for (state, at) in [
            (AttemptState::Placing, "2026-12-07T19:00:00Z"),
            (AttemptState::Ambiguous, "2026-12-07T19:01:00Z"),
        ] {
            attempt(&store, "A", state, None, None, None, at);
        }
        let snapshot = store.report_snapshot().unwrap();
        let in_flight: Vec<u64> = calls(&snapshot)
            .iter()
            .filter(|c| c.1 == "placed")
            .map(|c| c.0)
            .collect();
        assert_eq!(in_flight, [1, 2, 2], "numbered after the calls before them");
    }

    #[test]
    fn the_contacts_are_counted_once_and_the_rows_to_look_at_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = played(dir.path());
        let snapshot = store.report_snapshot().unwrap();
        let funnel = snapshot.read_contacts().unwrap();
        assert_eq!(
            funnel,
            FunnelCounts {
                rows: 6,
                invalid: 2,
                duplicate: 0,
                suppressed: 0,
                refused: 1,
                called: 2,
                reached: 1,
                complete: 0,
                open: 1,
                unknown: 1,
                removed: 2,
                removed_called: 1,
            },
            "rows: A B C D E and the row repeating B's key; invalid: C and that row"
        );
        let (rows, total) = snapshot.attention(1000).unwrap();
        let seen: Vec<(i64, Option<&str>, &str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.line, r.key.as_deref(), r.kind, r.reason.as_deref()))
            .collect();
        assert_eq!(total, 4);
        assert_eq!(seen[0].1, Some("C"));
        assert_eq!((seen[1].1, seen[1].2), (None, "invalid"));
        assert_eq!(
            (seen[2].1, seen[2].2, seen[2].3),
            (
                Some("D"),
                "unknown",
                Some("not in the list of recent calls")
            )
        );
        assert_eq!(
            (seen[3].1, seen[3].2, seen[3].3),
            (
                Some("E"),
                "refused",
                Some("invalid_number: not a valid number")
            )
        );
        let (first, total) = snapshot.attention(1).unwrap();
        assert_eq!(
            (first.len(), total),
            (1, 4),
            "the total is not cut by the limit"
        );

        let mut reasons = Vec::new();
        snapshot
            .reasons(|state, reason, n| reasons.push((state.to_owned(), reason.to_owned(), n)))
            .unwrap();
        let groups: Vec<&str> = reasons.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            groups,
            ["invalid", "invalid", "refused", "unknown"],
            "{reasons:?}"
        );
    }

    #[test]
    fn the_facts_follow_the_record_and_a_record_that_is_not_json_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = played(dir.path());
        let id = attempt(
            &store,
            "A",
            AttemptState::Placed,
            Some("call-a2"),
            None,
            None,
            "2026-12-07T19:00:00Z",
        );
        // The runner records the result: the facts follow, numbered after A's first call.
        store
            .conn
            .execute(
                "UPDATE attempts SET state = 'finished', outcome = 'completed',
                     record = '{\"status\":\"completed\",\"durationSec\":61,
                                \"extracted\":{\"confirmed\":true}}'
                 WHERE id = ?1",
                [id],
            )
            .unwrap();
        let facts: (i64, String, f64, String) = store
            .conn
            .query_row(
                "SELECT nth, result, secs, extracted FROM call_facts WHERE attempt_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            facts,
            (2, "completed".into(), 61.0, r#"{"confirmed":true}"#.into())
        );
        // Damaged: the write still succeeds; the call has no facts.
        let broken = attempt(
            &store,
            "A",
            AttemptState::Finished,
            Some("call-a3"),
            Some("{not json"),
            None,
            "2026-12-07T20:00:00Z",
        );
        let kept: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM call_facts WHERE attempt_id = ?1",
                [broken],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 0);
    }

    #[test]
    fn values_grouped_by_sqlite_agree_with_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = played(dir.path());
        for (i, extracted) in [
            r#"{"n":3,"s":"a"}"#,
            r#"{"n":1.5,"s":true}"#,
            r#"{"n":3,"s":null}"#,
        ]
        .iter()
        .enumerate()
        {
            attempt(
                &store,
                "A",
                AttemptState::Finished,
                Some(&format!("call-x{i}")),
                Some(&format!(
                    r#"{{"status":"completed","extracted":{extracted}}}"#
                )),
                None,
                "2026-12-08T17:00:00Z",
            );
        }
        store
            .conn
            .execute_batch("UPDATE attempts SET outcome = 'completed' WHERE call_id LIKE 'call-x%'")
            .unwrap();
        let snapshot = store.report_snapshot().unwrap();
        let mut numbers = Vec::new();
        snapshot
            .number_values("n", |v, n| numbers.push((v, n)))
            .unwrap();
        assert_eq!(numbers, [(1.5, 1), (3.0, 2)]);
        let mut texts = Vec::new();
        snapshot
            .text_values("s", |v, n| texts.push((v.to_owned(), n)))
            .unwrap();
        texts.sort();
        assert_eq!(texts, [("a".into(), 1), ("true".into(), 1)]);
    }
}
