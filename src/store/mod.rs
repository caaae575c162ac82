//! The state file: one SQLite database per campaign holding every contact, attempt and step.
//!
//! All SQL lives in this module, behind named methods. The connection has one owner (the
//! runner's driver task, or a command) and is never shared across threads. Invariants:
//! - WAL: every commit survives the process being killed. The `placing` row of an attempt also
//!   survives a power cut before its POST is sent (`synchronous = FULL` for the runner's
//!   groups of steps, which commit each round of attempts, see `Store::begin_group`). Every
//!   other commit (`synchronous = NORMAL`) records something a resumed run learns again if a
//!   power cut takes it: a lost call id turns the attempt back into `placing`, which is
//!   resolved against the API's list of calls; a lost result or poll leaves the call
//!   `placed`, and it is polled again;
//! - the schema moves forward by numbered migrations (`PRAGMA user_version`); a file written by
//!   a newer version is refused, never "upgraded" down;
//! - the API key is never stored;
//! - `call_facts` holds, beside each finished call's record, the few values the report counts;
//!   triggers keep it (see `migrations/0009_call_facts.sql`), so writers need not know of it.

pub mod account;
mod attempts;
mod deadlines;
mod due;
#[cfg(test)]
mod fixture;
mod group;
mod history;
pub mod import;
mod lock;
mod preview;
mod report;
mod results;
mod runs;
mod status;
mod unknown;
mod webhooks;
mod windows;
#[cfg(test)]
pub(crate) use results::tests as results_tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use crate::state::{AttemptState, ContactState};

pub use attempts::{Finish, NewCall, OpenAttempt, Posted};
pub use deadlines::Late;
pub use due::Due;
pub use history::{AttemptHistory, History};
pub use import::{ContactRow, ImportRow, ImportSummary, Importer, SkippedRow};
pub use lock::{Lock, LockError};
pub use preview::Upcoming;
pub use report::{AttentionRow, CallFacts, FunnelCounts, Snapshot};
pub use results::{CallAttempt, PlacedCall, ResultRow};
pub use runs::{RunEnding, RunRecord, Runs};
pub use status::{Attention, ErrorEntry, StatusSummary, Stopping, WAIT_REASONS, WaitGroup};
pub use unknown::{LateCall, Stray};
pub use webhooks::{Effect, Pushed};

/// Where a state file's calls go: a simulator (`run --sandbox`, or a `bys-campaign sandbox`
/// it found at the API URL) or the real API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    Sandbox,
    Live,
}

impl ApiKind {
    fn as_str(self) -> &'static str {
        match self {
            ApiKind::Sandbox => "sandbox",
            ApiKind::Live => "live",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ApiKind::Sandbox => "simulated (sandbox)",
            ApiKind::Live => "real",
        }
    }
}

/// Meta key: set (to when and why) while the runner's circuit breaker is open.
pub const BREAKER_TRIPPED: &str = "breaker_tripped";
/// Meta key: the instant of the last `--reset-breaker`; calls that ended before it no longer
/// count.
pub const BREAKER_SINCE: &str = "breaker_since";
/// Meta key a run writes while it stops gracefully: `<since> <until>` (real time), so that
/// `status` can say what it waits for.
pub const STOPPING: &str = "run_stopping";
/// Meta key a run writes while it pauses placing until it has read the API's list of calls
/// again (`runner::lost`): since when, in real time. Cleared when it goes on.
pub const PAUSED: &str = "run_paused_for_list";

/// Forward-only migrations, applied in order; `user_version` is how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_next_due_index.sql"),
    include_str!("migrations/0003_waits_and_zones.sql"),
    include_str!("migrations/0004_webhook_events.sql"),
    include_str!("migrations/0005_drop_contacts_due.sql"),
    include_str!("migrations/0006_anchors.sql"),
    include_str!("migrations/0007_deadlines.sql"),
    include_str!("migrations/0008_runs.sql"),
    include_str!("migrations/0009_call_facts.sql"),
];

