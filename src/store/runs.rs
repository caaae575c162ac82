//! The runs of a campaign, as the report lists them: when each started and ended, the guard
//! options it was given, and how it ended.
//!
//! A run writes its row when it starts ([`Store::start_run`]) and completes it when it ends
//! ([`Store::end_run`]); a run killed before its end keeps `ended_at` NULL. The calls a run
//! placed are not counted by the run: they are the attempts made between its start and the next
//! run's ([`RunRecord::calls`]), so a killed run's calls are counted too. Attempts made before
//! the first recorded run (a state file from before runs were recorded) are counted apart.

use jiff::Timestamp;
use rusqlite::params;

use super::{Store, StoreError, attempts_where, instant, millis};
use crate::state::AttemptState;

/// How a run ended, stored as TEXT in `runs.ending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnding {
    /// Every contact settled.
    Finished,
    /// A placement cap: the run's (`--max-calls`, `--canary`), a day's or the campaign's.
    CapReached,
    /// `--until-idle`: nothing more was due.
    Idle,
    /// `schedule.not_after` passed.
    ScheduleOver,
    /// The circuit breaker tripped, or was still open.
    Breaker,
    /// The API answered nothing but errors for too long (the outage stop).
    Unreachable,
    /// The API refused the run (a bad key, a caller ID not owned).
    Refused,
    /// Ctrl-C or SIGTERM, after following the calls in flight.
    Interrupted,
    /// A second Ctrl-C: ended at once.
    StoppedAtOnce,
}

impl RunEnding {
    pub const ALL: [RunEnding; 9] = [
        RunEnding::Finished,
        RunEnding::CapReached,
        RunEnding::Idle,
        RunEnding::ScheduleOver,
        RunEnding::Breaker,
        RunEnding::Unreachable,
        RunEnding::Refused,
        RunEnding::Interrupted,
        RunEnding::StoppedAtOnce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunEnding::Finished => "finished",
            RunEnding::CapReached => "cap_reached",
            RunEnding::Idle => "idle",
            RunEnding::ScheduleOver => "schedule_over",
            RunEnding::Breaker => "breaker",
            RunEnding::Unreachable => "unreachable",
            RunEnding::Refused => "refused",
            RunEnding::Interrupted => "interrupted",
            RunEnding::StoppedAtOnce => "stopped_at_once",
        }
    }

    fn parse(text: &str) -> Option<RunEnding> {
        RunEnding::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// One run, as the state file recorded it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: Timestamp,
    /// `None`: still going on, or stopped without recording its end (killed).
    pub ended_at: Option<Timestamp>,
    /// The guard options it was given, as typed (`--canary 5 --reset-breaker`); may be empty.
    pub options: String,
    pub ending: Option<RunEnding>,
    /// What the ending said (the breaker's count, the outage's errors, the cap reached).
    pub detail: Option<String>,
    /// Calls it placed (or may have placed).
    pub calls: u64,
}

/// The runs of a state file, newest last.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Runs {
    /// The newest `limit` runs.
    pub runs: Vec<RunRecord>,
    /// Every recorded run.
    pub total: u64,
    /// Calls placed before the first recorded run (by a version that did not record runs).
    pub unrecorded_calls: u64,
}

