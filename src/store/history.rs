//! One contact's whole history, for `bys-campaign explain`: the contact as the state file holds
//! it, every attempt with the request sent and the final record, and every event (status seen,
//! error met, resolution). Read-only, in one snapshot.

use jiff::Timestamp;
use rusqlite::OptionalExtension;

use super::{Store, StoreError, instant};
use crate::api::Outcome;
use crate::state::{AttemptState, ContactState, Wait};

/// The contact, as the state file holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub key: String,
    pub line: i64,
    /// `false`: no longer in the CSV.
    pub present: bool,
    pub phone: Option<String>,
    pub state: ContactState,
    pub reason: Option<String>,
    pub outcome: Option<Outcome>,
    pub calls: u32,
    pub due_at: Option<Timestamp>,
    pub wait: Option<Wait>,
    pub attempts: Vec<AttemptHistory>,
}

/// One attempt (one POST) and what followed it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptHistory {
    pub id: i64,
    pub state: AttemptState,
    pub created_at: Timestamp,
    pub placed_at: Option<Timestamp>,
    pub call_id: Option<String>,
    /// The JSON body, exactly as sent.
    pub request: String,
    /// The final call record (JSON), once the call ended.
    pub record: Option<String>,
    pub ended_at: Option<Timestamp>,
    pub error: Option<String>,
    pub polls: u32,
    /// `(at, kind, detail)`, oldest first.
    pub events: Vec<(Timestamp, String, String)>,
}

impl Store {
    /// The history of the contact `key`; `None` when the state file has no such contact.
    pub fn history(&self, key: &str) -> Result<Option<History>, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let history = self.read_history(key);
        tx.rollback().map_err(|e| self.err(e))?;
        history
    }

    fn read_history(&self, key: &str) -> Result<Option<History>, StoreError> {
        let get = |e| self.err(e);
        let contact = self
            .conn
            .query_row(
                "SELECT line, present, phone, state, reason, outcome, calls, due_at, wait
                 FROM contacts WHERE key = ?1",
                [key],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)? == 1,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ))
                },
            )
            .optional()
            .map_err(get)?;
        let Some((line, present, phone, state, reason, outcome, calls, due_at, wait)) = contact
        else {
            return Ok(None);
        };
        let mut history = History {
            key: key.to_owned(),
            line,
            present,
            phone,
            state: self.parse(&state)?,
            reason,
            outcome: outcome.as_deref().map(|o| self.parse(o)).transpose()?,
            calls: calls.max(0) as u32,
            due_at: due_at.map(instant),
            wait: wait.as_deref().map(|w| self.parse(w)).transpose()?,
            attempts: Vec::new(),
        };
        let mut attempts = self
            .conn
            .prepare(
                "SELECT id, state, created_at, placed_at, call_id, request, record, ended_at, error, polls
                 FROM attempts WHERE contact_key = ?1 ORDER BY id",
            )
            .map_err(get)?;
        let rows = attempts
            .query_map([key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })
            .map_err(get)?;
        let mut events = self
            .conn
            .prepare("SELECT at, kind, detail FROM events WHERE attempt_id = ?1 ORDER BY at, id")
            .map_err(get)?;
        for row in rows {
            let (id, state, created, placed, call_id, request, record, ended, error, polls) =
                row.map_err(get)?;
            let events = events
                .query_map([id], |r| Ok((instant(r.get(0)?), r.get(1)?, r.get(2)?)))
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(get)?;
            history.attempts.push(AttemptHistory {
                id,
                state: self.parse(&state)?,
                created_at: instant(created),
                placed_at: placed.map(instant),
                call_id,
                request,
                record,
                ended_at: ended.map(instant),
                error,
                polls: polls.max(0) as u32,
                events,
            });
        }
        Ok(Some(history))
    }

    /// Every contact key, for suggesting a close one when a key is unknown.
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT key FROM contacts ORDER BY seq")
            .map_err(|e| self.err(e))?;
        statement
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }
}