/// Why the state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state file {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "state file {path} has schema version {found}, newer than this bys-campaign knows ({known}); \
         use a newer bys-campaign"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("state file {path} holds campaign {found:?}, not {expected:?}")]
    OtherCampaign {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "state file {path} holds {} calls; this run would place {} ones\n  \
         hint: a rehearsal (run --sandbox) keeps its own state file; for another one, pass --state FILE",
        found.describe(), expected.describe()
    )]
    OtherApi {
        path: PathBuf,
        found: ApiKind,
        expected: ApiKind,
    },
    #[error(
        "state file {path} knows its contacts by {found}; the campaign file now knows them by \
         {expected} (input.key_column): every row would be taken for a new contact and called \
         again, numbers already called included\n  \
         hint: put input.key_column back as it was; to start the campaign afresh and call every \
         row again, pass --state NEW_FILE"
    )]
    OtherIdentity {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("state file {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// An open state file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Whether a group of steps is open (see `Store::begin_group`).
    group: bool,
}

/// Turns SQLite errors into [`StoreError::Sqlite`] naming `path`: for the methods that hold a
/// transaction, which borrows the connection (and so `self`) while errors are mapped.
/// A word of the state file (a state, an outcome, a wait) read back; an unknown word is a
/// corrupt state file.
fn parse_word<T: std::str::FromStr<Err = crate::state::UnknownState>>(
    path: &Path,
    text: &str,
) -> Result<T, StoreError> {
    text.parse()
        .map_err(|e: crate::state::UnknownState| StoreError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// [`sqlite`] for a path borrowed, copied only when an error comes.
fn sqlite_at(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn sqlite(path: PathBuf) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite {
        path: path.clone(),
        source,
    }
}

/// `states` as an SQL list (`'placing', 'ambiguous'`), for `state IN (…)`. Every state the
/// store's SQL names is written from [`crate::state`] (its enums, predicates and steps) through
/// this or `as_str`, never by hand, so the SQL and the rules cannot drift apart (a test reads
/// the store's code for state names in quotes).
fn sql_list<S: std::fmt::Display>(states: impl IntoIterator<Item = S>) -> String {
    let quoted: Vec<String> = states.into_iter().map(|s| format!("'{s}'")).collect();
    quoted.join(", ")
}

/// SQL: the contacts a run may still call: pending, in the CSV, with a number. (Its `present`
/// and `phone` terms are the `contacts_next` index's, which a query must imply to use it.)
static CALLABLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "state = '{}' AND present = 1 AND phone IS NOT NULL",
        ContactState::Pending
    )
});

/// The contact states `pred` holds for, as an SQL list (see [`sql_list`]).
fn contacts_where(pred: impl Fn(ContactState) -> bool) -> String {
    sql_list(ContactState::ALL.into_iter().filter(|&s| pred(s)))
}

/// The attempt states `pred` holds for, as an SQL list (see [`sql_list`]).
fn attempts_where(pred: impl Fn(AttemptState) -> bool) -> String {
    sql_list(AttemptState::ALL.into_iter().filter(|&s| pred(s)))
}

/// Milliseconds since the epoch, the column format of every instant.
pub fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The instant stored as `ms`.
pub fn instant(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MIN)
}

/// How long a statement waits for another connection's lock.
const BUSY: Duration = Duration::from_secs(10);

