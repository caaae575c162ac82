//! Writing an import of the contacts CSV into the state file, idempotently, by row identity.
//!
//! The scan above the store (the `scan` module) reads and checks the CSV and hands each row over
//! as an [`ImportRow`]; [`Store::import`] writes them in one transaction. Every run imports the
//! CSV again: new rows are added, known rows keep their state (a contact that has been called is
//! never reset by an import), rows no longer in the file are flagged absent and never called, and
//! edits are counted so the run can say what changed.

use rusqlite::{CachedStatement, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, millis};
use crate::schedule::zone::TzSource;
use crate::state::{ContactState, RowKind, after_import, after_removal};

/// What changed since the previous import.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Rows in the CSV.
    pub rows: u64,
    /// Identities not seen before (or back after being removed).
    pub added: u64,
    /// Known identities whose cells changed.
    pub edited: u64,
    /// Identities in the previous import that are gone from the CSV.
    pub removed: u64,
    /// Rows without an identity of their own: duplicates, repeated or empty keys.
    pub skipped: u64,
}

/// One row of the CSV as the import writes it, in CSV order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRow {
    /// A row with an identity of its own: a contact, kept across imports by its key.
    Contact(ContactRow),
    /// A row without one (a duplicate number, a repeated or empty key): kept for this import only.
    Skipped(SkippedRow),
}

/// A row with an identity of its own: callable, invalid or suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// The line of the CSV the row starts on.
    pub line: u64,
    /// Row identity: the key column's value, or the phone number in E.164.
    pub key: String,
    pub kind: RowKind,
    /// E.164; `None` for an invalid row.
    pub phone: Option<String>,
    /// The contact's IANA zone and where it came from; `None` where nothing tells.
    pub timezone: Option<String>,
    pub tz_source: Option<TzSource>,
    /// When calls stop for it (see [`crate::schedule::deadline`]).
    pub cutoff: Option<jiff::Timestamp>,
    /// Why it is not called (an invalid or suppressed row); `None` for a callable row.
    pub reason: Option<String>,
    /// The row's cells, in header order.
    pub cells: Vec<String>,
}

/// A row without an identity of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    /// `duplicate` or `invalid`.
    pub state: ContactState,
    pub reason: String,
    /// The row's cells as read.
    pub cells: Vec<String>,
}

fn fingerprint(cells_json: &str) -> String {
    hex::encode(&Sha256::digest(cells_json.as_bytes())[..16])
}

/// The open import: takes the rows, in CSV order, inside [`Store::import`]'s transaction.
pub struct Importer<'t> {
    find: CachedStatement<'t>,
    upsert: CachedStatement<'t>,
    skip: CachedStatement<'t>,
    /// The state file had no contacts (the first run): nothing to look up.
    first: bool,
    /// The contacts known before this import met in the CSV: the rest are removed.
    met: Rowids,
    now: i64,
    path: &'t std::path::Path,
    summary: ImportSummary,
}

impl std::fmt::Debug for Importer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// A set of rowids, one bit each: contacts are never deleted, so their rowids run from 1 to
/// about the number of contacts, and a million take 125 KB.
#[derive(Debug, Default)]
struct Rowids(Vec<u64>);

impl Rowids {
    fn insert(&mut self, rowid: i64) {
        let Ok(bit) = usize::try_from(rowid) else {
            return;
        };
        let word = bit / 64;
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (bit % 64);
    }

    fn contains(&self, rowid: i64) -> bool {
        usize::try_from(rowid)
            .ok()
            .and_then(|bit| {
                self.0
                    .get(bit / 64)
                    .map(|word| word & (1 << (bit % 64)) != 0)
            })
            .unwrap_or(false)
    }
}

/// A known contact as the import finds it: what the upsert would write, to tell whether it
/// changes.
struct Before {
    rowid: i64,
    state: ContactState,
    fingerprint: String,
    present: bool,
    seq: i64,
    line: i64,
    phone: Option<String>,
    timezone: Option<String>,
    tz_source: Option<String>,
    cutoff: Option<i64>,
    reason: Option<String>,
}

