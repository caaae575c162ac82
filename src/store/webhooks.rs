//! Webhook events: every verified delivery is kept once per `eventId` (the API reuses it when it
//! retries), together with what it did, in the same transaction as the step it causes. The
//! receiver answers 2xx only after this commit, so an acknowledged event is never lost to a kill
//! (to a power cut, its result may be: the call is then polled for it).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::attempts::{Finish, exec, finish_in, insert_event};
use super::{Store, StoreError, millis};
use crate::state::AttemptState;

/// A verified event, as the receiver read it.
#[derive(Debug, Clone, Copy)]
pub struct Pushed<'a> {
    pub event_id: &'a str,
    /// `call.in_progress`, `call.completed`, …
    pub event: &'a str,
    pub call_id: Option<&'a str>,
    /// The call's status the event reports.
    pub status: Option<&'a str>,
    /// The body as received.
    pub payload: &'a str,
}

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The `eventId` was recorded before: a retried delivery. Nothing was written.
    Duplicate,
    /// It carried the call's result, now committed.
    Result,
    /// It moved a call still being followed to a new status (`in_progress`).
    Status,
    /// Recorded, changing nothing: a call this campaign does not follow (unknown, or already
    /// finished — e.g. a `call.in_progress` that arrives after the terminal event).
    Ignored,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Effect::Duplicate => "duplicate",
            Effect::Result => "result",
            Effect::Status => "status",
            Effect::Ignored => "ignored",
        }
    }
}

impl Store {
    /// Records a verified event in one transaction, with the call's result when `finish` is given
    /// (a terminal event of a call being followed). A non-terminal event updates the status of
    /// its attempt while that is `placed`; anything else is recorded and ignored. A repeated
    /// `eventId` writes nothing and answers [`Effect::Duplicate`].
    ///
    /// Committed on its own, never in a group: the sender is told the event arrived once this
    /// returns, and will not send it again.
    pub fn record_pushed(
        &mut self,
        pushed: &Pushed<'_>,
        finish: Option<&Finish<'_>>,
        now: Timestamp,
    ) -> Result<Effect, StoreError> {
        if self.group {
            return Err(self.misuse("a webhook event recorded in a group of steps"));
        }
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        let inserted = exec(
            &tx,
            "INSERT INTO webhook_events (event_id, event, call_id, attempt_id, effect, received_at, payload)
             VALUES (?1, ?2, ?3, (SELECT id FROM attempts WHERE call_id = ?3), 'ignored', ?4, ?5)
             ON CONFLICT (event_id) DO NOTHING",
            params![
                pushed.event_id,
                pushed.event,
                pushed.call_id,
                millis(now),
                pushed.payload
            ],
        )
        .map_err(&sql)?;
        if inserted == 0 {
            return Ok(Effect::Duplicate);
        }
        let effect = match (finish, pushed.call_id, pushed.status) {
            (Some(finish), _, _) => {
                if finish_in(&tx, finish, now).map_err(&sql)? {
                    Effect::Result
                } else {
                    Effect::Ignored
                }
            }
            (None, Some(call_id), Some(status)) => {
                let attempt: Option<i64> = tx
                    .prepare_cached(
                        "UPDATE attempts SET status = ?2, updated_at = ?3
                         WHERE call_id = ?1 AND state = ?4 AND COALESCE(status, '') != ?2
                         RETURNING id",
                    )
                    .and_then(|mut stmt| {
                        let placed = AttemptState::Placed.as_str();
                        stmt.query_row(params![call_id, status, millis(now), placed], |r| r.get(0))
                            .optional()
                    })
                    .map_err(&sql)?;
                match attempt {
                    Some(attempt) => {
                        insert_event(&tx, attempt, now, "status", status).map_err(&sql)?;
                        Effect::Status
                    }
                    None => Effect::Ignored,
                }
            }
            _ => Effect::Ignored,
        };
        exec(
            &tx,
            "UPDATE webhook_events SET effect = ?2 WHERE event_id = ?1",
            params![pushed.event_id, effect.as_str()],
        )
        .map_err(&sql)?;
        tx.commit().map_err(&sql)?;
        Ok(effect)
    }