/// Sets up a connection to one of our files (a state file, an account's record): waits up to
/// [`BUSY`] for another connection's lock, then WAL, `synchronous = NORMAL`, and `more` (pragmas,
/// a schema). Processes that open a new file at the same instant (a run and `status`, campaigns
/// on one key started by cron) may each find it taken: turning a new file to WAL takes a lock
/// that SQLite's busy handler does not wait for, so the setup is tried again for as long as the
/// handler would wait.
pub(super) fn set_up(conn: &Connection, more: &str) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY)?;
    let deadline = std::time::Instant::now() + BUSY;
    loop {
        let setup = conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .and_then(|()| conn.execute_batch(more));
        match setup {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the state file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            group: false,
        };
        store.configure().and_then(|()| store.migrate())?;
        Ok(store)
    }

    /// Opens an existing state file for reading while a run may hold it (`status`, `export`).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                message: "does not exist: no run has started yet".into(),
            });
        }
        Store::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn configure(&self) -> Result<(), StoreError> {
        // The runner cycles through a score of statements for every call; rusqlite keeps 16 by
        // default, and one evicted is parsed and planned again at its next use.
        self.conn.set_prepared_statement_cache_capacity(64);
        set_up(&self.conn, "PRAGMA foreign_keys = ON;").map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let sql = sqlite_at(&self.path);
        let version = |conn: &Connection| {
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .map_err(&sql)
        };
        let mut found = version(&self.conn)?;
        // Each step reads the version again inside its write transaction: processes that open
        // the file at the same instant migrate it once.
        while MIGRATIONS.get(found as usize).is_some() {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(&sql)?;
            found = version(&tx)?;
            if let Some(step) = MIGRATIONS.get(found as usize) {
                tx.execute_batch(step)
                    .and_then(|()| tx.pragma_update(None, "user_version", found + 1))
                    .and_then(|()| tx.commit())
                    .map_err(&sql)?;
                found += 1;
            }
        }
        if found > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known: MIGRATIONS.len(),
            });
        }
        Ok(())
    }

    /// The schema version of this file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets a meta value (nothing happens if there is none).
    pub fn clear_meta(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Binds the file to a campaign name on first use; refuses a file made for another one.
    /// Records which kind of API this state file's calls go to, or checks that it is the
    /// kind recorded. A file from before the kind was recorded takes the first kind it meets.
    pub fn claim_api(&self, kind: ApiKind) -> Result<(), StoreError> {
        self.claim("api", kind.as_str())?
            .map_err(|found| StoreError::OtherApi {
                path: self.path.clone(),
                found: if found == ApiKind::Sandbox.as_str() {
                    ApiKind::Sandbox
                } else {
                    ApiKind::Live
                },
                expected: kind,
            })
    }

    /// Records what tells this file's contacts apart (`identity`: "their phone number" or
    /// "column `id`"), or checks that it is what it was: a change would make every row a new
    /// contact, to be called again. A file that already holds contacts from before this was
    /// recorded takes the identity it meets.
    pub fn claim_identity(&self, identity: &str) -> Result<(), StoreError> {
        self.claim("identity", identity)?
            .map_err(|found| StoreError::OtherIdentity {
                path: self.path.clone(),
                found,
                expected: identity.to_owned(),
            })
    }

    /// "Now" for reading this state file: the wall clock, or for a file of simulated calls the
    /// last simulated instant it recorded when that is later (a rehearsal runs ahead of the wall
    /// clock, and "due in 3 days" should be counted from where it stopped). A run that changed
    /// nothing (an import writes only rows that change) still moved the clock: its start and end
    /// count.
    pub fn reading_time(&self) -> Result<Timestamp, StoreError> {
        let now = Timestamp::now();
        if self.meta("api")?.as_deref() != Some(ApiKind::Sandbox.as_str()) {
            return Ok(now);
        }
        let last: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(m) FROM (SELECT MAX(updated_at) AS m FROM contacts
                                     UNION ALL SELECT MAX(updated_at) FROM attempts
                                     UNION ALL SELECT MAX(MAX(started_at), COALESCE(MAX(ended_at), 0))
                                               FROM runs)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(last.map(instant).map_or(now, |last| last.max(now)))
    }

    pub fn claim_campaign(&self, name: &str) -> Result<(), StoreError> {
        self.claim("campaign", name)?
            .map_err(|found| StoreError::OtherCampaign {
                path: self.path.clone(),
                found,
                expected: name.to_owned(),
            })
    }

    /// Records `value` under the meta `key` on first use; `Err` with the value recorded when it
    /// is another one.
    fn claim(&self, key: &str, value: &str) -> Result<Result<(), String>, StoreError> {
        match self.meta(key)? {
            None => self.set_meta(key, value).map(Ok),
            Some(found) if found == value => Ok(Ok(())),
            Some(found) => Ok(Err(found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_opening_a_new_state_file_at_once_all_open_it() {
        for _ in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.db");
            let barrier = std::sync::Barrier::new(6);
            std::thread::scope(|scope| {
                for _ in 0..6 {
                    let (path, barrier) = (&path, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        Store::open(path).unwrap();
                    });
                }
            });
        }
    }

    /// Every state the store's SQL names comes from `state` (see [`sql_list`]): no state name
    /// in quotes in the store's code, its tests aside (they write rows as a fixture).
    #[test]
    fn no_sql_of_the_store_names_a_state_by_hand() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
        let names: Vec<&str> = (ContactState::ALL.iter().map(|s| s.as_str()))
            .chain(AttemptState::ALL.iter().map(|s| s.as_str()))
            .collect();
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for name in &names {
                assert!(
                    !code.contains(&format!("'{name}'")),
                    "{} names '{name}' by hand",
                    path.display()
                );
            }
            read += 1;
        }
        assert!(read > 10, "read {read} files of {}", dir.display());
        // The lists it builds instead.
        assert_eq!(
            attempts_where(AttemptState::is_open),
            "'placing', 'placed', 'ambiguous'"
        );
        assert_eq!(
            contacts_where(ContactState::holds_number),
            "'active', 'unknown'"
        );
        assert_eq!(sql_list(crate::state::CLAIM.from), "'pending'");
    }

    /// A migration is fixed text, so `call_facts`' triggers (migration 0009) spell the states
    /// that count as a call: they must be the ones `state` counts.
    #[test]
    fn the_call_facts_triggers_count_the_calls_state_counts() {
        let sql = MIGRATIONS[8];
        assert!(sql.contains("CREATE TABLE call_facts"), "{sql}");
        let counted = format!(
            "p.state IN ({})",
            attempts_where(AttemptState::counts_as_call)
        );
        assert!(sql.contains(&counted), "{counted} not in {sql}");
    }

    #[test]
    fn migrates_a_new_file_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        store.set_meta("campaign", "demo").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.meta("campaign").unwrap().as_deref(), Some("demo"));
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn refuses_a_file_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn a_file_belongs_to_one_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.claim_campaign("a").unwrap();
        store.claim_campaign("a").unwrap();
        assert!(matches!(
            store.claim_campaign("b"),
            Err(StoreError::OtherCampaign { .. })
        ));
    }

    #[test]
    fn a_state_file_keeps_to_one_identity_of_its_contacts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.claim_identity("their phone number").unwrap();
        store.claim_identity("their phone number").unwrap();
        let err = store.claim_identity("column `id`").unwrap_err();
        assert!(matches!(err, StoreError::OtherIdentity { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("their phone number") && text.contains("column `id`"),
            "{text}"
        );
        assert!(text.contains("--state NEW_FILE"), "{text}");
    }

    #[test]
    fn a_state_file_keeps_to_one_kind_of_api() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.claim_api(ApiKind::Sandbox).unwrap();
        store.claim_api(ApiKind::Sandbox).unwrap();
        let err = store.claim_api(ApiKind::Live).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::OtherApi {
                    found: ApiKind::Sandbox,
                    expected: ApiKind::Live,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("--state"), "{err}");
    }
}
