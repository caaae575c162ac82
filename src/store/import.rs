//! Importing the contacts CSV into the state file, idempotently, by row identity.
//!
//! Every run imports the CSV again: new rows are added, known rows keep their state (a contact
//! that has been called is never reset by an import), rows no longer in the file are flagged
//! absent and never called, and edits are counted so the run can say what changed.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, millis};
use crate::campaign::Campaign;
use crate::contacts::{self, Contact, ReadError, Row, RowProblem, Scanned, Suppression};
use crate::render;
use crate::report;
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

/// The result of an import, with the suppression lists it loaded (the runner checks them again
/// before each placement).
#[derive(Debug)]
pub struct Imported {
    pub summary: ImportSummary,
    pub suppression_warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scan(#[from] report::ScanError),
}

impl From<ReadError> for ImportError {
    fn from(err: ReadError) -> ImportError {
        ImportError::Scan(err.into())
    }
}

fn fingerprint(cells_json: &str) -> String {
    hex::encode(&Sha256::digest(cells_json.as_bytes())[..16])
}

impl Store {
    /// Reads the whole CSV into the state file in one transaction.
    pub fn import(
        &mut self,
        campaign: &Campaign,
        now: jiff::Timestamp,
    ) -> Result<Imported, ImportError> {
        let suppression = Suppression::load(&campaign.suppress, campaign.input.default_region)
            .map_err(report::ScanError::Suppression)?;
        let reader = contacts::Reader::open(campaign).map_err(report::ScanError::Open)?;
        let sql = super::sqlite(self.path.clone());
        let tx = self.conn.transaction().map_err(&sql)?;
        // A state file without contacts (the first run) has nothing to look up.
        let first: bool = tx
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM contacts)", [], |r| {
                r.get(0)
            })
            .map_err(&sql)?;
        tx.execute_batch(
            "DELETE FROM skipped_rows; UPDATE contacts SET present = 2 WHERE present = 1;",
        )
        .map_err(&sql)?;
        let mut summary = ImportSummary::default();
        let now = millis(now);
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT state, fingerprint, present, cutoff_at, reason FROM contacts WHERE key = ?1",
                )
                .map_err(&sql)?;
            let mut upsert = tx
                .prepare_cached(&format!(
                    "INSERT INTO contacts (key, seq, line, present, cells, fingerprint, phone, timezone, state, reason, updated_at, tz_source, cutoff_at)
                     VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (key) DO UPDATE SET
                        seq = excluded.seq, line = excluded.line, present = 1,
                        cells = excluded.cells, fingerprint = excluded.fingerprint,
                        phone = CASE WHEN contacts.state IN ({called}) THEN contacts.phone ELSE excluded.phone END,
                        timezone = excluded.timezone, tz_source = excluded.tz_source,
                        cutoff_at = excluded.cutoff_at,
                        state = excluded.state,
                        reason = CASE WHEN contacts.state IN ({called}) THEN contacts.reason ELSE excluded.reason END,
                        updated_at = excluded.updated_at",
                    // History wins (`state::after_import`): a called contact keeps its number
                    // and reason.
                    called = super::contacts_where(ContactState::is_called),
                ))
                .map_err(&sql)?;
            let mut skip = tx
                .prepare_cached("INSERT INTO skipped_rows (seq, line, cells, state, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(&sql)?;
            let work = |contact: &Contact| render::check(campaign, contact);
            reader.for_each(&suppression, work, |scanned| {
                let Scanned { row, work, cells } = scanned;
                summary.rows += 1;
                let seq = summary.rows as i64;
                let mut tz_source = None;
                let mut cutoff = None;
                debug_assert_eq!(work.is_some(), matches!(row, Row::Callable(_)));
                let (line, key, kind, phone, timezone, reason, cells) = match row {
                    Row::Callable(contact) => {
                        tz_source = contact.tz_source.map(TzSource::as_str);
                        cutoff = contact.cutoff.map(millis);
                        (
                            contact.line,
                            contact.key,
                            RowKind::Callable,
                            Some(contact.phone),
                            contact.timezone,
                            None,
                            contact.values,
                        )
                    }
                    Row::Suppressed { line, key, phone } => {
                        let reason = format!("{phone} is on a suppression list");
                        (
                            line,
                            key,
                            RowKind::Suppressed,
                            Some(phone),
                            None,
                            Some(reason),
                            cells.to_strings(),
                        )
                    }
                    Row::Invalid {
                        line,
                        key: Some(key),
                        problems,
                    } if !matches!(problems.first(), RowProblem::DuplicateKey { .. }) => (
                        line,
                        key,
                        RowKind::Invalid,
                        None,
                        None,
                        Some(problems.to_string()),
                        cells.to_strings(),
                    ),
                    other => {
                        let (line, state, reason) = match other {
                            Row::Duplicate {
                                line,
                                phone,
                                first_line,
                            } => (
                                line,
                                ContactState::Duplicate,
                                format!("{phone} is also on line {first_line}"),
                            ),
                            Row::Invalid { line, problems, .. } => {
                                (line, ContactState::Invalid, problems.to_string())
                            }
                            Row::Callable(c) => {
                                (c.line, ContactState::Invalid, "unreachable".into())
                            }
                            Row::Suppressed { line, .. } => {
                                (line, ContactState::Suppressed, "suppressed".into())
                            }
                        };
                        let cells =
                            serde_json::to_string(&cells.to_strings()).expect("strings serialize");
                        skip.execute(params![seq, line as i64, cells, state.as_str(), reason])
                            .map_err(&sql)?;
                        summary.skipped += 1;
                        return Ok(());
                    }
                };
                let cells = serde_json::to_string(&cells).expect("strings serialize");
                let print = fingerprint(&cells);
                type Before = (String, String, i64, Option<i64>, Option<String>);
                let before: Option<Before> = if first {
                    None
                } else {
                    find.query_row([&key], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()
                    .map_err(&sql)?
                };
                let before_state =
                    match &before {
                        Some((state, ..)) => Some(state.parse::<ContactState>().map_err(|e| {
                            StoreError::Corrupt {
                                path: self.path.clone(),
                                message: e.to_string(),
                            }
                        })?),
                        None => None,
                    };
                match &before {
                    None => summary.added += 1,
                    Some((_, _, 0, ..)) => summary.added += 1,
                    Some((_, old, ..)) if *old != print => summary.edited += 1,
                    Some(_) => {}
                }
                let moved = before.as_ref().is_some_and(|b| b.3 != cutoff);
                let state = after_import(before_state, kind, moved);
                // An expired row that stays expired keeps the reason it expired for.
                let reason = match (&before, state) {
                    (Some((.., old)), ContactState::Expired) => old.clone(),
                    _ => reason,
                };
                upsert
                    .execute(params![
                        key,
                        seq,
                        line as i64,
                        cells,
                        print,
                        phone,
                        timezone,
                        state.as_str(),
                        reason,
                        now,
                        tz_source,
                        cutoff
                    ])
                    .map_err(&sql)?;
                Ok::<_, ImportError>(())
            })?;
        }
        // Rows no longer in the CSV: what becomes of each is `state::after_removal`'s, applied
        // state by state, fenced by the state it was decided from.
        for before in ContactState::ALL {
            let after = after_removal(before);
            if after != before {
                tx.execute(
                    // Its due time is kept: should the row come back, a retry still waits its
                    // delay (`after_deadline` and `next_due` read it).
                    "UPDATE contacts SET state = ?2, updated_at = ?3
                     WHERE present = 2 AND state = ?1",
                    params![before.as_str(), after.as_str(), now],
                )
                .map_err(&sql)?;
            }
        }
        summary.removed = tx
            .execute("UPDATE contacts SET present = 0 WHERE present = 2", [])
            .map_err(&sql)? as u64;
        tx.commit().map_err(&sql)?;
        Ok(Imported {
            summary,
            suppression_warnings: suppression.unreadable,
        })
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
        store.import(&campaign, t0()).unwrap().summary
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
        assert_eq!(state_of(&store, "C"), ("invalid".into(), 0));
        assert_eq!(state_of(&store, "D"), ("pending".into(), 1));

        // C comes back, now valid: it counts as added and becomes callable.
        let back = "id,name,phone\nA,Ana María,(415) 555-0101\nC,Lin,(312) 555-0103\n";
        let s = import(dir.path(), &mut store, back);
        assert_eq!((s.added, s.removed), (1, 2));
        assert_eq!(state_of(&store, "C"), ("pending".into(), 1));
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
