//! The scan of a contacts CSV on several cores, in CSV order.
//!
//! Three kinds of threads: one reads the CSV into batches of records (with their line numbers);
//! workers check the records of a batch ([`super::check`]: cells, key, phone number, zone, and
//! the caller's `work`, which checks that the request renders); the caller's own thread settles
//! each row against the rows above it ([`super::Settle`]) and hands it to `each`. Batch `i` goes
//! to worker `i mod n` and comes back from it, so the caller takes batches in the order they
//! were read: rows, their lines and every message come out exactly as a single thread would
//! make them.
//!
//! Memory stays bounded: each channel holds one batch, so at most a few batches are in flight.
//! When `each` fails or the CSV cannot be read further, the channels close and every thread
//! stops at its next send or receive.

use std::sync::mpsc::{SyncSender, sync_channel};

use super::{Cells, Checked, ReadError, Reader, RowProblem, Scanned, Settle, Suppression, check};
use crate::contacts::Contact;

/// Records per batch: large enough that passing a batch costs little next to checking it.
const BATCH: usize = 512;

/// Records read, with the line each starts on, and the error that ended the CSV, if any.
struct Batch {
    records: Vec<(u64, csv::ByteRecord)>,
    error: Option<ReadError>,
}

/// A batch checked: each record with what it is on its own.
struct Done<T> {
    rows: Vec<(csv::ByteRecord, Checked<T>)>,
    error: Option<ReadError>,
}

/// How many workers check records on `cores` cores: one a core, at most 8, less the core a
/// [`Reader::writing`] caller keeps busy, at least 1. The reader thread takes the rest of the
/// time. Every worker checks numbers at once: the phone parser is shared without a lock, but each
/// thread that checks numbers keeps its own caches of the patterns it ran, so a worker with
/// nothing to do costs memory and gains nothing. On 2 cores a second worker took `validate` on a
/// million rows from 5.2 to 4.0 s; the import, which writes every row to the state file on the
/// caller's thread, took as long with one worker as with two, and 9 MiB less.
fn workers(cores: usize, writing: bool) -> usize {
    cores.saturating_sub(usize::from(writing)).clamp(1, 8)
}

impl Reader<'_> {
    /// For a caller whose `each` writes every row (the import into the state file) and so keeps a
    /// core of its own busy: one worker fewer checks rows.
    pub fn writing(self) -> Self {
        Reader {
            writing: true,
            ..self
        }
    }

    /// Reads every row, in CSV order, runs `work` on each one whose cells can be read (on
    /// worker threads; a problem it finds makes the row invalid) and calls `each` with it (on
    /// this thread). Stops at the first error of `each`, or of the CSV.
    pub fn for_each<T, E>(
        mut self,
        suppression: &Suppression,
        work: impl Fn(&Contact) -> Result<T, RowProblem> + Sync,
        mut each: impl FnMut(Scanned<'_, T>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        T: Send,
        E: From<ReadError>,
    {
        let (campaign, size) = (self.campaign, self.size);
        let mut settle = Settle {
            keyed: campaign.input.key_column.is_some(),
            suppression,
            seen: Default::default(),
        };
        let work = &work;
        std::thread::scope(|scope| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let (to_workers, from_workers): (Vec<_>, Vec<_>) = (0..workers(cores, self.writing))
                .map(|_| {
                    let (to_worker, batches) = sync_channel::<Batch>(1);
                    let (done, from_worker) = sync_channel::<Done<T>>(1);
                    scope.spawn(move || {
                        for batch in batches {
                            let rows = batch
                                .records
                                .into_iter()
                                .map(|(line, record)| {
                                    let checked = check(campaign, &record, line, work);
                                    (record, checked)
                                })
                                .collect();
                            let error = batch.error;
                            if done.send(Done { rows, error }).is_err() {
                                return;
                            }
                        }
                    });
                    (to_worker, from_worker)
                })
                .unzip();
            scope.spawn(move || read(&mut self, &to_workers));
            let mut read = 0;
            for (i, from_worker) in from_workers.iter().cycle().enumerate() {
                let Ok(done) = from_worker.recv() else {
                    // The reader has stopped and this worker has sent everything.
                    return Ok(());
                };
                read += done.rows.len();
                if (i + 1) % SAMPLE == 0
                    && let Some(rows) = estimate(size, read, &done.rows)
                {
                    settle.seen.reserve(rows);
                }
                for (record, checked) in done.rows {
                    let (row, work) = settle.row(checked);
                    let cells = Cells(&record);
                    each(Scanned { row, work, cells })?;
                }
                if let Some(error) = done.error {
                    return Err(error.into());
                }
            }
            unreachable!("cycling over at least one worker")
        })
    }
}

