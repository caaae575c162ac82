//! The runner's named queries: claiming a due contact, and recording every step of an attempt.
//!
//! Each method is one transaction that moves an attempt and its contact together, with the
//! states decided by [`crate::state`]. Updates are fenced by the expected current state, so a
//! step applied twice (or to an attempt that moved on) changes nothing and says so.
//!
//! Steps are savepoints: alone, each commits on its own; between [`Store::begin_group`] and
//! [`Store::end_group`], each is still whole or absent, and the group commits them together.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, instant, millis};
use crate::state::{AfterCall, AttemptState, ContactState, Outcome, Placement, Wait};

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
}

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

/// An attempt given up as `unknown` before its call was known: its POST's answer was lost, and
/// the list of calls could not settle it. A webhook event, or a later read of the list, may
/// still find its call (see [`Store::adopt_unknown_call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    pub attempt: i64,
    pub key: String,
    /// The JSON body sent.
    pub request: String,
    pub created_at: Timestamp,
    /// As [`OpenAttempt::anchor`].
    pub anchor: Option<String>,
    /// The contact's calls, this one included.
    pub calls: u32,
}

/// What [`Store::begin_attempt`] writes.
struct NewAttempt<'a> {
    key: &'a str,
    idempotency_key: &'a str,
    request: &'a str,
    anchor: Option<&'a str>,
    wall: Timestamp,
}

/// A call given up as unknown whose result may still come: a later run asks the API for it
/// once more (see [`Store::late_calls`]), and a webhook may bring it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateCall {
    pub attempt: i64,
    pub key: String,
    pub call_id: String,
    /// The contact's calls, this one included.
    pub calls: u32,
}

/// The contacts [`Store::next_due`] may answer: pending, in the CSV, due at `?1`, and not
/// sharing a number with a contact whose call is in progress or may be (a never-called contact
/// is due at 0; an `unknown` contact holds its number until its `due_at`).
macro_rules! from_due {
    () => {
        "FROM contacts c
    WHERE state = 'pending' AND present = 1 AND phone IS NOT NULL
      AND COALESCE(due_at, 0) <= ?1
      AND NOT EXISTS (SELECT 1 FROM contacts a WHERE a.phone = c.phone
            AND a.state IN ('active', 'unknown') AND (a.state = 'active' OR a.due_at > ?1))"
    };
}

/// The query behind [`Store::next_due`].
const NEXT_DUE: &str = concat!(
    "SELECT key, phone, line, cells, timezone, calls ",
    from_due!(),
    " ORDER BY COALESCE(due_at, 0), seq LIMIT 1"
);