impl Store {
    /// Imports the rows `rows` hands to its [`Importer`], in one transaction: known rows left
    /// out are removed, and nothing is written if `rows` fails.
    ///
    /// Only what changes is written: a later run on the same CSV reads every row and writes
    /// none, and the rows left out are found by reading the contacts that were in the CSV,
    /// not by marking every one first.
    pub fn import<E: From<StoreError>>(
        &mut self,
        now: jiff::Timestamp,
        rows: impl FnOnce(&mut Importer<'_>) -> Result<(), E>,
    ) -> Result<ImportSummary, E> {
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.transaction().map_err(&sql)?;
        // A state file without contacts (the first run) has nothing to look up.
        let first: bool = tx
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM contacts)", [], |r| {
                r.get(0)
            })
            .map_err(&sql)?;
        // Contacts are never deleted, so the ones this import adds come after `known`.
        let known: i64 = tx
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM contacts", [], |r| {
                r.get(0)
            })
            .map_err(&sql)?;
        tx.execute("DELETE FROM skipped_rows", []).map_err(&sql)?;
        let now = millis(now);
        let (mut summary, met) = {
            let find = tx
                .prepare_cached(
                    "SELECT rowid, state, fingerprint, present, seq, line, phone, timezone,
                            tz_source, cutoff_at, reason
                     FROM contacts WHERE key = ?1",
                )
                .map_err(&sql)?;
            let upsert = tx
                .prepare_cached(
                    "INSERT INTO contacts (key, seq, line, present, cells, fingerprint, phone, timezone, state, reason, updated_at, tz_source, cutoff_at)
                     VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (key) DO UPDATE SET
                        seq = excluded.seq, line = excluded.line, present = 1,
                        cells = excluded.cells, fingerprint = excluded.fingerprint,
                        phone = excluded.phone,
                        timezone = excluded.timezone, tz_source = excluded.tz_source,
                        cutoff_at = excluded.cutoff_at,
                        state = excluded.state,
                        reason = excluded.reason,
                        updated_at = excluded.updated_at",
                )
                .map_err(&sql)?;
            let skip = tx
                .prepare_cached("INSERT INTO skipped_rows (seq, line, cells, state, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(&sql)?;
            let mut importer = Importer {
                find,
                upsert,
                skip,
                first,
                met: Rowids::default(),
                now,
                path: &self.path,
                summary: ImportSummary::default(),
            };
            rows(&mut importer)?;
            (importer.summary, importer.met)
        };
        // Rows no longer in the CSV: what becomes of each is `state::after_removal`'s, written
        // fenced by the state it was decided from.
        let removed = {
            let mut present = tx
                .prepare("SELECT rowid, state FROM contacts WHERE present = 1 AND rowid <= ?1")
                .map_err(&sql)?;
            let mut removed = Vec::new();
            let mut rows = present.query([known]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let rowid: i64 = row.get(0).map_err(&sql)?;
                if !met.contains(rowid) {
                    let state: String = row.get(1).map_err(&sql)?;
                    removed.push((rowid, super::parse_word(&self.path, &state)?));
                }
            }
            removed
        };
        {
            let mut remove = tx
                .prepare(
                    // Its due time is kept: should the row come back, a retry still waits its
                    // delay (`after_deadline` and `next_due` read it).
                    "UPDATE contacts SET present = 0, state = ?3,
                         updated_at = CASE WHEN ?2 = ?3 THEN updated_at ELSE ?4 END
                     WHERE rowid = ?1 AND state = ?2 AND present = 1",
                )
                .map_err(&sql)?;
            for (rowid, before) in &removed {
                let after = after_removal(*before);
                let held = remove
                    .execute(params![rowid, before.as_str(), after.as_str(), now])
                    .map_err(&sql)?;
                debug_assert_eq!(held, 1, "the import's transaction holds the contacts");
            }
        }
        summary.removed = removed.len() as u64;
        tx.commit().map_err(&sql)?;
        Ok(summary)
    }
}