    /// The id and payload of a terminal event recorded for `call_id` that nothing was done with
    /// (it came before this runner knew the call: the POST's answer still on its way, or a lost
    /// placement being resolved).
    pub fn pushed_terminal(&self, call_id: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT event_id, payload FROM webhook_events
                 WHERE call_id = ?1 AND event != 'call.in_progress' AND effect = 'ignored'
                 ORDER BY rowid LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([call_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Commits the result an event recorded earlier carries (see [`Store::pushed_terminal`]),
    /// and marks the event as the one that did, in one transaction. `false` if the attempt was
    /// no longer `placed` (nothing written then).
    pub fn adopt_pushed(
        &mut self,
        event_id: &str,
        finish: &Finish<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.savepoint().map_err(&sql)?;
        if !finish_in(&tx, finish, now).map_err(&sql)? {
            return Ok(false);
        }
        exec(
            &tx,
            "UPDATE webhook_events SET effect = 'result', attempt_id = ?2 WHERE event_id = ?1",
            params![event_id, finish.attempt],
        )
        .map_err(&sql)?;
        tx.commit().map_err(&sql)?;
        Ok(true)
    }

    /// Events received, and how many of them carried a result, for reports and tests.
    pub fn pushed_counts(&self) -> Result<(u64, u64), StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE effect = 'result') FROM webhook_events",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Outcome;
    use crate::state::{AfterCall, Placement};
    use crate::state::{AttemptState, ContactState};
    use crate::store::fixture::begin;
    use crate::store::{NewCall, Posted};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A store with one contact whose call `c1` is placed (attempt 1).
    fn placed() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = t("2026-12-07T17:00:00Z");
        store
            .conn
            .execute(
                "INSERT INTO contacts (key, seq, line, present, cells, fingerprint, phone, state, updated_at)
                 VALUES ('k', 1, 2, 1, '[]', 'f', '+14155550101', 'pending', 0)",
                [],
            )
            .unwrap();
        let attempt = begin(&mut store, "k", "idem", now);
        let placement = Placement {
            attempt: AttemptState::Placed,
            contact: ContactState::Active,
            due: None,
        };
        store
            .record_placement(
                attempt,
                "k",
                &Posted {
                    placement,
                    call: Some(NewCall {
                        id: "c1",
                        status: Some("queued"),
                        next_poll_at: None,
                    }),
                    note: None,
                },
                now,
            )
            .unwrap();
        (dir, store)
    }

    fn event<'a>(id: &'a str, event: &'a str, status: &'a str) -> Pushed<'a> {
        Pushed {
            event_id: id,
            event,
            call_id: Some("c1"),
            status: Some(status),
            payload: "{}",
        }
    }

    fn attempt_row(store: &Store) -> (String, Option<String>, i64) {
        store
            .conn
            .query_row(
                "SELECT state, status, polls FROM attempts WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    }

    #[test]
    fn a_terminal_event_is_final_and_counted_once() {
        let (_dir, mut store) = placed();
        let now = t("2026-12-07T17:03:00Z");
        let finish = Finish {
            attempt: 1,
            key: "k",
            outcome: Outcome::Completed,
            record: r#"{"callId":"c1","status":"completed"}"#,
            ended_at: Some(now),
            after: AfterCall::Done,
            polls: None,
        };
        let done = event("e2", "call.completed", "completed");
        assert_eq!(
            store.record_pushed(&done, Some(&finish), now).unwrap(),
            Effect::Result
        );
        // The same delivery again (a retry): nothing written.
        assert_eq!(
            store.record_pushed(&done, Some(&finish), now).unwrap(),
            Effect::Duplicate
        );
        // An older `call.in_progress` arriving late changes nothing.
        let late = event("e1", "call.in_progress", "in_progress");
        assert_eq!(
            store.record_pushed(&late, None, now).unwrap(),
            Effect::Ignored
        );
        assert_eq!(
            attempt_row(&store),
            ("finished".into(), Some("completed".into()), 0)
        );
        assert_eq!(store.pushed_counts().unwrap(), (2, 1));
        let contact: String = store
            .conn
            .query_row("SELECT state FROM contacts WHERE key = 'k'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(contact, "done");
    }

    #[test]
    fn in_progress_moves_a_placed_call_and_unknown_calls_are_kept_for_later() {
        let (_dir, mut store) = placed();
        let now = t("2026-12-07T17:01:00Z");
        let answered = event("e1", "call.in_progress", "in_progress");
        assert_eq!(
            store.record_pushed(&answered, None, now).unwrap(),
            Effect::Status
        );
        assert_eq!(
            attempt_row(&store),
            ("placed".into(), Some("in_progress".into()), 0)
        );
        let stranger = Pushed {
            event_id: "e9",
            event: "call.no_answer",
            call_id: Some("c9"),
            status: Some("no_answer"),
            payload: r#"{"callId":"c9"}"#,
        };
        assert_eq!(
            store.record_pushed(&stranger, None, now).unwrap(),
            Effect::Ignored
        );
        assert_eq!(
            store.pushed_terminal("c9").unwrap(),
            Some(("e9".to_owned(), r#"{"callId":"c9"}"#.to_owned()))
        );
        assert_eq!(store.pushed_terminal("c1").unwrap(), None);
    }

    #[test]
    fn an_event_is_committed_on_its_own_never_in_a_group() {
        let (dir, mut store) = placed();
        let now = t("2026-12-07T17:01:00Z");
        store.begin_group().unwrap();
        let answered = event("e1", "call.in_progress", "in_progress");
        assert!(store.record_pushed(&answered, None, now).is_err());
        store.end_group().unwrap();
        assert_eq!(
            store.record_pushed(&answered, None, now).unwrap(),
            Effect::Status
        );
        // Another connection (the next run) sees it at once.
        let other = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        let seen: i64 = other
            .query_row("SELECT COUNT(*) FROM webhook_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 1);
    }
}
