//! Groups of steps: the runner commits the answers it handles and the round of placements that
//! follows them in one transaction (see [`Store::begin_group`]).
//!
//! Each step of `attempts` is a savepoint: alone, it commits on its own; inside a group, it is
//! still whole or absent, and the group commits them together.

use super::{Store, StoreError};

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{begin, store, t, wait_of};
    use crate::store::{NewCall, Posted};

    #[test]
    fn a_group_commits_its_steps_together_and_undoes_a_failed_step_alone() {
        use crate::state::{PlaceResult, after_place};
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path(), "id,name,phone\nA,Ana,(415) 555-0101\n");
        let now = t("2026-12-07T17:00:00Z");
        let id = begin(&mut store, "A", "k1", now);
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
                &Posted {
                    placement: after_place(&PlaceResult::Placed, now),
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
        begin(&mut store, "A", "k1", now);
        begin(&mut store, "B", "k2", now);
        store.abandon_group();
        assert_eq!(count(&store), 0);
        assert_eq!(wait_of(&store, "A"), ("pending".into(), None));
        // Committed: both attempts, and the contacts active.
        store.begin_group().unwrap();
        begin(&mut store, "A", "k1", now);
        begin(&mut store, "B", "k2", now);
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
        let a = begin(&mut store, "A", "k1", now);
        assert!(store.begin_round().is_err(), "only inside a group");
        store.begin_group().unwrap();
        let placed = crate::state::after_place(&crate::state::PlaceResult::Placed, now);
        store
            .record_placement(
                a,
                "A",
                &Posted {
                    placement: placed,
                    call: Some(NewCall {
                        id: "c1",
                        status: Some("ringing"),
                        next_poll_at: None,
                    }),
                    note: None,
                },
                now,
            )
            .unwrap();
        store.begin_round().unwrap();
        begin(&mut store, "B", "k2", now);
        store.undo_round().unwrap();
        // A round kept is committed with the group.
        store.begin_round().unwrap();
        begin(&mut store, "C", "k3", now);
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
}
