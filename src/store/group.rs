//! Group commit: the runner's steps written together, one commit (and one wait for the disk)
//! for many of them.
//!
//! A runner at 600 calls a minute records a few steps per call (the attempt claimed, the call id,
//! statuses, the result). Committing each on its own cost more CPU than the HTTP requests, and
//! the commit that must reach the disk before a POST (the `placing` row) cost one disk flush per
//! call. In a group, steps join one open transaction; the group is committed by whoever needs
//! it on disk first: the runner before it sends a POST it claimed in the group, the runner when
//! the group has been open for a moment ([`crate::runner`]'s flush), or any write outside the
//! runner's steps (a webhook event, which is acknowledged only once committed).
//!
//! Every group commit waits for the disk (`synchronous = FULL`); commits outside a group do not
//! (`NORMAL`). What a group holds until its commit is what a kill in between would lose, and
//! each of those steps is learnt again by a resumed run: a `placing` row not committed was
//! never sent; a call id not committed leaves the attempt `placing`, resolved against the API's
//! list of calls; a status or result not committed leaves the call `placed`, polled again.
//!
//! A step that fails inside a group rolls the whole group back: the run stops on any state-file
//! error, and nothing half-written may be committed by a later step.

use std::ops::Deref;

use jiff::Timestamp;
use rusqlite::{Connection, Transaction};

use super::{Store, StoreError};

/// Where one step writes: its own transaction, or the open group.
pub(super) enum Step<'c> {
    Own(Transaction<'c>),
    Grouped(&'c Connection),
}

impl Deref for Step<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Step::Own(tx) => tx,
            Step::Grouped(conn) => conn,
        }
    }
}

impl Step<'_> {
    /// Commits the step: at once if it has its own transaction, with the group otherwise.
    pub(super) fn commit(self) -> rusqlite::Result<()> {
        match self {
            Step::Own(tx) => tx.commit(),
            Step::Grouped(_) => Ok(()),
        }
    }
}

impl Store {
    /// Opens a group at `now` if none is open: steps until [`Store::commit_group`] are written
    /// together.
    pub fn open_group(&mut self, now: Timestamp) -> Result<(), StoreError> {
        if self.group.is_some() {
            return Ok(());
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        self.group = Some(now);
        Ok(())
    }

    /// When the open group was opened (`None`: no group is open).
    pub fn group_opened(&self) -> Option<Timestamp> {
        self.group
    }

    /// Commits the open group, if any, and waits for the disk.
    pub fn commit_group(&mut self) -> Result<(), StoreError> {
        if self.group.is_none() {
            return Ok(());
        }
        self.conn
            .execute_batch("COMMIT; PRAGMA synchronous = NORMAL")
            .map_err(|e| self.abort(e))?;
        self.group = None;
        Ok(())
    }

    /// Where the next step writes.
    pub(super) fn step(&mut self) -> rusqlite::Result<Step<'_>> {
        if self.group.is_some() {
            Ok(Step::Grouped(&self.conn))
        } else {
            self.conn.transaction().map(Step::Own)
        }
    }

