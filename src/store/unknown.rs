//! Calls whose fate is unknown: given up while followed, or lost answers the list of calls could
//! not settle. Their number stays held while their call may still ring; a late result still
//! finishes them, and a call found later is adopted; `--retry-unknown` makes their contacts
//! pending again.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::attempts::{called_since, exec, insert_event};
use super::{Store, StoreError, instant, millis, sql_list};
use crate::state::{self, AttemptState, ContactState};

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
    /// As [`super::OpenAttempt::anchor`].
    pub anchor: Option<String>,
    /// The contact's calls, this one included.
    pub calls: u32,
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

fn late_call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LateCall> {
    Ok(LateCall {
        attempt: r.get(0)?,
        key: r.get(1)?,
        call_id: r.get(2)?,
        calls: r.get::<_, i64>(3)? as u32,
    })
}

impl Store {
    /// A followed call whose fate the runner gives up learning (the API no longer knows it, or
    /// it has not ended long past `limits.max_call_minutes`): the attempt and its contact become
    /// `unknown` with `reason` ([`state::GIVE_UP`]), in one transaction (the call may have rung
    /// someone, so it still counts). A result that comes later still finishes the attempt (see
    /// `finish_in`). The call may still be going on: until `held_until`, no other contact with
    /// the same number is called. Whether the fence held (the attempt was still followed).
    pub fn record_call_unknown(
        &mut self,
        attempt: i64,
        key: &str,
        reason: &str,
        polls: u32,
        held_until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
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
    ) -> rusqlite::Result<bool> {
        let tx = self.conn.savepoint()?;
        let updated = exec(
            &tx,
            &format!(
                "UPDATE attempts SET state = ?5, error = ?2, polls = MAX(polls, ?3),
                    next_poll_at = NULL, updated_at = ?4
                 WHERE id = ?1 AND state IN ({})",
                sql_list(state::GIVE_UP.from)
            ),
            params![
                attempt,
                reason,
                polls,
                millis(now),
                state::GIVE_UP.to.as_str()
            ],
        )?;
        if updated != 1 {
            return Ok(false);
        }
        // Its contact is active (its call was followed); the attempt's fence guards the step.
        exec(
            &tx,
            "UPDATE contacts SET state = ?5, reason = ?2, due_at = ?4, wait = NULL,
                updated_at = ?3
             WHERE key = ?1",
            params![
                key,
                reason,
                millis(now),
                millis(held_until),
                state::GIVEN_UP_CONTACT.as_str()
            ],
        )?;
        insert_event(&tx, attempt, now, "error", reason)?;
        tx.commit().map(|()| true)
    }