/// The query behind [`Store::due_count`], which stops reading its rows at its limit. Not a
/// `LIMIT ?2`: SQLite plans a LIMIT with the value bound to it, so every new limit would make
/// it parse and plan the statement again.
const DUE_COUNT: &str = concat!("SELECT 1 ", from_due!());

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
        self.conn
            .prepare_cached(NEXT_DUE)
            .and_then(|mut stmt| {
                stmt.query_row([millis(now)], |r| {
                    let cells: String = r.get(3)?;
                    Ok(Due {
                        key: r.get(0)?,
                        phone: r.get(1)?,
                        line: r.get::<_, i64>(2)? as u64,
                        cells: serde_json::from_str(&cells).unwrap_or_default(),
                        timezone: r.get(4)?,
                        calls: r.get::<_, i64>(5)? as u32,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// How many contacts [`Store::next_due`] could answer at `now`, counting up to `limit`.
    pub fn due_count(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(DUE_COUNT)
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
                "SELECT COUNT(*), MIN(MAX(COALESCE(due_at, 0), COALESCE(
                    (SELECT MAX(a.due_at) FROM contacts a WHERE a.phone = c.phone AND a.state = 'unknown'),
                    0)))
                 FROM contacts c
                 WHERE state = 'pending' AND present = 1 AND phone IS NOT NULL",
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
                "SELECT COUNT(*) FROM attempts WHERE state IN ('placing', 'placed', 'ambiguous', 'finished', 'unknown')",
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
                "SELECT COUNT(*),
                        COALESCE(SUM(CASE WHEN state = 'finished'
                            THEN json_extract(record, '$.durationSec') END), 0),
                        COALESCE(SUM(state = 'unknown'), 0)
                 FROM attempts
                 WHERE created_at >= ?1
                   AND state IN ('placing', 'placed', 'ambiguous', 'finished', 'unknown')",
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

    /// Opens a group of steps that [`Store::end_group`] commits in one transaction, waiting
    /// for the disk (`synchronous = FULL`). The runner groups the answers it handles and the
    /// round of placements that follows them: a commit costs more than the steps in it, most
    /// of all the disk flush a round of attempts must wait for. A step that fails is undone
    /// alone and the steps before it stay in the group; should SQLite have rolled the whole
    /// transaction back (a full disk, an I/O error), `end_group` says so.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        if self.group {
            return Err(self.misuse("a group of steps is already open"));
        }
        // SQLite changes the safety level only between transactions; NORMAL is the standing one.
        self.set_synchronous(true)?;
        if let Err(err) = self.conn.execute_batch("BEGIN") {
            let _ = self.set_synchronous(false);
            return Err(self.err(err));
        }
        self.group = true;
        Ok(())
    }

    /// Commits the group [`Store::begin_group`] opened (rolled back if the commit fails).
    pub fn end_group(&mut self) -> Result<(), StoreError> {
        if !std::mem::take(&mut self.group) {
            return Ok(());
        }
        let committed = if self.conn.is_autocommit() {
            Err(self.misuse("the group's transaction was rolled back by an earlier error"))
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.err(e)
            })
        };
        // Should this fail, later commits wait for the disk too: slower, never less safe.
        let _ = self.set_synchronous(false);
        committed
    }

    /// Rolls back the group [`Store::begin_group`] opened: none of its steps happened.
    pub fn abandon_group(&mut self) {
        if std::mem::take(&mut self.group) {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            let _ = self.set_synchronous(false);
        }
    }

    /// Marks the start of a round of attempts in the open group, so that [`Store::undo_round`]
    /// can take the round back alone, keeping the steps grouped before it.
    pub fn begin_round(&mut self) -> Result<(), StoreError> {
        if !self.group {
            return Err(self.misuse("a round begun outside a group of steps"));
        }
        self.conn
            .execute_batch("SAVEPOINT round")
            .map_err(|e| self.err(e))
    }

    /// Keeps the round [`Store::begin_round`] started in the group (committed with it).
    pub fn end_round(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("RELEASE round")
            .map_err(|e| self.err(e))
    }

    /// Takes back the round [`Store::begin_round`] started: none of its attempts happened.
    pub fn undo_round(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("ROLLBACK TO round; RELEASE round")
            .map_err(|e| self.err(e))
    }

    pub(super) fn misuse(&self, message: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message: message.to_owned(),
        }
    }

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
        let claimed = exec(
            &tx,
            "UPDATE contacts SET state = 'active', due_at = NULL, wait = NULL, updated_at = ?2
             WHERE key = ?1 AND state = 'pending'",
            params![new.key, millis(now)],
        )
        .map_err(&sql)?;
        if claimed != 1 {
            return Ok(None);
        }
        exec(
            &tx,
            "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at, updated_at,
                anchor, created_wall)
             VALUES (?1, 'placing', ?2, ?3, ?4, ?4, ?5, ?6)",
            params![
                new.key,
                new.idempotency_key,
                new.request,
                millis(now),
                new.anchor,
                millis(new.wall)
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
        let mut moved = 0;
        for (attempt, anchor) in moves {
            moved += exec(
                &tx,
                "UPDATE attempts SET anchor = ?2, updated_at = ?3
                 WHERE id = ?1 AND state IN ('placing', 'ambiguous')",
                params![attempt, anchor, millis(now)],
            )
            .map_err(&sql)?;
        }
        tx.commit().map_err(&sql)?;
        Ok(moved)
    }

    /// Records how a POST (or the resolution of a lost one) ended, fenced on the attempt still
    /// being `placing` or `ambiguous`. Returns whether the fence held: `false` writes nothing
    /// (the attempt was settled meanwhile by another path, which counted its call).
    #[allow(clippy::too_many_arguments)]
    pub fn record_placement(
        &mut self,
        attempt: i64,
        key: &str,
        placement: Placement,
        call_id: Option<&str>,
        status: Option<&str>,
        next_poll_at: Option<Timestamp>,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let counts = i64::from(placement.attempt.counts_as_call());
        let fenced = exec(
            &tx,
            "UPDATE attempts SET state = ?2, call_id = COALESCE(?3, call_id),
                placed_at = CASE WHEN ?3 IS NOT NULL THEN ?7 ELSE placed_at END,
                status = COALESCE(?4, status), next_poll_at = ?5,
                error = COALESCE(?6, error), updated_at = ?7
             WHERE id = ?1 AND state IN ('placing', 'ambiguous')",
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
                 WHERE key = ?1 AND state = 'active'",
                params![key, counts, millis(now)],
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
             WHERE id = ?1 AND state = 'placed'",
        )?
        .execute(params![attempt, status, polls, millis(now)])?;
        if let (true, Some(status)) = (changed, status) {
            insert_event(&tx, attempt, now, "status", status)?;
        }
        if let Some(error) = error {
            insert_event(&tx, attempt, now, "error", error)?;
        }
        tx.commit()
    }

    /// A followed call whose fate the runner gives up learning (the API no longer knows it, or
    /// it has not ended long past `limits.max_call_minutes`): the attempt and its contact become
    /// `unknown` with `reason`, in one transaction (the call may have rung someone, so it still
    /// counts). A result that comes later still finishes the attempt (see [`finish_in`]).
    /// The call may still be going on: until `held_until`, no other contact with the same
    /// number is called.
    pub fn record_call_unknown(
        &mut self,
        attempt: i64,
        key: &str,
        reason: &str,
        polls: u32,
        held_until: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_call_unknown_tx(attempt, key, reason, polls, held_until, now)
            .map_err(|e| self.err(e))
    }

    fn record_call_unknown_tx(
        &mut self,
        attempt: i64,
        key: &str,
        reason: &str,
        polls: u32,
        held_until: Timestamp,
        now: Timestamp,
    ) -> rusqlite::Result<()> {
        let tx = self.conn.savepoint()?;
        let updated = exec(
            &tx,
            "UPDATE attempts SET state = 'unknown', error = ?2, polls = MAX(polls, ?3),
                next_poll_at = NULL, updated_at = ?4
             WHERE id = ?1 AND state = 'placed'",
            params![attempt, reason, polls, millis(now)],
        )?;
        if updated != 1 {
            return Ok(());
        }
        exec(
            &tx,
            "UPDATE contacts SET state = 'unknown', reason = ?2, due_at = ?4, wait = NULL,
                updated_at = ?3
             WHERE key = ?1",
            params![key, reason, millis(now), millis(held_until)],
        )?;
        insert_event(&tx, attempt, now, "error", reason)?;
        tx.commit()
    }

    /// Calls given up as unknown at or after `since`, most recently given up first, at most
    /// `limit` of them.
    pub fn late_calls(&self, since: Timestamp, limit: u32) -> Result<Vec<LateCall>, StoreError> {
        self.conn
            .prepare(
                "SELECT a.id, a.contact_key, a.call_id, c.calls
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.state = 'unknown' AND a.call_id IS NOT NULL AND a.updated_at >= ?1
                 ORDER BY a.updated_at DESC, a.id DESC LIMIT ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![millis(since), limit], late_call_row)?
                    .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// The call given up as unknown that `call_id` names, if there is one.
    pub fn late_call(&self, call_id: &str) -> Result<Option<LateCall>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT a.id, a.contact_key, a.call_id, c.calls
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.call_id = ?1 AND a.state = 'unknown'",
            )
            .and_then(|mut stmt| stmt.query_row([call_id], late_call_row).optional())
            .map_err(|e| self.err(e))
    }

    /// Attempts given up as unknown without a call id, made at or after `since`, newest first, at
    /// most `limit`; with `to`, only those whose request names that number.
    pub fn strays(
        &self,
        since: Timestamp,
        to: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Stray>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT a.id, a.contact_key, a.request, a.created_at, a.anchor, c.calls
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.state = 'unknown' AND a.call_id IS NULL AND a.created_at >= ?1
                   AND (?2 IS NULL OR instr(a.request, ?2) > 0)
                 ORDER BY a.id DESC LIMIT ?3",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![millis(since), to, limit], |r| {
                    Ok(Stray {
                        attempt: r.get(0)?,
                        key: r.get(1)?,
                        request: r.get(2)?,
                        created_at: instant(r.get(3)?),
                        anchor: r.get(4)?,
                        calls: r.get::<_, i64>(5)? as u32,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// The call of an attempt given up as unknown without one has been found (`how`). It keeps
    /// the call id, and moves as [`crate::state::after_found`] decides: placed and followed,
    /// its contact active, unless the contact has been called since (then it stays unknown, a
    /// late call, see [`Store::late_call`]). `None` (nothing written) if the attempt has a call
    /// id already or is no longer unknown; else whether it is now `placed`.
    pub fn adopt_unknown_call(
        &mut self,
        attempt: i64,
        key: &str,
        call_id: &str,
        how: &str,
        now: Timestamp,
    ) -> Result<Option<bool>, StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let updated = exec(
            &tx,
            "UPDATE attempts SET call_id = ?2, updated_at = ?3
             WHERE id = ?1 AND state = 'unknown' AND call_id IS NULL",
            params![attempt, call_id, millis(now)],
        )
        .map_err(&sql)?;
        if updated != 1 {
            return Ok(None);
        }
        let called_since: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM attempts n WHERE n.contact_key = ?1 AND n.id > ?2
                    AND n.state != 'not_placed')
                 OR NOT EXISTS (SELECT 1 FROM contacts WHERE key = ?1 AND state = 'unknown')",
            )
            .and_then(|mut stmt| stmt.query_row(params![key, attempt], |r| r.get(0)))
            .map_err(&sql)?;
        let followed = match crate::state::after_found(called_since) {
            Some((attempt_state, contact_state)) => {
                exec(
                    &tx,
                    "UPDATE attempts SET state = ?2, placed_at = ?3, error = NULL WHERE id = ?1",
                    params![attempt, attempt_state.as_str(), millis(now)],
                )
                .map_err(&sql)?;
                let moved = exec(
                    &tx,
                    "UPDATE contacts SET state = ?2, reason = NULL, due_at = NULL, wait = NULL,
                        updated_at = ?3
                     WHERE key = ?1 AND state = 'unknown'",
                    params![key, contact_state.as_str(), millis(now)],
                )
                .map_err(&sql)?;
                // Checked above inside the same transaction: it cannot have moved.
                debug_assert_eq!(
                    moved, 1,
                    "a found call's contact moved under its transaction"
                );
                moved == 1
            }
            None => false,
        };
        insert_event(&tx, attempt, now, "resolved", how).map_err(&sql)?;
        tx.commit().map_err(&sql)?;
        Ok(Some(followed))
    }

    /// A call given up as unknown is still going on: its contact (made pending by
    /// `--retry-unknown`, or still unknown) is unknown and holds its number until `until`,
    /// unless a call was placed for it since. Whether it changed anything.
    pub fn hold_late(
        &self,
        attempt: i64,
        key: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        exec(
            &self.conn,
            "UPDATE contacts SET state = 'unknown', due_at = MAX(COALESCE(due_at, 0), ?3),
                wait = NULL, updated_at = ?4
             WHERE key = ?1 AND state IN ('unknown', 'pending')
               AND NOT EXISTS (SELECT 1 FROM attempts n
                     WHERE n.contact_key = ?1 AND n.id > ?2 AND n.state != 'not_placed')",
            params![key, attempt, millis(until), millis(now)],
        )
        .map(|n| n > 0)
        .map_err(|e| self.err(e))
    }

    /// A poll of a call given up as unknown that brought no result: counted, nothing else.
    pub fn count_late_poll(&self, attempt: i64) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "UPDATE attempts SET polls = polls + 1 WHERE id = ?1 AND state = 'unknown'",
            [attempt],
        )
        .map(drop)
        .map_err(|e| self.err(e))
    }

    /// `synchronous = FULL` (every commit waits for the disk) or `NORMAL` (WAL commits do not).
    fn set_synchronous(&self, full: bool) -> Result<(), StoreError> {
        let sql = if full {
            "PRAGMA synchronous = FULL"
        } else {
            "PRAGMA synchronous = NORMAL"
        };
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute([]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Commits a call's final record and its contact's next state, in one transaction. Only then
    /// is the call considered done. `polls`: how many times the call was polled in all, when the
    /// runner knows (the count only grows).
    #[allow(clippy::too_many_arguments)]
    pub fn record_finished(
        &mut self,
        attempt: i64,
        key: &str,
        outcome: Outcome,
        record: &str,
        ended_at: Option<Timestamp>,
        after: AfterCall,
        polls: Option<u32>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let finish = Finish {
            attempt,
            key,
            outcome,
            record,
            ended_at,
            after,
            polls,
        };
        if !finish_in(&tx, &finish, now).map_err(&sql)? {
            // Already finished (a duplicate report): nothing to do.
            return Ok(());
        }
        tx.commit().map_err(&sql)
    }

    /// Attempts found `placing` are ambiguous: the process stopped between committing them and
    /// learning how their POST ended. Returns how many were marked.
    pub fn mark_interrupted_placements(&self, now: Timestamp) -> Result<usize, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM attempts WHERE state = 'placing'")
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?
        };
        for &id in &ids {
            self.conn
                .execute(
                    "UPDATE attempts SET state = 'ambiguous', updated_at = ?2 WHERE id = ?1",
                    params![id, millis(now)],
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
            .prepare(
                "SELECT a.id, a.contact_key, a.state, a.call_id, a.request, a.created_at, a.placed_at, a.polls, c.calls,
                    a.anchor, a.created_wall
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.state IN ('placing', 'placed', 'ambiguous') ORDER BY a.id",
            )
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
                a.state =
                    state
                        .parse()
                        .map_err(|e: crate::state::UnknownState| StoreError::Corrupt {
                            path: self.path.clone(),
                            message: e.to_string(),
                        })?;
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

    /// Contacts that will be called (now or later) if nothing stops the run.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM contacts WHERE state = 'pending' AND present = 1 AND phone IS NOT NULL",
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

    /// A pending contact whose number was added to a suppression list since the import.
    pub fn set_contact_suppressed(
        &self,
        key: &str,
        phone: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET state = 'suppressed', wait = NULL, due_at = NULL,
                    reason = ?2, updated_at = ?3
                 WHERE key = ?1 AND state = 'pending'",
                params![
                    key,
                    format!("{phone} was added to a suppression list during the run"),
                    millis(now)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
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
                 WHERE state = 'finished' AND outcome IS NOT NULL AND finished_at > ?1
                 ORDER BY finished_at DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, Option<String>)> = stmt
            .query_map(params![since.map_or(i64::MIN, millis), n as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .rev()
            .map(|(outcome, record)| {
                let outcome = outcome.parse().map_err(|e: crate::state::UnknownState| {
                    StoreError::Corrupt {
                        path: self.path.clone(),
                        message: e.to_string(),
                    }
                })?;
                Ok((outcome, record))
            })
            .collect()
    }

    /// Attempts whose call may or may not have gone out.
    pub fn unknown_calls(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM attempts WHERE state = 'unknown'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
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
             WHERE key = ?1 AND state = 'pending'",
            params![key, millis(until), millis(now), Wait::Backoff.as_str()],
        )
        .map(drop)
        .map_err(|e| self.err(e))
    }

    /// A pending contact that cannot be rendered any more is invalid (never placed half-made).
    pub fn set_contact_invalid(
        &self,
        key: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET state = 'invalid', reason = ?2, due_at = NULL, wait = NULL, updated_at = ?3
                 WHERE key = ?1 AND state = 'pending'",
                params![key, reason, millis(now)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// `--retry-unknown`: contacts whose call may have gone out are made pending again, once
    /// that call could no longer be going on (see [`Store::unknown_held`] for the others).
    pub fn release_unknown(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET state = 'pending', due_at = NULL, wait = NULL, updated_at = ?1
                 WHERE state = 'unknown' AND COALESCE(due_at, 0) <= ?1",
                [millis(now)],
            )
            .map_err(|e| self.err(e))
    }

    /// Unknown contacts recorded before their number was held (state files of earlier
    /// versions) hold it until `until`. Returns how many.
    pub fn hold_unknown_numbers(&self, until: Timestamp) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET due_at = ?1 WHERE state = 'unknown' AND due_at IS NULL",
                [millis(until)],
            )
            .map_err(|e| self.err(e))
    }

    /// Unknown contacts whose call may still be going on at `now`: how many, and until when.
    /// `--retry-unknown` leaves them unknown: made pending, they would no longer hold their
    /// number, and a contact sharing it could be called while that call rings.
    pub fn unknown_held(&self, now: Timestamp) -> Result<Option<(u64, Timestamp)>, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MAX(due_at) FROM contacts WHERE state = 'unknown' AND due_at > ?1",
                [millis(now)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map(|(count, until)| until.map(|until| (count as u64, instant(until))))
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
    let updated = exec(
        conn,
        "UPDATE attempts SET state = 'finished', status = ?2, outcome = ?2, record = ?3, ended_at = ?4,
            finished_at = ?5, polls = MAX(polls, COALESCE(?6, 0)), next_poll_at = NULL, updated_at = ?5,
            error = CASE WHEN state = 'unknown' THEN NULL ELSE error END
         WHERE id = ?1 AND state IN ('placed', 'unknown')",
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
    let (state, due, wait) = match f.after {
        AfterCall::Done => (ContactState::Done, None, None),
        AfterCall::RetryAt(at) => (
            ContactState::Pending,
            Some(millis(at)),
            Some(Wait::Retry.as_str()),
        ),
    };
    exec(
        conn,
        "UPDATE contacts SET state = ?2, outcome = ?3, due_at = ?4, wait = ?6, reason = NULL, updated_at = ?5
         WHERE key = ?1 AND state IN ('active', 'unknown', 'pending')
           AND NOT EXISTS (SELECT 1 FROM attempts n
                 WHERE n.contact_key = ?1 AND n.id > ?7 AND n.state != 'not_placed')",
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

fn late_call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LateCall> {
    Ok(LateCall {
        attempt: r.get(0)?,
        key: r.get(1)?,
        call_id: r.get(2)?,
        calls: r.get::<_, i64>(3)? as u32,
    })
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
    use crate::campaign::testing;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn store(dir: &std::path::Path, csv: &str) -> Store {
        let campaign = testing::campaign(dir, "  key_column: id\n", "", csv);
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        store.import(&campaign, t("2026-12-07T17:00:00Z")).unwrap();
        store
    }

    fn set(store: &Store, key: &str, state: &str, due: Option<&str>) {
        store
            .conn
            .execute(
                "UPDATE contacts SET state = ?2, due_at = ?3 WHERE key = ?1",
                params![key, state, due.map(|d| millis(t(d)))],
            )
            .unwrap();
    }

    fn next(store: &Store, now: &str) -> Option<String> {
        store.next_due(t(now)).unwrap().map(|d| d.key)
    }

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
    fn a_placement_whose_fence_does_not_hold_changes_nothing() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        let a = store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        let placed = after_place(&PlaceResult::Placed, now);
        let held = store
            .record_placement(a, "A", placed, Some("c1"), None, None, None, now)
            .unwrap();
        assert!(held, "the attempt was placing: the fence holds");
        assert_eq!(store.contact_calls("A").unwrap(), 1);
        // The same answer recorded twice (or a lost answer settled after a webhook event
        // adopted its call): the attempt is no longer placing or ambiguous.
        let held = store
            .record_placement(a, "A", placed, Some("c1"), None, None, None, now)
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
            .record_placement(a, "A", not_placed, None, None, None, Some("?"), now)
            .unwrap();
        assert!(!held);
        assert_eq!(wait_of(&store, "A").0, "active");
        assert_eq!(store.contact_calls("A").unwrap(), 1);
    }

    #[test]
    fn an_unknown_contact_holds_its_number_until_its_call_could_have_ended() {
        use crate::state::{Evidence, PlaceResult, after_place, after_resolve};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\nC,Lin,(415) 555-0101\nD,Sam,(212) 555-0102\n",
        );
        let at = |s: &str| t(&format!("2026-12-07T{s}:00Z"));
        let next_at = |store: &Store| store.next_due_at().unwrap();
        // A followed call the API no longer knows, held until 17:11.
        let a = store
            .begin_attempt("A", "k1", "{}", None, at("17:00"), at("17:00"))
            .unwrap()
            .unwrap();
        let placed = after_place(&PlaceResult::Placed, at("17:00"));
        store
            .record_placement(a, "A", placed, Some("c1"), None, None, None, at("17:00"))
            .unwrap();
        store
            .record_call_unknown(a, "A", "gone", 3, at("17:11"), at("17:01"))
            .unwrap();
        // A lost placement the list of calls could not settle, held until 17:12.
        let b = store
            .begin_attempt("B", "k2", "{}", None, at("17:00"), at("17:00"))
            .unwrap()
            .unwrap();
        let (attempt, contact) = after_resolve(&Evidence::Inconclusive);
        let unknown = Placement {
            attempt,
            contact,
            due: Some(at("17:12")),
        };
        store
            .record_placement(b, "B", unknown, None, None, None, Some("?"), at("17:02"))
            .unwrap();
        assert_eq!(wait_of(&store, "B"), ("unknown".into(), None));

        assert_eq!(next(&store, "2026-12-07T17:05:00Z"), None, "C and D wait");
        assert_eq!(store.due_count(at("17:05"), 10).unwrap(), 0);
        assert_eq!(next_at(&store), Some(Some(at("17:11"))));
        assert_eq!(next(&store, "2026-12-07T17:11:00Z").as_deref(), Some("C"));
        assert_eq!(store.due_count(at("17:11"), 10).unwrap(), 1);
        set(&store, "C", "done", None);
        assert_eq!(next_at(&store), Some(Some(at("17:12"))));

        // --retry-unknown frees only a contact whose call can no longer be going on: made
        // pending, B would no longer hold the number D shares.
        assert_eq!(store.release_unknown(at("17:11")).unwrap(), 1);
        assert_eq!(wait_of(&store, "A"), ("pending".into(), None));
        assert_eq!(
            store.unknown_held(at("17:11")).unwrap(),
            Some((1, at("17:12")))
        );
        assert_eq!(next(&store, "2026-12-07T17:11:00Z").as_deref(), Some("A"));
        assert_eq!(store.release_unknown(at("17:12")).unwrap(), 1);
        assert_eq!(store.unknown_held(at("17:12")).unwrap(), None);
        set(&store, "A", "done", None);
        assert_eq!(next(&store, "2026-12-07T17:12:00Z").as_deref(), Some("B"));
    }

    #[test]
    fn an_unknown_contact_of_an_earlier_version_holds_its_number_from_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Lin,(415) 555-0101\n",
        );
        set(&store, "A", "unknown", None);
        assert_eq!(next(&store, "2026-12-07T17:05:00Z").as_deref(), Some("B"));
        let until = t("2026-12-07T17:10:00Z");
        assert_eq!(store.hold_unknown_numbers(until).unwrap(), 1);
        assert_eq!(next(&store, "2026-12-07T17:05:00Z"), None);
        assert_eq!(next(&store, "2026-12-07T17:10:00Z").as_deref(), Some("B"));
        // A hold already set is kept.
        assert_eq!(
            store
                .hold_unknown_numbers(t("2026-12-07T18:00:00Z"))
                .unwrap(),
            0
        );
    }

    #[test]
    fn a_late_result_finishes_a_given_up_call_and_moves_its_contact_only_if_not_called_since() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\n",
        );
        let at = |s: &str| t(&format!("2026-12-07T{s}:00Z"));
        let given_up = |store: &mut Store, key: &str, call: &str| {
            let id = store
                .begin_attempt(
                    key,
                    &format!("k-{call}"),
                    "{}",
                    None,
                    at("17:00"),
                    at("17:00"),
                )
                .unwrap()
                .unwrap();
            let placed = after_place(&PlaceResult::Placed, at("17:00"));
            store
                .record_placement(id, key, placed, Some(call), None, None, None, at("17:00"))
                .unwrap();
            store
                .record_call_unknown(id, key, "still in_progress", 40, at("17:25"), at("17:15"))
                .unwrap();
            id
        };
        let finish = |store: &mut Store, attempt: i64, key: &str| {
            store
                .record_finished(
                    attempt,
                    key,
                    Outcome::Completed,
                    "{}",
                    Some(at("17:40")),
                    AfterCall::Done,
                    None,
                    at("17:41"),
                )
                .unwrap();
        };
        let contact = |store: &Store, key: &str| -> (String, Option<String>, Option<i64>) {
            store
                .conn
                .query_row(
                    "SELECT state, reason, due_at FROM contacts WHERE key = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap()
        };
        let attempt_state = |store: &Store, id: i64| -> String {
            store
                .conn
                .query_row("SELECT state FROM attempts WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap()
        };

        // A's call comes back completed after all: the contact is done, its number free.
        let a = given_up(&mut store, "A", "c1");
        assert_eq!(store.late_call("c1").unwrap().map(|l| l.attempt), Some(a));
        assert_eq!(store.late_calls(at("17:00"), 10).unwrap().len(), 1);
        assert!(store.late_calls(at("17:16"), 10).unwrap().is_empty());
        finish(&mut store, a, "A");
        assert_eq!(attempt_state(&store, a), "finished");
        assert_eq!(contact(&store, "A"), ("done".into(), None, None));
        assert_eq!(store.late_call("c1").unwrap(), None);

        // B was released with --retry-unknown and called again before its late result came:
        // the old attempt gets its result, the contact keeps following the new call.
        let b = given_up(&mut store, "B", "c2");
        assert_eq!(store.release_unknown(at("17:30")).unwrap(), 1);
        let again = store
            .begin_attempt("B", "k-again", "{}", None, at("17:31"), at("17:31"))
            .unwrap()
            .unwrap();
        finish(&mut store, b, "B");
        assert_eq!(attempt_state(&store, b), "finished");
        assert_eq!(attempt_state(&store, again), "placing");
        assert_eq!(contact(&store, "B").0, "active");
    }

    fn wait_of(store: &Store, key: &str) -> (String, Option<String>) {
        store
            .conn
            .query_row(
                "SELECT state, wait FROM contacts WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn a_group_commits_its_steps_together_and_undoes_a_failed_step_alone() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        let id = store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        let other = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        let seen = |other: &rusqlite::Connection| -> (String, Option<String>, i64, i64) {
            other
                .query_row(
                    "SELECT a.state, a.status, c.calls, (SELECT COUNT(*) FROM events)
                     FROM attempts a JOIN contacts c ON c.key = a.contact_key WHERE a.id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .unwrap()
        };

        store.begin_group().unwrap();
        store
            .record_placement(
                id,
                "A",
                after_place(&PlaceResult::Placed, now),
                Some("c1"),
                Some("queued"),
                None,
                None,
                now,
            )
            .unwrap();
        // No such attempt: the step fails and leaves nothing; the group goes on.
        assert!(
            store
                .record_poll(id + 1, Some("ringing"), None, 1, now)
                .is_err()
        );
        store
            .record_poll(id, Some("ringing"), None, 1, now)
            .unwrap();
        assert!(store.begin_group().is_err(), "a group is open");
        // A reader (`status` while the run goes on) sees none of it before the commit.
        assert_eq!(seen(&other), ("placing".into(), None, 0, 0));

        store.end_group().unwrap();
        assert_eq!(
            seen(&other),
            ("placed".into(), Some("ringing".into()), 1, 2)
        );
        assert_eq!(wait_of(&store, "A"), ("active".into(), None));
        // Ending a group that is not open does nothing.
        store.end_group().unwrap();
    }

    #[test]
    fn a_round_of_attempts_is_committed_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\n",
        );
        let now = t("2026-12-07T17:00:00Z");
        let count = |store: &Store| -> i64 {
            store
                .conn
                .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
                .unwrap()
        };
        // A round abandoned (a step failed before its POSTs went out): nothing was placed.
        store.begin_group().unwrap();
        store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store
            .begin_attempt("B", "k2", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store.abandon_group();
        assert_eq!(count(&store), 0);
        assert_eq!(wait_of(&store, "A"), ("pending".into(), None));
        // Committed: both attempts, and the contacts active.
        store.begin_group().unwrap();
        store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store
            .begin_attempt("B", "k2", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store.end_group().unwrap();
        assert_eq!(count(&store), 2);
        assert_eq!(wait_of(&store, "B"), ("active".into(), None));
        // Back to commits that do not wait for the disk.
        let sync: i64 = store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
    }

    #[test]
    fn a_round_undone_keeps_the_steps_grouped_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(
            dir.path(),
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\nC,Lin,(312) 555-0103\n",
        );
        let now = t("2026-12-07T17:00:00Z");
        let a = store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        assert!(store.begin_round().is_err(), "only inside a group");
        store.begin_group().unwrap();
        let placed = crate::state::after_place(&crate::state::PlaceResult::Placed, now);
        store
            .record_placement(a, "A", placed, Some("c1"), Some("ringing"), None, None, now)
            .unwrap();
        store.begin_round().unwrap();
        store
            .begin_attempt("B", "k2", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store.undo_round().unwrap();
        // A round kept is committed with the group.
        store.begin_round().unwrap();
        store
            .begin_attempt("C", "k3", "{}", None, now, now)
            .unwrap()
            .unwrap();
        store.end_round().unwrap();
        store.end_group().unwrap();
        let other = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        let seen: Vec<(String, String, Option<String>)> = other
            .prepare(
                "SELECT c.key, c.state, a.status FROM contacts c
                 LEFT JOIN attempts a ON a.contact_key = c.key ORDER BY c.key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("A".into(), "active".into(), Some("ringing".into())),
                ("B".into(), "pending".into(), None),
                ("C".into(), "active".into(), None),
            ]
        );
    }

    #[test]
    fn a_contact_waits_for_a_retry_or_a_backoff_and_not_once_claimed() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        // Refused for now (rate limit): back to pending, waiting out the backoff.
        let id = store
            .begin_attempt("A", "k1", "{}", None, now, now)
            .unwrap()
            .unwrap();
        let transient = PlaceResult::Transient {
            retry_after: std::time::Duration::from_secs(30),
        };
        store
            .record_placement(
                id,
                "A",
                after_place(&transient, now),
                None,
                None,
                None,
                Some("rate_limited"),
                now,
            )
            .unwrap();
        assert_eq!(
            wait_of(&store, "A"),
            ("pending".into(), Some("backoff".into()))
        );
        // Claimed again: no longer waiting.
        let later = t("2026-12-07T17:01:00Z");
        let id = store
            .begin_attempt("A", "k2", "{}", None, later, later)
            .unwrap()
            .unwrap();
        assert_eq!(wait_of(&store, "A"), ("active".into(), None));
        store
            .record_placement(
                id,
                "A",
                after_place(&PlaceResult::Placed, later),
                Some("c1"),
                Some("queued"),
                None,
                None,
                later,
            )
            .unwrap();
        // No answer: pending again, waiting for the retry delay.
        let retry = AfterCall::RetryAt(t("2026-12-07T19:00:00Z"));
        store
            .record_finished(
                id,
                "A",
                Outcome::NoAnswer,
                r#"{"durationSec":null}"#,
                Some(later),
                retry,
                Some(1),
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
        let id = store
            .begin_attempt("A", "k3", "{}", None, later, later)
            .unwrap()
            .unwrap();
        store
            .record_placement(
                id,
                "A",
                after_place(&PlaceResult::Placed, later),
                Some("c2"),
                None,
                None,
                None,
                later,
            )
            .unwrap();
        store
            .record_finished(
                id,
                "A",
                Outcome::Completed,
                r#"{"durationSec":95}"#,
                Some(later),
                AfterCall::Done,
                Some(1),
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
        for sql in [NEXT_DUE, DUE_COUNT] {
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
        for sql in [NEXT_DUE, DUE_COUNT] {
            let stmt = store.conn.prepare_cached(sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            assert_eq!(stmt.get_status(StatementStatus::Run), 4, "{sql}");
        }
    }
}