    /// A transaction of its own, outside any group: the open group is committed first (a
    /// transaction cannot start inside another, and what came before must not wait for it).
    pub(super) fn transaction(&mut self) -> Result<Transaction<'_>, StoreError> {
        self.commit_group()?;
        let path = &self.path;
        self.conn
            .transaction()
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })
    }

    /// The error of a failed step; an open group is rolled back with it.
    pub(super) fn abort(&mut self, source: rusqlite::Error) -> StoreError {
        if self.group.take().is_some() {
            let _ = self
                .conn
                .execute_batch("ROLLBACK; PRAGMA synchronous = NORMAL");
        }
        self.err(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{PlaceResult, after_place};
    use crate::testing;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A state file with contacts A and B, and a second connection to it, as `status` would
    /// read it while the runner writes.
    fn setup(dir: &std::path::Path) -> (Store, Connection) {
        let csv = "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,(212) 555-0102\n";
        let campaign = testing::campaign(dir, "  key_column: id\n", "", csv);
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        store.import(&campaign, t("2026-12-07T17:00:00Z")).unwrap();
        let reader = Connection::open(dir.join("s.db")).unwrap();
        (store, reader)
    }

    fn attempts(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .unwrap()
    }

    fn state(conn: &Connection, key: &str) -> String {
        conn.query_row("SELECT state FROM contacts WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn steps_in_a_group_reach_the_file_together_when_it_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, reader) = setup(dir.path());
        let now = t("2026-12-07T17:00:00Z");
        let a = store.begin_attempt("A", "k1", "{}", now).unwrap().unwrap();
        assert_eq!(store.group_opened(), Some(now), "a claim opens a group");
        let placed = after_place(&PlaceResult::Placed, now);
        store
            .record_placement(a, "A", placed, Some("call-1"), None, None, None, now)
            .unwrap();
        store.begin_attempt("B", "k2", "{}", now).unwrap().unwrap();
        // The runner's own connection sees its steps; nobody else does yet.
        assert_eq!(attempts(&store.conn), 2);
        assert_eq!(
            (attempts(&reader), state(&reader, "A")),
            (0, "pending".into())
        );
        store.commit_group().unwrap();
        assert_eq!(store.group_opened(), None);
        assert_eq!(attempts(&reader), 2);
        assert_eq!(
            (state(&reader, "A"), state(&reader, "B")),
            ("active".into(), "active".into())
        );
        // Without a group, a step commits on its own.
        store
            .record_poll(a, Some("in_progress"), None, 1, now)
            .unwrap();
        let status: String = reader
            .query_row("SELECT status FROM attempts WHERE id = ?1", [a], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(status, "in_progress");
    }

    #[test]
    fn a_failed_step_takes_the_whole_group_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, reader) = setup(dir.path());
        let now = t("2026-12-07T17:00:00Z");
        store.begin_attempt("A", "k1", "{}", now).unwrap().unwrap();
        // The same idempotency key twice breaks a constraint half-way through B's claim.
        let err = store.begin_attempt("B", "k1", "{}", now).unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        assert_eq!(store.group_opened(), None);
        for conn in [&store.conn, &reader] {
            assert_eq!(attempts(conn), 0);
            assert_eq!(
                (state(conn, "A"), state(conn, "B")),
                ("pending".into(), "pending".into())
            );
        }
        // The connection is usable again, outside any group.
        assert!(store.conn.is_autocommit());
        store.begin_attempt("A", "k3", "{}", now).unwrap().unwrap();
        store.commit_group().unwrap();
        assert_eq!(attempts(&reader), 1);
    }

    #[test]
    fn a_transaction_of_its_own_commits_the_group_first() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, reader) = setup(dir.path());
        let now = t("2026-12-07T17:00:00Z");
        store.begin_attempt("A", "k1", "{}", now).unwrap().unwrap();
        let tx = store.transaction().unwrap();
        tx.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')", [])
            .unwrap();
        tx.rollback().unwrap();
        assert_eq!(attempts(&reader), 1, "the group was committed before");
        assert_eq!(store.group_opened(), None);
    }

    #[test]
    fn a_claim_not_sent_is_taken_back_and_a_placed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, reader) = setup(dir.path());
        let now = t("2026-12-07T17:00:00Z");
        let a = store.begin_attempt("A", "k1", "{}", now).unwrap().unwrap();
        let b = store.begin_attempt("B", "k2", "{}", now).unwrap().unwrap();
        store.commit_group().unwrap();
        let placed = after_place(&PlaceResult::Placed, now);
        store
            .record_placement(b, "B", placed, Some("call-1"), None, None, None, now)
            .unwrap();
        assert!(store.release_claim(a, "A").unwrap());
        assert!(!store.release_claim(b, "B").unwrap(), "B's POST went out");
        assert!(!store.release_claim(a, "A").unwrap(), "already taken back");
        assert_eq!(attempts(&reader), 1);
        assert_eq!(
            (state(&reader, "A"), state(&reader, "B")),
            ("pending".into(), "active".into())
        );
        assert_eq!(
            store.next_due(now).unwrap().map(|d| d.key).as_deref(),
            Some("A")
        );
    }
}