    /// Calls given up as unknown at or after `since`, most recently given up first, at most
    /// `limit` of them.
    pub fn late_calls(&self, since: Timestamp, limit: u32) -> Result<Vec<LateCall>, StoreError> {
        self.conn
            .prepare(
                "SELECT a.id, a.contact_key, a.call_id, c.calls
                 FROM attempts a JOIN contacts c ON c.key = a.contact_key
                 WHERE a.state = ?3 AND a.call_id IS NOT NULL AND a.updated_at >= ?1
                 ORDER BY a.updated_at DESC, a.id DESC LIMIT ?2",
            )
            .and_then(|mut stmt| {
                let unknown = AttemptState::Unknown.as_str();
                stmt.query_map(params![millis(since), limit, unknown], late_call_row)?
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
                 WHERE a.call_id = ?1 AND a.state = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row([call_id, AttemptState::Unknown.as_str()], late_call_row)
                    .optional()
            })
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
                 WHERE a.state = ?4 AND a.call_id IS NULL AND a.created_at >= ?1
                   AND (?2 IS NULL OR instr(a.request, ?2) > 0)
                 ORDER BY a.id DESC LIMIT ?3",
            )
            .and_then(|mut stmt| {
                let unknown = AttemptState::Unknown.as_str();
                stmt.query_map(params![millis(since), to, limit, unknown], |r| {
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
             WHERE id = ?1 AND state = ?4 AND call_id IS NULL",
            params![attempt, call_id, millis(now), state::GIVE_UP.to.as_str()],
        )
        .map_err(&sql)?;
        if updated != 1 {
            return Ok(None);
        }
        // A contact no longer given up (released by `--retry-unknown`, then called or settled)
        // counts as called since.
        let called_since: bool = tx
            .prepare_cached(&format!(
                "SELECT {} OR NOT EXISTS (SELECT 1 FROM contacts WHERE key = ?1 AND state = ?3)",
                called_since("?1", "?2")
            ))
            .and_then(|mut stmt| {
                let given_up = state::GIVEN_UP_CONTACT.as_str();
                stmt.query_row(params![key, attempt, given_up], |r| r.get(0))
            })
            .map_err(&sql)?;
        let followed = match state::after_found(called_since) {
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
                     WHERE key = ?1 AND state = ?4",
                    params![
                        key,
                        contact_state.as_str(),
                        millis(now),
                        state::GIVEN_UP_CONTACT.as_str()
                    ],
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
    /// unless a call was placed for it since ([`state::HOLD_LATE`]). Whether the fence held.
    pub fn hold_late(
        &self,
        attempt: i64,
        key: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        exec(
            &self.conn,
            &format!(
                "UPDATE contacts SET state = ?5, due_at = MAX(COALESCE(due_at, 0), ?3),
                    wait = NULL, updated_at = ?4
                 WHERE key = ?1 AND state IN ({}) AND NOT {}",
                sql_list(state::HOLD_LATE.from),
                called_since("?1", "?2")
            ),
            params![
                key,
                attempt,
                millis(until),
                millis(now),
                state::HOLD_LATE.to.as_str()
            ],
        )
        .map(|n| n > 0)
        .map_err(|e| self.err(e))
    }

    /// A poll of a call given up as unknown that brought no result: counted, nothing else.
    pub fn count_late_poll(&self, attempt: i64) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "UPDATE attempts SET polls = polls + 1 WHERE id = ?1 AND state = ?2",
            params![attempt, AttemptState::Unknown.as_str()],
        )
        .map(drop)
        .map_err(|e| self.err(e))
    }

    /// Attempts whose call may or may not have gone out.
    pub fn unknown_calls(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM attempts WHERE state = ?1",
                [AttemptState::Unknown.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// `--retry-unknown`: contacts whose call may have gone out are made pending again, once
    /// that call could no longer be going on ([`state::RETRY_UNKNOWN`]; see
    /// [`Store::unknown_held`] for the others). Returns how many.
    pub fn release_unknown(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.conn
            .execute(
                &format!(
                    "UPDATE contacts SET state = ?2, due_at = NULL, wait = NULL, updated_at = ?1
                     WHERE state IN ({}) AND COALESCE(due_at, 0) <= ?1",
                    sql_list(state::RETRY_UNKNOWN.from)
                ),
                params![millis(now), state::RETRY_UNKNOWN.to.as_str()],
            )
            .map_err(|e| self.err(e))
    }

    /// Unknown contacts recorded before their number was held (state files of earlier
    /// versions) hold it until `until`. Returns how many.
    pub fn hold_unknown_numbers(&self, until: Timestamp) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE contacts SET due_at = ?1 WHERE state = ?2 AND due_at IS NULL",
                params![millis(until), ContactState::Unknown.as_str()],
            )
            .map_err(|e| self.err(e))
    }

    /// Unknown contacts whose call may still be going on at `now`: how many, and until when.
    /// `--retry-unknown` leaves them unknown: made pending, they would no longer hold their
    /// number, and a contact sharing it could be called while that call rings.
    pub fn unknown_held(&self, now: Timestamp) -> Result<Option<(u64, Timestamp)>, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MAX(due_at) FROM contacts WHERE state = ?2 AND due_at > ?1",
                params![millis(now), ContactState::Unknown.as_str()],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map(|(count, until)| until.map(|until| (count as u64, instant(until))))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Outcome;
    use crate::state::{AfterCall, Placement};
    use crate::store::fixture::{begin, next, set, store, t, wait_of};
    use crate::store::{Finish, Posted};

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
        let a = begin(&mut store, "A", "k1", at("17:00"));
        let placed = after_place(&PlaceResult::Placed, at("17:00"));
        store
            .record_placement(a, "A", &Posted::call(placed, "c1"), at("17:00"))
            .unwrap();
        store
            .record_call_unknown(a, "A", "gone", 3, at("17:11"), at("17:01"))
            .unwrap();
        // A lost placement the list of calls could not settle, held until 17:12.
        let b = begin(&mut store, "B", "k2", at("17:00"));
        let (attempt, contact) = after_resolve(&Evidence::Inconclusive);
        let unknown = Placement {
            attempt,
            contact,
            due: Some(at("17:12")),
        };
        store
            .record_placement(b, "B", &Posted::no_call(unknown, "?"), at("17:02"))
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
                .record_placement(id, key, &Posted::call(placed, call), at("17:00"))
                .unwrap();
            store
                .record_call_unknown(id, key, "still in_progress", 40, at("17:25"), at("17:15"))
                .unwrap();
            id
        };
        let finish = |store: &mut Store, attempt: i64, key: &str| {
            store
                .record_finished(
                    &Finish {
                        attempt,
                        key,
                        outcome: Outcome::Completed,
                        record: "{}",
                        ended_at: Some(at("17:40")),
                        after: AfterCall::Done,
                        polls: None,
                    },
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
        let again = begin(&mut store, "B", "k-again", at("17:31"));
        finish(&mut store, b, "B");
        assert_eq!(attempt_state(&store, b), "finished");
        assert_eq!(attempt_state(&store, again), "placing");
        assert_eq!(contact(&store, "B").0, "active");
    }
}
