//! The runner's named queries for an attempt: claiming its due contact, and recording every step
//! of it, from `placing` to its result.
//!
//! Each method is one transaction that moves an attempt and its contact together, with the
//! states decided by [`crate::state`]. Updates are fenced by the expected current state, so a
//! step applied twice (or to an attempt that moved on) changes nothing and says so.
//!
//! Steps are savepoints: alone, each commits on its own; between [`Store::begin_group`] and
//! [`Store::end_group`], each is still whole or absent, and the group commits them together
//! (see `group`).

use jiff::Timestamp;
use rusqlite::params;

use std::sync::LazyLock;

use super::{Store, StoreError, attempts_where, instant, millis, sql_list};
use crate::api::Outcome;
use crate::state::{self, AfterCall, AttemptState, ContactState, Placement, Wait};

/// An attempt the runner must still follow or resolve, as found in the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAttempt {
    pub id: i64,
    pub contact_key: String,
    pub state: AttemptState,
    pub call_id: Option<String>,
    /// The JSON body sent (or about to be sent).
    pub request: String,
    pub created_at: Timestamp,
    pub placed_at: Option<Timestamp>,
    pub polls: u32,
    pub calls: u32,
    /// The newest call known to exist when it was made (`Some("")`: none; `None`: not
    /// recorded, an attempt of an earlier version).
    pub anchor: Option<String>,
    /// The real time it was made at (`None` for attempts of earlier versions).
    pub created_wall: Option<Timestamp>,
}

/// What became of a POST, or what the API's list of calls showed about a lost one, as
/// [`Store::record_placement`] records it.
#[derive(Debug, Clone, Copy)]
pub struct Posted<'a> {
    /// The states [`crate::state`] decided ([`state::after_place`], [`state::after_resolve`]).
    pub placement: Placement,
    /// The call, when there is one: placed, or found in the API's list.
    pub call: Option<NewCall<'a>>,
    /// Why there is no call, or how a lost one was found: an event of the attempt, and the
    /// contact's reason when it ends invalid or unknown.
    pub note: Option<&'a str>,
}

impl<'a> Posted<'a> {
    /// A call made (`id`), nothing more known about it yet.
    pub fn call(placement: Placement, id: &'a str) -> Posted<'a> {
        Posted {
            placement,
            call: Some(NewCall {
                id,
                status: None,
                next_poll_at: None,
            }),
            note: None,
        }
    }

    /// No call: `note` says why (or what the evidence showed).
    pub fn no_call(placement: Placement, note: &'a str) -> Posted<'a> {
        Posted {
            placement,
            call: None,
            note: Some(note),
        }
    }
}

/// A call the API made for an attempt.
#[derive(Debug, Clone, Copy)]
pub struct NewCall<'a> {
    pub id: &'a str,
    /// Its status, when the API said.
    pub status: Option<&'a str>,
    /// When to poll it first.
    pub next_poll_at: Option<Timestamp>,
}

/// What [`Store::begin_attempt`] writes.
struct NewAttempt<'a> {
    key: &'a str,
    idempotency_key: &'a str,
    request: &'a str,
    anchor: Option<&'a str>,
    wall: Timestamp,
}

