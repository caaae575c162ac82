//! Read-only queries behind the results CSV (`export`) and `status`.
//!
//! Nothing here writes: these queries run while a runner may hold the state file (WAL lets
//! readers and one writer work side by side; no runner lock is taken). Invariants:
//! - [`Store::for_each_result`] streams rows through one prepared statement (a single SQLite
//!   read snapshot, so the export is consistent even mid-run) and hands them to a callback one
//!   at a time; memory does not grow with the number of rows;
//! - rows come in CSV order: contacts still in the CSV and skipped rows merged by `seq`; then,
//!   when asked for (`export --all`), contacts of earlier imports no longer in the CSV that were
//!   called, so no call placed is ever out of reach;
//! - [`Store::status_summary`] reads everything inside one read transaction, so its counts agree
//!   with each other.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::Row;

use super::{Store, StoreError, instant, millis};
use crate::census::{self, Census};
use crate::state::{self, AttemptState, ContactState, Outcome, Wait};

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
        self.attempted
            && self.outcome.is_none()
            && matches!(self.state, ContactState::Invalid | ContactState::Done)
    }
}

/// The result rows in CSV order (see the module header). `part` keeps absent contacts last.
const RESULTS: &str = "
SELECT 0 AS part, c.seq, c.line, c.key, c.cells, c.state, c.reason, c.outcome, c.calls,
       a.state, a.call_id, a.record, a.ended_at, a.error,
       (SELECT l.error FROM attempts l WHERE l.contact_key = c.key ORDER BY l.id DESC LIMIT 1),
       EXISTS (SELECT 1 FROM attempts x WHERE x.contact_key = c.key), 1,
       c.timezone, c.tz_source, c.due_at, c.wait, json_extract(a.request, '$.to')
FROM contacts c
LEFT JOIN attempts a ON a.id = (
    SELECT p.id FROM attempts p
    WHERE p.contact_key = c.key AND p.state IN ('placed', 'finished', 'unknown')
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
    WHERE p.contact_key = c.key AND p.state IN ('placed', 'finished', 'unknown')
    ORDER BY p.id DESC LIMIT 1)