/// Batches read between two sizings of the duplicate table: 32,768 rows tell a file's bytes a
/// row far better than its first few hundred (on a file with a long note in one row of 1,000,
/// within about 1 %).
const SAMPLE: usize = 64;

/// How many rows to size the duplicate table for, after `read` rows ending with this batch:
/// as many as a file of `size` bytes holds at the bytes a row read so far, but at most eight times
/// the rows read and one per 16 bytes (a key, a number and their separators take about that);
/// `None` when the batch does not tell where it ends. A file whose first rows are much shorter
/// than the rest (empty notes, then long ones) would otherwise have the table sized to the file
/// (191 MB for 140,000 rows of a 203 MB file); the table grows as the estimate does, a 64th at a
/// time. (At most twice the rows read cost 2 MiB more on a million rows: sized up in more steps,
/// the parts left more freed memory behind.)
fn estimate<T>(size: u64, read: usize, batch: &[(csv::ByteRecord, Checked<T>)]) -> Option<usize> {
    let end = batch
        .last()?
        .0
        .position()
        .map(csv::Position::byte)
        .filter(|&end| end > 0)?;
    let rows = size.saturating_mul(read as u64) / end;
    let rows = rows.min(size / 16).min(8 * read as u64);
    usize::try_from(rows).ok()
}

/// Reads the CSV into batches, dealt to the workers in turn, until it ends or the workers are
/// gone.
fn read(reader: &mut Reader<'_>, to_workers: &[SyncSender<Batch>]) {
    for to_worker in to_workers.iter().cycle() {
        let mut records = Vec::with_capacity(BATCH);
        let mut error = None;
        while records.len() < BATCH {
            let mut record = csv::ByteRecord::new();
            match reader.read(&mut record) {
                Ok(Some(line)) => records.push((line, record)),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let last = records.len() < BATCH;
        if to_worker.send(Batch { records, error }).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::campaign::testing;
    use crate::contacts::tests::all_rows;
    use crate::contacts::{Row, RowProblem};

    /// `rows` rows over several batches: every 7th repeats the key of the row 600 above it (in
    /// another batch), every 11th has no area code.
    fn csv(rows: u64) -> String {
        let mut csv = String::from("id,name,phone\n");
        for i in 0..rows {
            let id = if i % 7 == 6 && i >= 600 { i - 600 } else { i };
            let phone = if i % 11 == 10 {
                "555-0100".to_owned()
            } else {
                format!("(415) 555-01{:02}", i % 90)
            };
            let _ = writeln!(csv, "{id},P{i},{phone}");
        }
        csv
    }

    #[test]
    fn rows_come_out_in_csv_order_across_batches_and_workers() {
        let dir = tempfile::tempdir().unwrap();
        let rows = 5 * BATCH as u64 + 3;
        let campaign = testing::campaign(dir.path(), "  key_column: id\n", "", &csv(rows));
        let seen = all_rows(&campaign);
        assert_eq!(seen.len() as u64, rows);
        for (i, row) in (0..rows).zip(&seen) {
            // Line 1 is the header.
            let line = i + 2;
            assert_eq!(row.line(), line);
            match row {
                Row::Invalid { problems, .. }
                    if matches!(problems.first(), RowProblem::DuplicateKey { .. }) =>
                {
                    let RowProblem::DuplicateKey { first_line, .. } = problems.first() else {
                        unreachable!()
                    };
                    assert!(i % 7 == 6 && i >= 600, "line {line}");
                    assert_eq!(*first_line, line - 600);
                }
                Row::Invalid { problems, .. } => {
                    assert!(i % 11 == 10, "line {line}: {problems}");
                    assert_eq!(problems.first().label(), "invalid phone number");
                }
                Row::Callable(contact) => assert_eq!(contact.key, i.to_string()),
                other => panic!("line {line}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_writing_caller_leaves_a_core_to_itself() {
        assert_eq!(workers(2, false), 2);
        assert_eq!(workers(2, true), 1);
        assert_eq!(workers(1, true), 1);
        assert_eq!(workers(4, true), 3);
        assert_eq!(workers(16, false), 8);
    }

    #[test]
    fn an_error_of_each_stops_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = testing::campaign(dir.path(), "", "", &csv(8 * BATCH as u64));
        let mut calls = 0;
        let result = Reader::open(&campaign).unwrap().for_each(
            &Suppression::default(),
            |_| Ok(()),
            |_| {
                calls += 1;
                if calls == BATCH + 10 {
                    return Err(ReadError {
                        path: "stop".into(),
                        line: 0,
                        message: "enough".into(),
                    });
                }
                Ok(())
            },
        );
        assert_eq!(result.unwrap_err().message, "enough");
        assert_eq!(calls, BATCH + 10);
    }
}
