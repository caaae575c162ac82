//! What a run is about to do, read before its first placement (for the confirmation question).

use rusqlite::params;

use super::{Store, StoreError};

/// A contact among the first a run will call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub key: String,
    pub phone: String,
    pub line: u64,
}

impl Store {
    /// The first `limit` contacts a run would call, in the order `next_due` takes them (due
    /// first, then CSV order), ignoring limits and calling windows.
    pub fn upcoming(&self, limit: u32) -> Result<Vec<Upcoming>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT key, phone, line FROM contacts WHERE {}
                 ORDER BY COALESCE(due_at, 0), seq LIMIT ?1",
                *super::CALLABLE
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![limit], |r| {
            Ok(Upcoming {
                key: r.get(0)?,
                phone: r.get(1)?,
                line: r.get::<_, i64>(2)? as u64,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))
    }

    /// Rows of the CSV that will not be called, by reason (`invalid`, `duplicate`,
    /// `suppressed`, `unknown`), counting the rows without an identity of their own.
    pub fn not_called(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT state, SUM(n) FROM (
                     SELECT state, COUNT(*) AS n FROM contacts
                     WHERE present = 1 AND state IN ({})
                     GROUP BY state
                     UNION ALL
                     SELECT state, COUNT(*) FROM skipped_rows GROUP BY state
                 ) GROUP BY state ORDER BY state",
                super::contacts_where(crate::state::ContactState::is_not_called)
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }
}