WHERE c.present = 0 AND c.calls > 0 AND ?1
ORDER BY 1, 2";

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
        let mut statement = self.conn.prepare(RESULTS).map_err(|e| self.err(e))?;
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
        text.parse()
            .map_err(|e: state::UnknownState| self.corrupt(e.to_string()))
    }

    fn corrupt(&self, message: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message,
        }
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
            .prepare(
                "SELECT contact_key, state, status, record, error FROM attempts
                 WHERE id > ?1 AND state IN ('placed', 'finished', 'unknown') ORDER BY id",
            )
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

    /// Everything `status` shows, read in one snapshot. `now` decides which pending contacts are
    /// due; `limit` caps the lists (rows needing attention, last errors).
    pub fn status_summary(&self, now: Timestamp, limit: u32) -> Result<StatusSummary, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let summary = self.read_summary(millis(now), limit);
        // A read transaction: nothing to keep, so roll back (also on error).
        tx.rollback().map_err(|e| self.err(e))?;
        summary
    }

    fn read_summary(&self, now: i64, limit: u32) -> Result<StatusSummary, StoreError> {
        let get = |e| self.err(e);
        let mut s = StatusSummary {
            campaign: self.meta("campaign")?,
            breaker: self.meta(super::BREAKER_TRIPPED)?,
            stopping: self
                .meta(super::STOPPING)?
                .as_deref()
                .and_then(Stopping::parse),
            paused: self
                .meta(super::PAUSED)?
                .and_then(|since| since.parse().ok()),
            ..StatusSummary::default()
        };
        s.unmatched_events = self
            .conn
            .query_row(
                "SELECT COUNT(DISTINCT w.call_id) FROM webhook_events w
                 WHERE w.call_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.call_id = w.call_id)",
                [],
                |r| count(r, 0),
            )
            .map_err(get)?;
        let tally = self.tally_contacts(now)?;
        s.contacts = tally.present;
        s.absent = tally.absent;
        s.outcomes = tally.outcomes;
        s.history = tally.history;
        (s.census, s.progress) = self.with_skipped(tally.census, tally.progress)?;
        for (state, _, n) in
            self.counts("SELECT state, 1, COUNT(*) FROM skipped_rows GROUP BY state")?
        {
            let state: ContactState = self.parse(&state)?;
            *s.skipped.entry(state.as_str()).or_default() += n;
        }
        for (state, _, n) in
            self.counts("SELECT state, 1, COUNT(*) FROM attempts GROUP BY state")?
        {
            let state: AttemptState = self.parse(&state)?;
            if state.is_open() {
                s.in_flight += n;
            }
            *s.attempts.entry(state.as_str()).or_default() += n;
        }
        s.calls = tally.calls;
        s.polls = self
            .conn
            .query_row("SELECT COALESCE(SUM(polls), 0) FROM attempts", [], |r| {
                count(r, 0)
            })
            .map_err(get)?;
        s.due_now = tally.due_now;
        s.next_due = tally.next_due.map(instant);
        s.pending_calls = tally.pending_calls;
        s.waiting = self.wait_groups(tally.waiting)?;
        (s.call_seconds, s.mean_call_secs) = self.call_times()?;
        self.attention(&mut s, limit)?;
        self.errors(&mut s, limit)?;
        Ok(s)
    }

    /// Contacts not yet settled, grouped by why they wait (see [`WaitGroup`]), in the order of
    /// [`WAIT_REASONS`]. Groups with no contact are left out.
    pub fn waiting(&self, now: Timestamp) -> Result<Vec<WaitGroup>, StoreError> {
        self.waiting_at(millis(now))
    }

    fn waiting_at(&self, now: i64) -> Result<Vec<WaitGroup>, StoreError> {
        let tally = self.tally_contacts(now)?;
        self.wait_groups(tally.waiting)
    }

    /// How the rows of the CSV last imported divide up (see [`crate::census`]), and the rows to
    /// call by how far they got: the same counts as `status`, for `run` and `export`.
    pub fn census(&self) -> Result<(Census, BTreeMap<&'static str, u64>), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let tally = self.tally_contacts(millis(Timestamp::now()));
        let census = tally.and_then(|t| self.with_skipped(t.census, t.progress));
        tx.rollback().map_err(|e| self.err(e))?;
        census
    }

    /// The contacts' census with the rows that have no identity of their own added (duplicates,
    /// repeated or empty keys): they are rows of the CSV too.
    fn with_skipped(
        &self,
        mut census: Census,
        mut progress: BTreeMap<&'static str, u64>,
    ) -> Result<(Census, BTreeMap<&'static str, u64>), StoreError> {
        for (state, _, n) in
            self.counts("SELECT state, 1, COUNT(*) FROM skipped_rows GROUP BY state")?
        {
            let state: ContactState = self.parse(&state)?;
            let word = census::progress(state, None, false);
            census.add(word, n);
            *progress.entry(word).or_default() += n;
        }
        Ok((census, progress))
    }

    /// The contacts' groups of [`ContactTally::waiting`], in the order of [`WAIT_REASONS`].
    fn wait_groups(
        &self,
        groups: BTreeMap<&'static str, WaitGroup>,
    ) -> Result<Vec<WaitGroup>, StoreError> {
        let mut groups: Vec<WaitGroup> = groups.into_values().collect();
        groups.sort_by_key(|g| WAIT_REASONS.iter().position(|&r| r == g.reason));
        Ok(groups)
    }

    fn wait_reason(&self, reason: &str) -> Result<&'static str, StoreError> {
        WAIT_REASONS
            .iter()
            .find(|&&r| r == reason)
            .copied()
            .ok_or_else(|| self.corrupt(format!("unknown wait reason {reason:?}")))
    }

    /// Counts every contact in one pass over the table. (Grouping in SQL sorts every row
    /// first: 1.4 s for a million contacts, where this pass takes a quarter of that.)
    fn tally_contacts(&self, now: i64) -> Result<ContactTally, StoreError> {
        let get = |e| self.err(e);
        let mut statement = self
            .conn
            .prepare(
                "SELECT state, present = 1, outcome, wait, phone IS NOT NULL, due_at, calls,
                        state IN ('invalid', 'done') AND outcome IS NULL
                            AND EXISTS (SELECT 1 FROM attempts a WHERE a.contact_key = c.key),
                        cutoff_at
                 FROM contacts c",
            )
            .map_err(get)?;
        let mut rows = statement.query([]).map_err(get)?;
        let mut t = ContactTally::default();
        while let Some(row) = rows.next().map_err(get)? {
            let text = |i| row.get_ref(i).and_then(|v| Ok(v.as_str_or_null()?));
            let state: ContactState = self.parse(text(0).map_err(get)?.unwrap_or_default())?;
            let present: bool = row.get(1).map_err(get)?;
            let has_phone: bool = row.get(4).map_err(get)?;
            let due_at: Option<i64> = row.get(5).map_err(get)?;
            // A contact whose deadline passed since the last run is shown as the next run will
            // write it: expired, not due.
            let state = match row.get::<_, Option<i64>>(8).map_err(get)? {
                Some(cutoff) => {
                    state::after_deadline(state, instant(cutoff), due_at.map(instant), instant(now))
                }
                None => state,
            };
            let calls = count(row, 6).map_err(get)?;
            t.calls += calls;
            let outcome: Option<Outcome> =
                text(2).map_err(get)?.map(|o| self.parse(o)).transpose()?;
            if let Some(outcome) = outcome {
                *t.outcomes.entry(outcome.as_str()).or_default() += 1;
            }
            let attempted: bool = row.get(7).map_err(get)?;
            let word = census::progress(state, outcome, attempted);
            if !present {
                t.absent += 1;
                *t.history.entry(word).or_default() += 1;
                continue;
            }
            t.census.add(word, 1);
            *t.progress.entry(word).or_default() += 1;
            *t.present.entry(state.as_str()).or_default() += 1;
            let pending = state == ContactState::Pending;
            // A pending contact is due when its instant has come; otherwise `wait` says why
            // not (files older than schema 3 have no reason: `scheduled`).
            let later = due_at.filter(|&at| pending && at > now);
            if pending {
                match later {
                    None => t.due_now += 1,
                    Some(at) => t.next_due = Some(t.next_due.map_or(at, |n: i64| n.min(at))),
                }
                if has_phone {
                    t.pending_calls += calls;
                }
            }
            // Contacts that will never be called (again) are not waiting: only those that may
            // still be, or whose call may still be going on.
            let reason = match state {
                ContactState::Done
                | ContactState::Invalid
                | ContactState::Duplicate
                | ContactState::Suppressed
                | ContactState::Expired
                | ContactState::Removed => continue,
                ContactState::Pending if !has_phone => continue,
                ContactState::Pending if later.is_none() => "due",
                ContactState::Pending => match text(3).map_err(get)? {
                    Some(wait) => self.wait_reason(wait)?,
                    None => "scheduled",
                },
                ContactState::Active => "in_flight",
                ContactState::Unknown => "unknown",
            };
            let group = group(&mut t.waiting, reason);
            group.contacts += 1;
            if let Some(at) = later.map(instant) {
                group.next_due = Some(group.next_due.map_or(at, |n| n.min(at)));
                group.last_due = Some(group.last_due.map_or(at, |l| l.max(at)));
            }
        }
        Ok(t)
    }

    /// Seconds of conversation billed so far (the `durationSec` of every finished call), and
    /// the mean time a call stays in flight, from placement to its result (`None` before any).
    pub fn call_times(&self) -> Result<(u64, Option<u64>), StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(json_extract(record, '$.durationSec')), 0),
                        AVG(finished_at - COALESCE(placed_at, created_at))
                 FROM attempts WHERE state = 'finished'",
                [],
                |r| {
                    Ok((
                        count(r, 0)?,
                        r.get::<_, Option<f64>>(1)?
                            .map(|ms| (ms.max(0.0) / 1000.0).round() as u64),
                    ))
                },
            )
            .map_err(|e| self.err(e))
    }

    /// Rows of `(text, flag, count)`, e.g. `(state, present, COUNT(*))`.
    fn counts(&self, sql: &str) -> Result<Vec<(String, bool, u64)>, StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? == 1, count(r, 2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Unknown contacts, and contacts the API refused (invalid or done without an outcome, with
    /// attempts): the first `limit` in CSV order, and how many there are.
    fn attention(&self, s: &mut StatusSummary, limit: u32) -> Result<(), StoreError> {
        const WHERE: &str = "FROM contacts c
            WHERE c.state = 'unknown'
               OR (c.state IN ('invalid', 'done') AND c.outcome IS NULL
                   AND EXISTS (SELECT 1 FROM attempts a WHERE a.contact_key = c.key))";
        // One scan for the list and its total (a count of its own read the table again); at
        // least one row, to carry the total.
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT c.key, c.state, c.present,
                        COALESCE(c.reason, (SELECT a.error FROM attempts a
                            WHERE a.contact_key = c.key ORDER BY a.id DESC LIMIT 1)),
                        COUNT(*) OVER ()
                 {WHERE} ORDER BY c.present DESC, c.seq LIMIT max(?1, 1)"
            ))
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    count(r, 4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (key, state, present, reason, total) = row.map_err(|e| self.err(e))?;
            s.attention_total = total;
            let state: ContactState = self.parse(&state)?;
            s.attention.push(Attention {
                key,
                state: if state == ContactState::Unknown {
                    "unknown"
                } else {
                    "refused"
                },
                present,
                reason,
            });
        }
        s.attention.truncate(limit as usize);
        Ok(())
    }

    /// The newest `limit` errors: every `error` event, plus attempts whose `error` has no event
    /// of its own (so one error is not listed twice).
    fn errors(&self, s: &mut StatusSummary, limit: u32) -> Result<(), StoreError> {
        const ERRORS: &str = "
            SELECT e.at AS at, a.contact_key AS key, e.detail AS detail, e.attempt_id AS attempt
            FROM events e JOIN attempts a ON a.id = e.attempt_id
            WHERE e.kind = 'error'
            UNION ALL
            SELECT a.updated_at, a.contact_key, a.error, a.id
            FROM attempts a
            WHERE a.error IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM events e
                WHERE e.attempt_id = a.id AND e.kind = 'error' AND e.detail = a.error)";
        s.errors_total = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM ({ERRORS})"), [], |r| {
                count(r, 0)
            })
            .map_err(|e| self.err(e))?;
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT at, key, detail FROM ({ERRORS}) ORDER BY at DESC, attempt DESC LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([limit], |r| {
                Ok(ErrorEntry {
                    at: instant(r.get(0)?),
                    key: r.get(1)?,
                    message: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        s.errors = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// What `status` counts over the contacts table (see [`Store::tally_contacts`]).
#[derive(Debug, Default)]
struct ContactTally {
    /// Contacts in the CSV, by state.
    present: BTreeMap<&'static str, u64>,
    /// Contacts in the CSV, counted once each (skipped rows not yet added).
    census: Census,
    /// Contacts in the CSV by their progress word (see [`census::progress`]).
    progress: BTreeMap<&'static str, u64>,
    /// Contacts no longer in the CSV, by progress word.
    history: BTreeMap<&'static str, u64>,
    absent: u64,
    outcomes: BTreeMap<&'static str, u64>,
    calls: u64,
    due_now: u64,
    next_due: Option<i64>,
    pending_calls: u64,
    /// Contacts not settled, by why they wait.
    waiting: BTreeMap<&'static str, WaitGroup>,
}

fn group<'a>(
    groups: &'a mut BTreeMap<&'static str, WaitGroup>,
    reason: &'static str,
) -> &'a mut WaitGroup {
    groups.entry(reason).or_insert(WaitGroup {
        reason,
        contacts: 0,
        next_due: None,
        last_due: None,
    })
}

/// A count column (SQLite integers are `i64`).
fn count(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(index)?.max(0) as u64)
}

/// What `status` reports. Maps are keyed by the TEXT form of the states, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StatusSummary {
    /// The campaign the state file belongs to.
    pub campaign: Option<String>,
    /// When and why the circuit breaker tripped, while it is open (`None`: closed).
    pub breaker: Option<String>,
    /// A run stopping after Ctrl-C or SIGTERM, as it last said (it may have been killed since:
    /// past `until`, it is stale).
    pub stopping: Option<Stopping>,
    /// Since when (real time) a run has paused placing until it has read the API's list of
    /// calls again (see [`super::PAUSED`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Timestamp>,
    /// Calls that webhook events were received for but that no attempt of this campaign has:
    /// kept, never dropped (a lost placement they could not be matched to, or another
    /// campaign's call sent to this receiver).
    #[serde(skip_serializing_if = "is_zero")]
    pub unmatched_events: u64,
    /// The rows of the CSV last imported, each counted once, as `validate` counts them.
    pub census: Census,
    /// Its rows by how far they got: `pending`, `in_flight`, an outcome, `refused`, …, and the
    /// never-called `invalid`, `duplicate`, `suppressed` (see [`crate::census::progress`]).
    pub progress: BTreeMap<&'static str, u64>,
    /// Contacts of earlier imports no longer in the CSV, by the same words.
    pub history: BTreeMap<&'static str, u64>,
    /// Contacts still in the CSV, by state.
    pub contacts: BTreeMap<&'static str, u64>,
    /// Contacts no longer in the CSV (never called again).
    pub absent: u64,
    /// Rows without an identity of their own (`duplicate`, `invalid`), never called.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Contacts by last terminal outcome (absent ones included).
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Attempts (POSTs) by state.
    pub attempts: BTreeMap<&'static str, u64>,
    /// Attempts being placed, followed or resolved.
    pub in_flight: u64,
    /// Calls placed, or possibly placed.
    pub calls: u64,
    /// `GET` requests made to follow calls.
    pub polls: u64,
    /// Pending contacts that may be called now (subject to windows and limits).
    pub due_now: u64,
    /// The earliest later instant a pending contact becomes due.
    pub next_due: Option<Timestamp>,
    /// Contacts not yet settled, by why they wait (see [`WAIT_REASONS`]).
    pub waiting: Vec<WaitGroup>,
    /// Calls already placed for the contacts still pending (retries count against them).
    pub pending_calls: u64,
    /// Seconds of conversation of every finished call (their `durationSec`).
    pub call_seconds: u64,
    /// Mean seconds from placing a call to recording its result; `None` before any result.
    pub mean_call_secs: Option<u64>,
    pub attention: Vec<Attention>,
    pub attention_total: u64,
    /// Newest first.
    pub errors: Vec<ErrorEntry>,
    pub errors_total: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A run's graceful stop, in real time: since the signal, and until when at the latest it
/// follows the calls in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stopping {
    pub since: Timestamp,
    pub until: Timestamp,
}

