//! The deadline queries: which pending contacts may have run out of time, a contact's cutoff,
//! and writing a contact `expired` behind a fence. What runs out of time is decided by
//! [`crate::state::after_deadline`]; this only reads and writes.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, instant, millis};
use crate::state::ContactState;

/// A pending contact with a cutoff that [`Store::late_candidates`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub key: String,
    pub cutoff: Timestamp,
    /// Its next call, if later than now.
    pub due: Option<Timestamp>,
    pub timezone: Option<String>,
}

impl Store {
    /// Pending contacts whose cutoff is at or before `now` or their next due time: the only ones
    /// [`crate::state::after_deadline`] can expire (the query narrows; it decides). Through the
    /// `contacts_next` index, pending rows only.
    pub fn late_candidates(&self, now: Timestamp) -> Result<Vec<Late>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT key, cutoff_at, due_at, timezone FROM contacts
                 WHERE {} AND cutoff_at IS NOT NULL AND cutoff_at <= MAX(?1, COALESCE(due_at, 0))",
                *super::CALLABLE
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map([millis(now)], |r| {
            Ok(Late {
                key: r.get(0)?,
                cutoff: instant(r.get(1)?),
                due: r.get::<_, Option<i64>>(2)?.map(instant),
                timezone: r.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))
    }

    /// When calls stop for the contact `key` (`None`: no deadline, or no such contact).
    pub fn cutoff_of(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        self.conn
            .prepare_cached("SELECT cutoff_at FROM contacts WHERE key = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([key], |r| r.get::<_, Option<i64>>(0))
                    .optional()
            })
            .map(|at| at.flatten().map(instant))
            .map_err(|e| self.err(e))
    }

    /// Writes the contact `key` `expired`, with `reason`, as [`crate::state::after_deadline`] decided
    /// from `Pending`; `false` (nothing written) if it was no longer pending: the fence held.
    /// Its due time is kept: the next import judges the row afresh (its deadline may have moved)
    /// and [`crate::state::after_deadline`] must see when its next call would come, or a retry
    /// still waiting its delay would be due at once.
    pub fn expire(&self, key: &str, reason: &str, now: Timestamp) -> Result<bool, StoreError> {
        let (from, to) = (ContactState::Pending, ContactState::Expired);
        self.conn
            .prepare_cached(
                "UPDATE contacts SET state = ?4, reason = ?2, updated_at = ?3
                 WHERE key = ?1 AND state = ?5",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key,
                    reason,
                    millis(now),
                    to.as_str(),
                    from.as_str()
                ])
            })
            .map(|changed| changed == 1)
            .map_err(|e| self.err(e))
    }
}
