//! Read-only queries behind `status` (and the census `run` and `export` print): counts of the
//! contacts and attempts, why contacts wait, the rows needing attention, the last errors.
//!
//! Nothing here writes, and no runner lock is taken: [`Store::status_summary`] reads everything
//! inside one read transaction, so its counts agree with each other even mid-run.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::Row;

use super::{Store, StoreError, contacts_where, instant, millis};
use crate::api::Outcome;
use crate::census::{self, Census};
use crate::state::{self, AttemptState, ContactState};

impl Store {
    /// Everything `status` shows, read in one snapshot. `now` decides which pending contacts are
    /// due; `limit` caps the lists (rows needing attention, last errors).
    /// Inside a read transaction the caller holds (a [`super::Snapshot`]), it reads in that one.
    pub fn status_summary(&self, now: Timestamp, limit: u32) -> Result<StatusSummary, StoreError> {
        if !self.conn.is_autocommit() {
            return self.read_summary(millis(now), limit);
        }
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
            .prepare(&format!(
                "SELECT state, present = 1, outcome, wait, phone IS NOT NULL, due_at, calls,
                        {}, cutoff_at
                 FROM contacts c",
                refused("c")
            ))
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
    /// Read from `call_facts` (a few dozen bytes a call), not the records: at a million calls
    /// the records took seconds to read, at each `status` and each run's start.
    pub fn call_times(&self) -> Result<(u64, Option<u64>), StoreError> {
        self.conn
            .query_row(
                "SELECT CAST(round(COALESCE(SUM(secs), 0)) AS INTEGER), AVG(ended - at)
                 FROM call_facts",
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
    pub(super) fn counts(&self, sql: &str) -> Result<Vec<(String, bool, u64)>, StoreError> {
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
        let from = format!(
            "FROM contacts c WHERE c.state = '{}' OR {}",
            ContactState::Unknown,
            refused("c")
        );
        // One scan for the list and its total (a count of its own read the table again); at
        // least one row, to carry the total.
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT c.key, c.state, c.present,
                        COALESCE(c.reason, (SELECT a.error FROM attempts a
                            WHERE a.contact_key = c.key ORDER BY a.id DESC LIMIT 1)),
                        COUNT(*) OVER ()
                 {from} ORDER BY c.present DESC, c.seq LIMIT max(?1, 1)"
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

/// SQL: whether the contact `c` was refused by the API (as [`super::ResultRow::refused`]): in
/// a state a refusal leaves it in, without an outcome, with attempts.
fn refused(c: &str) -> String {
    format!(
        "({c}.state IN ({}) AND {c}.outcome IS NULL
            AND EXISTS (SELECT 1 FROM attempts a WHERE a.contact_key = {c}.key))",
        contacts_where(ContactState::may_be_refused)
    )
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
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::store::results::tests::{attempt, midway, t};

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
}