impl Store {
    /// Records that a run starts now, with its guard options; returns its id.
    pub fn start_run(&self, now: Timestamp, options: &str) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, after_attempt, options)
                 VALUES (?1, (SELECT COALESCE(MAX(id), 0) FROM attempts), ?2)",
                params![millis(now), options],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records how run `id` ended.
    pub fn end_run(
        &self,
        id: i64,
        now: Timestamp,
        ending: RunEnding,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET ended_at = ?2, ending = ?3, detail = ?4 WHERE id = ?1",
                params![id, millis(now), ending.as_str(), detail],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The newest `limit` runs (oldest of them first), with the calls each placed.
    pub fn runs(&self, limit: u32) -> Result<Runs, StoreError> {
        // Placed or possibly placed, as `limits.max_calls` counts them.
        let call = format!(
            "a.state IN ({})",
            attempts_where(AttemptState::may_have_called)
        );
        let get = |e| self.err(e);
        let (total, unrecorded_calls) = self
            .conn
            .query_row(
                &format!(
                    "SELECT (SELECT COUNT(*) FROM runs),
                            (SELECT COUNT(*) FROM attempts a WHERE {call} AND a.id <=
                                 COALESCE((SELECT MIN(after_attempt) FROM runs), 9e18))"
                ),
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .map_err(get)?;
        // A run's calls: the attempts after its start and up to the next run's start.
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT * FROM (
                     SELECT r.id, r.started_at, r.ended_at, r.options, r.ending, r.detail,
                            (SELECT COUNT(*) FROM attempts a
                             WHERE a.id > r.after_attempt AND {call} AND a.id <= COALESCE(
                                 (SELECT n.after_attempt FROM runs n WHERE n.id > r.id
                                  ORDER BY n.id LIMIT 1), 9e18))
                     FROM runs r ORDER BY r.id DESC LIMIT ?1)
                 ORDER BY 1"
            ))
            .map_err(get)?;
        let rows = statement
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(get)?;
        let mut runs = Vec::new();
        for row in rows {
            let (id, started, ended, options, ending, detail, calls) = row.map_err(get)?;
            let ending = match ending {
                None => None,
                Some(text) => Some(RunEnding::parse(&text).ok_or_else(|| {
                    self.corrupt(format!(
                        "run {id} ended in an unknown way {text:?} (written by a newer bys-campaign?)"
                    ))
                })?),
            };
            runs.push(RunRecord {
                id,
                started_at: instant(started),
                ended_at: ended.map(instant),
                options,
                ending,
                detail,
                calls: calls.max(0) as u64,
            });
        }
        Ok(Runs {
            runs,
            total: total.max(0) as u64,
            unrecorded_calls: unrecorded_calls.max(0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::results_tests::{attempt, midway, t};

    #[test]
    fn endings_round_trip_as_text() {
        for ending in RunEnding::ALL {
            assert_eq!(RunEnding::parse(ending.as_str()), Some(ending));
            assert_eq!(
                serde_json::to_value(ending).unwrap(),
                serde_json::Value::from(ending.as_str())
            );
        }
        assert_eq!(RunEnding::parse("bogus"), None);
    }

    #[test]
    fn a_rehearsal_that_changed_nothing_still_moved_the_clock_it_is_read_at() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = midway(dir.path());
        store.claim_api(crate::store::ApiKind::Sandbox).unwrap();
        let before = store.reading_time().unwrap();
        // A rehearsal two years on places nothing and its import writes no row.
        let later = t("2099-06-01T12:00:00Z");
        let run = store.start_run(later, "--max-calls 0").unwrap();
        assert_eq!(store.reading_time().unwrap(), later.max(before));
        let end = t("2099-06-01T12:05:00Z");
        store.end_run(run, end, RunEnding::Idle, None).unwrap();
        assert_eq!(store.reading_time().unwrap(), end);
    }

    #[test]
    fn each_run_counts_the_calls_made_until_the_next_one_started() {
        let dir = tempfile::tempdir().unwrap();
        // `midway` made four calls (and two refused placements) before any run was recorded.
        let (_, store) = midway(dir.path());
        let first = store.start_run(t("2026-12-08T17:00:00Z"), "").unwrap();
        let call = |state, at| attempt(&store, "A", state, None, None, None, at);
        call(AttemptState::Finished, "2026-12-08T17:01:00Z");
        call(AttemptState::NotPlaced, "2026-12-08T17:02:00Z");
        call(AttemptState::Unknown, "2026-12-08T17:03:00Z");
        store
            .end_run(
                first,
                t("2026-12-08T17:30:00Z"),
                RunEnding::Breaker,
                Some("10 of the last 20 calls went wrong"),
            )
            .unwrap();
        // Killed: no end recorded.
        let second = store
            .start_run(t("2026-12-09T17:00:00Z"), "--reset-breaker")
            .unwrap();
        call(AttemptState::Placed, "2026-12-09T17:01:00Z");

        let all = store.runs(10).unwrap();
        assert_eq!((all.total, all.unrecorded_calls), (2, 4));
        let seen: Vec<_> = all
            .runs
            .iter()
            .map(|r| {
                (
                    r.id,
                    r.ended_at.is_some(),
                    r.options.as_str(),
                    r.ending,
                    r.calls,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (first, true, "", Some(RunEnding::Breaker), 2),
                (second, false, "--reset-breaker", None, 1),
            ]
        );
        assert_eq!(
            all.runs[0].detail.as_deref(),
            Some("10 of the last 20 calls went wrong")
        );

        let newest = store.runs(1).unwrap();
        assert_eq!(newest.total, 2, "the total is not cut by the limit");
        assert_eq!(newest.runs.len(), 1);
        assert_eq!(newest.runs[0].id, second);
    }
}