impl Stopping {
    /// Reads the runner's `<since> <until>`.
    fn parse(text: &str) -> Option<Stopping> {
        let (since, until) = text.split_once(' ')?;
        Some(Stopping {
            since: since.parse().ok()?,
            until: until.parse().ok()?,
        })
    }
}

/// Why contacts wait, in the order `status` lists them:
/// - `due`: may be called now, as soon as the limits allow;
/// - `in_flight`: a call is being placed or followed;
/// - `retry`: the retry delay after an unsuccessful call runs;
/// - `window`: outside the contact's calling windows;
/// - `campaign`: before `schedule.not_before`;
/// - `backoff`: the API refused a placement for a passing reason (rate limit, 5xx);
/// - `scheduled`: due later, for a reason an older version did not record;
/// - `unknown`: a call may have gone out; never called again without `--retry-unknown`.
///
/// Rows that are never called (invalid, duplicate, suppressed) or settled are not waiting.
pub const WAIT_REASONS: [&str; 8] = [
    "due",
    "in_flight",
    "retry",
    "window",
    "campaign",
    "backoff",
    "scheduled",
    "unknown",
];

/// Contacts waiting for one reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WaitGroup {
    /// One of [`WAIT_REASONS`].
    pub reason: &'static str,
    pub contacts: u64,
    /// The earliest instant one of them becomes due (`None`: due now, or never).
    pub next_due: Option<Timestamp>,
    /// The latest instant one of them becomes due.
    pub last_due: Option<Timestamp>,
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