impl Store {
    /// Commits a new attempt as `placing` and its contact as `active`, before the POST is sent.
    /// `None` if the contact is no longer pending (nothing is written then). `anchor` is the
    /// newest call known to exist (`Some("")`: the account had none; see
    /// `runner::lost::Anchor`), `wall` the real time (the campaign's clock may run fast).
    ///
    /// Its commit waits for the disk (`synchronous = FULL`): were a power cut to take it after
    /// the POST went out, the resumed run would not know to look for the call. The sync also
    /// makes every earlier commit durable. Inside a group, the group commits it, and must end
    /// before the POST is sent.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_attempt(
        &mut self,
        key: &str,
        idempotency_key: &str,
        request: &str,
        anchor: Option<&str>,
        wall: Timestamp,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let new = NewAttempt {
            key,
            idempotency_key,
            request,
            anchor,
            wall,
        };
        if self.group {
            return self.begin_attempt_tx(&new, now);
        }
        // Alone: a group of one.
        self.begin_group()?;
        match self.begin_attempt_tx(&new, now) {
            Ok(begun) => self.end_group().map(|()| begun),
            Err(err) => {
                self.abandon_group();
                Err(err)
            }
        }
    }

    fn begin_attempt_tx(
        &mut self,
        new: &NewAttempt<'_>,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        static CLAIM: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE contacts SET state = '{}', due_at = NULL, wait = NULL, updated_at = ?2
                 WHERE key = ?1 AND state IN ({})",
                state::CLAIM.to,
                sql_list(state::CLAIM.from)
            )
        });
        let claimed = exec(&tx, &CLAIM, params![new.key, millis(now)]).map_err(&sql)?;
        if claimed != 1 {
            return Ok(None);
        }
        exec(
            &tx,
            "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at, updated_at,
                anchor, created_wall)
             VALUES (?1, ?7, ?2, ?3, ?4, ?4, ?5, ?6)",
            params![
                new.key,
                new.idempotency_key,
                new.request,
                millis(now),
                new.anchor,
                millis(new.wall),
                AttemptState::Placing.as_str()
            ],
        )
        .map_err(&sql)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(&sql)?;
        Ok(Some(id))
    }

    /// Gives attempts still being settled (`placing` or `ambiguous`) a later anchor (see
    /// `runner::lost::checkpoint`; the column's form of [`OpenAttempt::anchor`]), in one
    /// transaction. An attempt settled meanwhile keeps its own (the fence). Returns how many
    /// moved.
    pub fn checkpoint_anchors<'a>(
        &mut self,
        moves: impl IntoIterator<Item = (i64, Option<&'a str>)>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut moves = moves.into_iter().peekable();
        if moves.peek().is_none() {
            return Ok(0);
        }
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let checkpoint = format!(
            "UPDATE attempts SET anchor = ?2, updated_at = ?3 WHERE id = ?1 AND state IN ({})",
            attempts_where(AttemptState::awaits_answer)
        );
        let mut moved = 0;
        for (attempt, anchor) in moves {
            moved += exec(&tx, &checkpoint, params![attempt, anchor, millis(now)]).map_err(&sql)?;
        }
        tx.commit().map_err(&sql)?;
        Ok(moved)
    }

    /// Records how the POST of `attempt` (for the contact `key`) ended, or the resolution of a
    /// lost one, fenced on the attempt still being in [`state::PLACEMENT_FROM`]. Returns whether
    /// the fence held: `false` writes nothing (the attempt was settled meanwhile by another
    /// path, which counted its call).
    pub fn record_placement(
        &mut self,
        attempt: i64,
        key: &str,
        posted: &Posted<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        static PLACEMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE attempts SET state = ?2, call_id = COALESCE(?3, call_id),
                    placed_at = CASE WHEN ?3 IS NOT NULL THEN ?7 ELSE placed_at END,
                    status = COALESCE(?4, status), next_poll_at = ?5,
                    error = COALESCE(?6, error), updated_at = ?7
                 WHERE id = ?1 AND state IN ({})",
                sql_list(state::PLACEMENT_FROM)
            )
        });
        let Posted {
            placement,
            call,
            note,
        } = *posted;
        let call_id = call.map(|c| c.id);
        let status = call.and_then(|c| c.status);
        let next_poll_at = call.and_then(|c| c.next_poll_at);
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let counts = i64::from(placement.attempt.counts_as_call());
        let fenced = exec(
            &tx,
            &PLACEMENT,
            params![
                attempt,
                placement.attempt.as_str(),
                call_id,
                status,
                next_poll_at.map(millis),
                note,
                millis(now)
            ],
        )
        .map_err(&sql)?;
        if fenced != 1 {
            // Already settled by another path (a webhook event, an earlier answer): that path
            // counted the call and moved the contact. Dropping the savepoint writes nothing.
            return Ok(false);
        }
        let reason = (placement.contact == ContactState::Invalid
            || placement.contact == ContactState::Unknown)
            .then_some(note)
            .flatten();
        // The usual answer, a call placed, leaves an active contact active: only its count
        // changes. Setting `state` anyway would rewrite its entry in every index on it.
        let stays_active = placement.contact == ContactState::Active
            && placement.due.is_none()
            && reason.is_none()
            && exec(
                &tx,
                "UPDATE contacts SET calls = calls + ?2, updated_at = ?3
                 WHERE key = ?1 AND state = ?4",
                params![key, counts, millis(now), ContactState::Active.as_str()],
            )
            .map_err(&sql)?
                == 1;
        if !stays_active {
            // A contact put back with a delay waits out a refusal that passes (rate limit, 5xx);
            // an unknown contact's `due` is how long it holds its number.
            let wait = (placement.contact == ContactState::Pending && placement.due.is_some())
                .then_some(Wait::Backoff.as_str());
            exec(
                &tx,
                "UPDATE contacts SET state = ?2, due_at = ?3, calls = calls + ?4,
                    reason = COALESCE(?5, reason), wait = ?7, updated_at = ?6
                 WHERE key = ?1",
                params![
                    key,
                    placement.contact.as_str(),
                    placement.due.map(millis),
                    counts,
                    reason,
                    millis(now),
                    wait
                ],
            )
            .map_err(&sql)?;
        }
        if let Some(note) = note {
            insert_event(
                &tx,
                attempt,
                now,
                if call_id.is_some() {
                    "resolved"
                } else {
                    "error"
                },
                note,
            )
            .map_err(&sql)?;
        }
        if let Some(status) = status {
            insert_event(&tx, attempt, now, "status", status).map_err(&sql)?;
        }
        tx.commit().map_err(&sql)?;
        Ok(true)
    }

    /// Records a poll that found the call in a new status, or failed to read it, in one
    /// transaction; `polls` is how many times the call has been polled, this poll included.
    ///
    /// A poll that finds the call as it was writes nothing: the runner counts it and records the
    /// count with the next status or the result. Polls are most of the runner's requests, and
    /// committing each one cost more than the request.
    pub fn record_poll(
        &mut self,
        attempt: i64,
        status: Option<&str>,
        error: Option<&str>,
        polls: u32,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_poll_tx(attempt, status, error, polls, now)
            .map_err(|e| self.err(e))
    }

    fn record_poll_tx(
        &mut self,
        attempt: i64,
        status: Option<&str>,
        error: Option<&str>,
        polls: u32,
        now: Timestamp,
    ) -> rusqlite::Result<()> {
        let tx = self.conn.savepoint()?;
        let changed: bool = tx
            .prepare_cached(
                "SELECT COALESCE(status, '') != COALESCE(?2, status, '') FROM attempts WHERE id = ?1",
            )?
            .query_row(params![attempt, status], |r| r.get(0))?;
        tx.prepare_cached(
            "UPDATE attempts SET polls = MAX(polls, ?3), status = COALESCE(?2, status), updated_at = ?4
             WHERE id = ?1 AND state = ?5",
        )?
        .execute(params![
            attempt,
            status,
            polls,
            millis(now),
            AttemptState::Placed.as_str()
        ])?;
        if let (true, Some(status)) = (changed, status) {
            insert_event(&tx, attempt, now, "status", status)?;
        }
        if let Some(error) = error {
            insert_event(&tx, attempt, now, "error", error)?;
        }
        tx.commit()
    }

    /// Commits a call's final record and its contact's next state, in one transaction. Only then
    /// is the call considered done. Whether the fence held: `false` (nothing written) for an
    /// attempt already finished (a duplicate report) or settled otherwise.
    pub fn record_finished(
        &mut self,
        finish: &Finish<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        if !finish_in(&tx, finish, now).map_err(&sql)? {
            return Ok(false);
        }
        tx.commit().map_err(&sql).map(|()| true)
    }

    /// Attempts found `placing` are ambiguous ([`state::INTERRUPTED`]): the process stopped
    /// between committing them and learning how their POST ended. Returns how many were marked.
    pub fn mark_interrupted_placements(&self, now: Timestamp) -> Result<usize, StoreError> {
        let from = sql_list(state::INTERRUPTED.from);
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT id FROM attempts WHERE state IN ({from})"))
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?
        };
        for &id in &ids {
            self.conn
                .execute(
                    &format!(
                        "UPDATE attempts SET state = ?3, updated_at = ?2
                         WHERE id = ?1 AND state IN ({from})"
                    ),
                    params![id, millis(now), state::INTERRUPTED.to.as_str()],
                )
                .map_err(|e| self.err(e))?;
            insert_event(
                &self.conn,
                id,
                now,
                "error",
                "the run stopped before the POST's answer was recorded",
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(ids.len())
    }

    /// Every attempt still placing, placed or ambiguous, oldest first.
    pub fn open_attempts(&self) -> Result<Vec<OpenAttempt>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT a.id, a.contact_key, a.state, a.call_id, a.request, a.created_at, a.placed_at, a.polls, c.calls,
                    a.anchor, a.created_wall
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.state IN ({}) ORDER BY a.id",
                attempts_where(AttemptState::is_open)
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let state: String = r.get(2)?;
                Ok((
                    state,
                    OpenAttempt {
                        id: r.get(0)?,
                        contact_key: r.get(1)?,
                        state: AttemptState::Placing,
                        call_id: r.get(3)?,
                        request: r.get(4)?,
                        created_at: instant(r.get(5)?),
                        placed_at: r.get::<_, Option<i64>>(6)?.map(instant),
                        polls: r.get::<_, i64>(7)? as u32,
                        calls: r.get::<_, i64>(8)? as u32,
                        anchor: r.get(9)?,
                        created_wall: r.get::<_, Option<i64>>(10)?.map(instant),
                    },
                ))
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(state, mut a)| {
                a.state = self.parse(&state)?;
                Ok(a)
            })
            .collect()
    }

    /// Whether an attempt of this state file has `call_id`: resolution never adopts a call twice.
    pub fn knows_call(&self, call_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM attempts WHERE call_id = ?1)")
            .and_then(|mut stmt| stmt.query_row([call_id], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }
}