impl Importer<'_> {
    /// Writes the next row of the CSV, if it changes anything.
    pub fn write(&mut self, row: ImportRow) -> Result<(), StoreError> {
        let path = self.path;
        let sql = super::sqlite_at(path);
        self.summary.rows += 1;
        let seq = self.summary.rows as i64;
        let row = match row {
            ImportRow::Contact(row) => row,
            ImportRow::Skipped(SkippedRow {
                line,
                state,
                reason,
                cells,
            }) => {
                let cells = serde_json::to_string(&cells).expect("strings serialize");
                self.skip
                    .execute(params![seq, line as i64, cells, state.as_str(), reason])
                    .map_err(&sql)?;
                self.summary.skipped += 1;
                return Ok(());
            }
        };
        let ContactRow {
            line,
            key,
            kind,
            phone,
            timezone,
            tz_source,
            cutoff,
            reason,
            cells,
        } = row;
        let line = line as i64;
        let cutoff = cutoff.map(millis);
        let tz_source = tz_source.map(TzSource::as_str);
        let cells = serde_json::to_string(&cells).expect("strings serialize");
        let print = fingerprint(&cells);
        let before = if self.first { None } else { self.find(&key)? };
        match &before {
            None => self.summary.added += 1,
            Some(b) if !b.present => self.summary.added += 1,
            Some(b) if b.fingerprint != print => self.summary.edited += 1,
            Some(_) => {}
        }
        let moved = before.as_ref().is_some_and(|b| b.cutoff != cutoff);
        let state = after_import(before.as_ref().map(|b| b.state), kind, moved);
        let (phone, reason) = match &before {
            // History wins (`state::after_import`): a called contact keeps its number and
            // reason.
            Some(b) if b.state.is_called() => (b.phone.clone(), b.reason.clone()),
            // An expired row that stays expired keeps the reason it expired for.
            Some(b) if state == ContactState::Expired => (phone, b.reason.clone()),
            _ => (phone, reason),
        };
        if let Some(b) = &before {
            let unchanged = b.present
                && b.state == state
                && b.fingerprint == print
                && (b.seq, b.line) == (seq, line)
                && b.phone == phone
                && b.reason == reason
                && b.timezone == timezone
                && b.tz_source.as_deref() == tz_source
                && b.cutoff == cutoff;
            if unchanged {
                return Ok(());
            }
        }
        self.upsert
            .execute(params![
                key,
                seq,
                line,
                cells,
                print,
                phone,
                timezone,
                state.as_str(),
                reason,
                self.now,
                tz_source,
                cutoff
            ])
            .map_err(&sql)?;
        Ok(())
    }

    /// The contact `key` as the state file holds it, if known; it is met.
    fn find(&mut self, key: &str) -> Result<Option<Before>, StoreError> {
        let path = self.path;
        let sql = super::sqlite_at(path);
        let found = self
            .find
            .query_row([key], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    Before {
                        rowid: r.get(0)?,
                        state: ContactState::Pending,
                        fingerprint: r.get(2)?,
                        present: r.get::<_, i64>(3)? == 1,
                        seq: r.get(4)?,
                        line: r.get(5)?,
                        phone: r.get(6)?,
                        timezone: r.get(7)?,
                        tz_source: r.get(8)?,
                        cutoff: r.get(9)?,
                        reason: r.get(10)?,
                    },
                ))
            })
            .optional()
            .map_err(&sql)?;
        let Some((state, before)) = found else {
            return Ok(None);
        };
        self.met.insert(before.rowid);
        let state = super::parse_word(path, &state)?;
        Ok(Some(Before { state, ..before }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::testing;

    fn t0() -> jiff::Timestamp {
        "2026-12-07T17:00:00Z".parse().unwrap()
    }

    fn import(dir: &std::path::Path, store: &mut Store, csv: &str) -> ImportSummary {
        let campaign = testing::campaign(dir, "  key_column: id\n", "", csv);
        crate::scan::import(store, &campaign, t0()).unwrap().summary
    }

    fn state_of(store: &Store, key: &str) -> (String, i64) {
        store
            .conn
            .query_row(
                "SELECT state, present FROM contacts WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn imports_are_idempotent_and_report_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let first = "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,212-555-0102\nC,Lin,555-0103\nB,Again,212-555-0104\n";
        let s = import(dir.path(), &mut store, first);
        assert_eq!(
            s,
            ImportSummary {
                rows: 4,
                added: 3,
                edited: 0,
                removed: 0,
                skipped: 1
            }
        );
        assert_eq!(state_of(&store, "A"), ("pending".into(), 1));
        assert_eq!(state_of(&store, "C"), ("invalid".into(), 1));

        let again = import(dir.path(), &mut store, first);
        assert_eq!(
            again,
            ImportSummary {
                rows: 4,
                added: 0,
                edited: 0,
                removed: 0,
                skipped: 1
            }
        );

        // A is called and done; B is edited; C is gone; D is new.
        store
            .conn
            .execute(
                "UPDATE contacts SET state = 'done', calls = 1 WHERE key = 'A'",
                [],
            )
            .unwrap();
        let next = "id,name,phone\nA,Ana María,(415) 555-0101\nB,Wei Chen,212-555-0102\nD,Sam,312-555-0105\n";
        let s = import(dir.path(), &mut store, next);
        assert_eq!(
            s,
            ImportSummary {
                rows: 3,
                added: 1,
                edited: 2,
                removed: 1,
                skipped: 0
            }
        );
        assert_eq!(
            state_of(&store, "A"),
            ("done".into(), 1),
            "a called contact is never reset"
        );
        let phone_of = |store: &Store, key: &str| -> Option<String> {
            store
                .conn
                .query_row("SELECT phone FROM contacts WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        // A's number is edited after it was called: it keeps the number it was called on; B,
        // never called, takes its new one.
        let renumbered = "id,name,phone\nA,Ana María,(415) 555-0199\nB,Wei Chen,212-555-0198\nD,Sam,312-555-0105\n";
        import(dir.path(), &mut store, renumbered);
        assert_eq!(phone_of(&store, "A").as_deref(), Some("+14155550101"));
        assert_eq!(phone_of(&store, "B").as_deref(), Some("+12125550198"));
        import(dir.path(), &mut store, next);
        assert_eq!(state_of(&store, "C"), ("invalid".into(), 0));
        assert_eq!(state_of(&store, "D"), ("pending".into(), 1));

        // C comes back, now valid: it counts as added and becomes callable.
        let back = "id,name,phone\nA,Ana María,(415) 555-0101\nC,Lin,(312) 555-0103\n";
        let s = import(dir.path(), &mut store, back);
        assert_eq!((s.added, s.removed), (1, 2));
        assert_eq!(state_of(&store, "C"), ("pending".into(), 1));
    }

    #[test]
    fn a_later_import_writes_only_the_rows_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let writes = |store: &mut Store, csv: &str| {
            let before = store.conn.total_changes();
            let summary = import(dir.path(), store, csv);
            (store.conn.total_changes() - before, summary)
        };
        let csv = "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,212-555-0102\nC,Lin,(312) 555-0103\n";
        assert_eq!(writes(&mut store, csv).0, 3);
        let (written, summary) = writes(&mut store, csv);
        assert_eq!(written, 0, "an unchanged CSV writes nothing");
        assert_eq!((summary.rows, summary.added, summary.removed), (3, 0, 0));
        // B is edited, C is gone and D is new: three rows written, A left alone.
        let next =
            "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei Chen,212-555-0102\nD,Sam,312-555-0105\n";
        let (written, summary) = writes(&mut store, next);
        assert_eq!(written, 3);
        assert_eq!((summary.added, summary.edited, summary.removed), (1, 1, 1));
        assert_eq!(state_of(&store, "C"), ("removed".into(), 0));
        // A row that moves down the file is written again: its line is what the results say.
        let moved =
            "id,name,phone\nD,Sam,312-555-0105\nA,Ana,(415) 555-0101\nB,Wei Chen,212-555-0102\n";
        assert_eq!(writes(&mut store, moved).0, 3);
        assert_eq!(writes(&mut store, moved).0, 0);
    }

    #[test]
    fn a_row_waiting_to_be_called_is_removed_with_its_row_and_comes_back_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let both = "id,name,phone\nA,Ana,(415) 555-0101\nB,Wei,212-555-0102\n";
        import(dir.path(), &mut store, both);
        store
            .conn
            .execute_batch(
                "UPDATE contacts SET state = 'done', outcome = 'completed', calls = 1 WHERE key = 'A';
                 UPDATE contacts SET due_at = 4102444800000 WHERE key = 'B'",
            )
            .unwrap();
        // The next day's CSV has neither: B (waiting for a retry in 2100) was never called, A was.
        let s = import(
            dir.path(),
            &mut store,
            "id,name,phone\nC,Lin,(312) 555-0103\n",
        );
        assert_eq!(s.removed, 2);
        assert_eq!(
            state_of(&store, "A"),
            ("done".into(), 0),
            "its result is kept"
        );
        assert_eq!(state_of(&store, "B"), ("removed".into(), 0));
        let (census, _) = store.census().unwrap();
        assert_eq!(
            (census.rows, census.to_call),
            (1, 1),
            "only today's CSV counts"
        );
        // B is back: judged afresh, and its retry still waits its delay.
        import(dir.path(), &mut store, both);
        assert_eq!(state_of(&store, "B"), ("pending".into(), 1));
        let due: Option<i64> = store
            .conn
            .query_row("SELECT due_at FROM contacts WHERE key = 'B'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(due, Some(4102444800000));
        assert_eq!(state_of(&store, "A"), ("done".into(), 1));
    }

    /// A contact row of `kind` with only what the import needs.
    fn row(line: u64, key: &str, kind: RowKind) -> ImportRow {
        ImportRow::Contact(ContactRow {
            line,
            key: key.into(),
            kind,
            phone: Some("+14155550101".into()),
            timezone: None,
            tz_source: None,
            cutoff: None,
            reason: None,
            cells: vec![key.into()],
        })
    }

    #[test]
    fn the_store_writes_the_rows_it_is_handed_and_nothing_when_they_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let skipped = ImportRow::Skipped(SkippedRow {
            line: 3,
            state: ContactState::Duplicate,
            reason: "+14155550101 is also on line 2".into(),
            cells: vec!["A".into()],
        });
        let s = store
            .import(t0(), |importer| {
                importer.write(row(2, "A", RowKind::Callable))?;
                importer.write(skipped.clone())?;
                importer.write(row(4, "B", RowKind::Invalid))
            })
            .unwrap();
        let expected = ImportSummary {
            rows: 3,
            added: 2,
            edited: 0,
            removed: 0,
            skipped: 1,
        };
        assert_eq!(s, expected);
        assert_eq!(state_of(&store, "A"), ("pending".into(), 1));
        assert_eq!(state_of(&store, "B"), ("invalid".into(), 1));

        // The scan fails midway (the CSV cannot be read to its end): the import before stands.
        let failed = store.import(t0(), |importer| {
            importer.write(row(2, "C", RowKind::Callable))?;
            Err(StoreError::Corrupt {
                path: "c.csv".into(),
                message: "the scan failed".into(),
            })
        });
        assert!(matches!(failed, Err(StoreError::Corrupt { .. })));
        assert_eq!(state_of(&store, "A"), ("pending".into(), 1));
        let (contacts, skipped_rows): (i64, i64) = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM skipped_rows)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((contacts, skipped_rows), (2, 1), "C is not written");
    }

    #[test]
    fn skipped_rows_are_rebuilt_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        import(
            dir.path(),
            &mut store,
            "id,name,phone\nA,Ana,(415) 555-0101\nA,Dup,(415) 555-0102\n,NoKey,(415) 555-0103\n",
        );
        import(
            dir.path(),
            &mut store,
            "id,name,phone\nA,Ana,(415) 555-0101\nA,Dup,(415) 555-0102\n",
        );
        let skipped: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM skipped_rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(skipped, 1);
    }
}