/// A contact that needs a person to look at it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attention {
    pub key: String,
    /// `unknown` (a call may have been placed) or `refused` (the API refused the number).
    pub state: &'static str,
    pub present: bool,
    pub reason: Option<String>,
}

/// An error met while placing or following a call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ErrorEntry {
    pub at: Timestamp,
    pub key: String,
    pub message: String,
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
        store.import(&campaign, t("2026-12-07T17:00:00Z")).unwrap();
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
        store.import(&campaign, t("2026-12-07T17:02:00Z")).unwrap();

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
    fn status_counts_agree_with_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        attempt(
            &store,
            "A",
            AttemptState::Placing,
            None,
            None,
            None,
            "2026-12-07T17:08:00Z",
        );
        let s = store.status_summary(t("2026-12-07T18:00:00Z"), 2).unwrap();
        let map = |pairs: &[(&'static str, u64)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
        assert_eq!(s.campaign.as_deref(), Some("t"));
        assert_eq!(
            s.contacts,
            map(&[("pending", 1), ("done", 1), ("invalid", 2), ("unknown", 1)])
        );
        assert_eq!((s.absent, s.skipped.clone()), (2, map(&[("invalid", 1)])));
        assert_eq!(s.outcomes, map(&[("completed", 1), ("voicemail", 1)]));
        assert_eq!(
            s.attempts,
            map(&[
                ("finished", 3),
                ("not_placed", 2),
                ("placing", 1),
                ("unknown", 1)
            ])
        );
        assert_eq!((s.in_flight, s.calls, s.polls), (1, 4, 21));
        assert_eq!(
            (s.due_now, s.next_due),
            (0, Some(t("2026-12-07T19:00:00Z")))
        );
        let due = store.status_summary(t("2026-12-07T19:00:00Z"), 2).unwrap();
        assert_eq!((due.due_now, due.next_due), (1, None));

        let attention: Vec<(&str, &str, Option<&str>)> = s
            .attention
            .iter()
            .map(|a| (a.key.as_str(), a.state, a.reason.as_deref()))
            .collect();
        assert_eq!(
            attention,
            [
                ("D", "unknown", Some("not in the list of recent calls")),
                ("E", "refused", Some("invalid_number: not a valid number")),
            ],
            "C is invalid from the CSV: not the API's refusal"
        );
        assert_eq!(s.attention_total, 2);
        for limit in [0, 1] {
            let fewer = store
                .status_summary(t("2026-12-07T18:00:00Z"), limit)
                .unwrap();
            assert_eq!(fewer.attention.len(), limit as usize);
            assert_eq!(
                fewer.attention_total, 2,
                "the total is not cut by the limit"
            );
        }

        assert_eq!(s.errors_total, 3);
        let errors: Vec<(&str, &str)> = s
            .errors
            .iter()
            .map(|e| (e.key.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                ("E", "invalid_number: not a valid number"),
                ("D", "timed out reading the answer"),
            ],
            "newest first, capped at the limit"
        );
        assert_eq!(s.errors[0].at, t("2026-12-07T17:07:00Z"));
    }

    #[test]
    fn error_events_are_listed_once_with_their_own_time() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        let id = attempt(
            &store,
            "A",
            AttemptState::NotPlaced,
            None,
            None,
            Some("rate_limited"),
            "2026-12-07T17:10:00Z",
        );
        for (at, detail) in [
            ("2026-12-07T17:09:00Z", "placement_failed"),
            ("2026-12-07T17:09:30Z", "rate_limited"),
        ] {
            store
                .conn
                .execute(
                    "INSERT INTO events (attempt_id, at, kind, detail) VALUES (?1, ?2, 'error', ?3)",
                    params![id, millis(t(at)), detail],
                )
                .unwrap();
        }
        let s = store.status_summary(t("2026-12-07T18:00:00Z"), 10).unwrap();
        assert_eq!(s.errors_total, 5);
        let first: Vec<(&str, Timestamp)> = s
            .errors
            .iter()
            .take(3)
            .map(|e| (e.message.as_str(), e.at))
            .collect();
        assert_eq!(
            first,
            [
                ("rate_limited", t("2026-12-07T17:09:30Z")),
                ("placement_failed", t("2026-12-07T17:09:00Z")),
                (
                    "invalid_number: not a valid number",
                    t("2026-12-07T17:07:00Z")
                ),
            ]
        );
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