/// A call's final record, as [`Store::record_finished`] and a webhook's terminal event commit it.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub attempt: i64,
    pub key: &'a str,
    pub outcome: Outcome,
    /// The final call record, JSON.
    pub record: &'a str,
    pub ended_at: Option<Timestamp>,
    pub after: AfterCall,
    /// How many times the call was polled in all, when the runner knows (the count only grows).
    pub polls: Option<u32>,
}

/// Moves a `placed` attempt to `finished` and its contact on, inside the caller's transaction.
/// `false` (and nothing written) if the attempt is not `placed`: a duplicate report.
///
/// An `unknown` attempt (a call given up, see [`Store::record_call_unknown`]) is finished too:
/// its result came late, and nothing received is dropped; the reason it was given up no longer
/// holds, and is cleared (the events keep it). Its contact moves on only if no call
/// was placed for it since (a contact released by `--retry-unknown` and called again keeps the
/// newer call's state); a late result also releases the number the contact held.
pub(super) fn finish_in(
    conn: &rusqlite::Connection,
    f: &Finish<'_>,
    now: Timestamp,
) -> rusqlite::Result<bool> {
    static FINISH: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE attempts SET state = '{finished}', status = ?2, outcome = ?2, record = ?3,
                ended_at = ?4, finished_at = ?5, polls = MAX(polls, COALESCE(?6, 0)),
                next_poll_at = NULL, updated_at = ?5,
                error = CASE WHEN state = '{given_up}' THEN NULL ELSE error END
             WHERE id = ?1 AND state IN ({from})",
            finished = state::FINISH.to,
            given_up = state::GIVE_UP.to,
            from = sql_list(state::FINISH.from),
        )
    });
    // The contact moves as `state::result_moves` allows: from `RESULT_FROM`, and only if no
    // call was placed for it since.
    static MOVE_CONTACT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE contacts SET state = ?2, outcome = ?3, due_at = ?4, wait = ?6, reason = NULL,
                updated_at = ?5
             WHERE key = ?1 AND state IN ({}) AND NOT {}",
            sql_list(state::RESULT_FROM),
            called_since("?1", "?7")
        )
    });
    let updated = exec(
        conn,
        &FINISH,
        params![
            f.attempt,
            f.outcome.as_str(),
            f.record,
            f.ended_at.map(millis),
            millis(now),
            f.polls
        ],
    )?;
    if updated != 1 {
        return Ok(false);
    }
    let (due, wait) = match f.after {
        AfterCall::Done => (None, None),
        AfterCall::RetryAt(at) => (Some(millis(at)), Some(Wait::Retry.as_str())),
    };
    let state = f.after.contact();
    exec(
        conn,
        &MOVE_CONTACT,
        params![
            f.key,
            state.as_str(),
            f.outcome.as_str(),
            due,
            millis(now),
            wait,
            f.attempt
        ],
    )?;
    insert_event(conn, f.attempt, now, "status", f.outcome.as_str())?;
    Ok(true)
}

/// SQL: whether the contact `key` has been called since its attempt `attempt` (both SQL
/// expressions): it has a newer attempt that [`AttemptState::may_have_called`] (see
/// [`state::result_moves`]).
pub(super) fn called_since(key: &str, attempt: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM attempts n WHERE n.contact_key = {key} AND n.id > {attempt}
            AND n.state IN ({}))",
        attempts_where(AttemptState::may_have_called)
    )
}

/// Executes `sql` through the connection's statement cache: the runner repeats the same few
/// statements for every call, and parsing them anew each time is wasted work.
pub(super) fn exec(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

pub(super) fn insert_event(
    conn: &rusqlite::Connection,
    attempt: i64,
    at: Timestamp,
    kind: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (attempt_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![attempt, millis(at), kind, detail])
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{begin, store, t, wait_of};

    #[test]
    fn a_placement_whose_fence_does_not_hold_changes_nothing() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        let a = begin(&mut store, "A", "k1", now);
        let placed = after_place(&PlaceResult::Placed, now);
        let held = store
            .record_placement(a, "A", &Posted::call(placed, "c1"), now)
            .unwrap();
        assert!(held, "the attempt was placing: the fence holds");
        assert_eq!(store.contact_calls("A").unwrap(), 1);
        // The same answer recorded twice (or a lost answer settled after a webhook event
        // adopted its call): the attempt is no longer placing or ambiguous.
        let held = store
            .record_placement(a, "A", &Posted::call(placed, "c1"), now)
            .unwrap();
        assert!(
            !held,
            "the attempt was already placed: the fence must not hold"
        );
        assert_eq!(
            store.contact_calls("A").unwrap(),
            1,
            "one call, counted once"
        );
        // Nor may a late "not placed" undo the placed call and free its contact.
        let not_placed = after_place(
            &PlaceResult::Transient {
                retry_after: std::time::Duration::from_secs(5),
            },
            now,
        );
        let held = store
            .record_placement(a, "A", &Posted::no_call(not_placed, "?"), now)
            .unwrap();
        assert!(!held);
        assert_eq!(wait_of(&store, "A").0, "active");
        assert_eq!(store.contact_calls("A").unwrap(), 1);
    }

    #[test]
    fn a_contact_waits_for_a_retry_or_a_backoff_and_not_once_claimed() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        // Refused for now (rate limit): back to pending, waiting out the backoff.
        let id = begin(&mut store, "A", "k1", now);
        let transient = PlaceResult::Transient {
            retry_after: std::time::Duration::from_secs(30),
        };
        store
            .record_placement(
                id,
                "A",
                &Posted {
                    placement: after_place(&transient, now),
                    call: None,
                    note: Some("rate_limited"),
                },
                now,
            )
            .unwrap();
        assert_eq!(
            wait_of(&store, "A"),
            ("pending".into(), Some("backoff".into()))
        );
        // Claimed again: no longer waiting.
        let later = t("2026-12-07T17:01:00Z");
        let id = begin(&mut store, "A", "k2", later);
        assert_eq!(wait_of(&store, "A"), ("active".into(), None));
        store
            .record_placement(
                id,
                "A",
                &Posted {
                    placement: after_place(&PlaceResult::Placed, later),
                    call: Some(NewCall {
                        id: "c1",
                        status: Some("queued"),
                        next_poll_at: None,
                    }),
                    note: None,
                },
                later,
            )
            .unwrap();
        // No answer: pending again, waiting for the retry delay.
        let retry = AfterCall::RetryAt(t("2026-12-07T19:00:00Z"));
        store
            .record_finished(
                &Finish {
                    attempt: id,
                    key: "A",
                    outcome: Outcome::NoAnswer,
                    record: r#"{"durationSec":null}"#,
                    ended_at: Some(later),
                    after: retry,
                    polls: Some(1),
                },
                later,
            )
            .unwrap();
        assert_eq!(
            wait_of(&store, "A"),
            ("pending".into(), Some("retry".into()))
        );
        let groups = store.waiting(later).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].reason, groups[0].contacts, groups[0].next_due),
            ("retry", 1, Some(t("2026-12-07T19:00:00Z")))
        );
        // Due now once the delay has run.
        let groups = store.waiting(t("2026-12-07T19:00:00Z")).unwrap();
        assert_eq!((groups[0].reason, groups[0].next_due), ("due", None));
        // Completed on the next call: done, no wait, nothing waiting.
        let id = begin(&mut store, "A", "k3", later);
        store
            .record_placement(
                id,
                "A",
                &Posted {
                    placement: after_place(&PlaceResult::Placed, later),
                    call: Some(NewCall {
                        id: "c2",
                        status: None,
                        next_poll_at: None,
                    }),
                    note: None,
                },
                later,
            )
            .unwrap();
        store
            .record_finished(
                &Finish {
                    attempt: id,
                    key: "A",
                    outcome: Outcome::Completed,
                    record: r#"{"durationSec":95}"#,
                    ended_at: Some(later),
                    after: AfterCall::Done,
                    polls: Some(1),
                },
                later,
            )
            .unwrap();
        assert_eq!(wait_of(&store, "A"), ("done".into(), None));
        assert!(store.waiting(later).unwrap().is_empty());
        assert_eq!(
            store.call_times().unwrap().0,
            95,
            "seconds of finished calls"
        );
        assert_eq!(
            store.calls_placed().unwrap(),
            2,
            "the refused placement is no call"
        );
    }
}
