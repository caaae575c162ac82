//! The account's shared record: what the campaigns run by this tool on one API account tell
//! each other, so that a lost answer is never settled with another campaign's call.
//!
//! One SQLite file per account (API URL and key) in the user's state directory
//! (`$XDG_STATE_HOME/bys-campaign/accounts/`, by default `~/.local/state/…`), named by a
//! fingerprint of the URL and the key (never the key itself), shared by every campaign's run
//! on the account. It holds:
//! - **calls**: every call id a campaign learned (from a POST's answer or a lost answer it
//!   settled), with the campaign (its state file) that owns it: a call another campaign owns
//!   is never a candidate for a lost answer;
//! - **holds**: while a POST is out or its answer is being settled, the campaign holds the
//!   pair (number, objective) it calls, kept only as a hash: another campaign does not call
//!   the same number with the same objective meanwhile, so the account never has two calls a
//!   lost answer could be confused between.
//!
//! Entries older than a week (calls) or a day (holds a run left behind) are dropped when a run
//! opens the file. Commits do not wait for the disk: a power cut may take the newest entries,
//! and a run re-holds what it still settles when it starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{StoreError, millis};

/// Calls older than this are forgotten: a lost answer is settled within hours.
const KEEP_CALLS: Duration = Duration::from_secs(7 * 24 * 3600);

/// A hold older than this was left by a run that stopped and never came back.
const KEEP_HOLDS: Duration = Duration::from_secs(24 * 3600);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS holds (
    subject TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    since   INTEGER NOT NULL,
    until   INTEGER
) STRICT;
";

/// The shared record of one account, opened by one campaign (its owner).
#[derive(Debug)]
pub struct Account {
    conn: Connection,
    path: PathBuf,
    owner: String,
}

/// Where the records live when the environment does not say: `$XDG_STATE_HOME`, else
/// `$HOME/.local/state`, then `bys-campaign/accounts`.
pub fn default_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = match env("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(base.join("bys-campaign").join("accounts"))
}

/// What a hold is on: a number and an objective, as a hash.
pub fn subject(to: &str, objective: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(to.as_bytes());
    hasher.update([0]);
    hasher.update(objective.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

impl Account {
    /// Opens (creating it if need be) the record `<dir>/<account>.db` for the campaign whose
    /// state file is `owner`, dropping stale entries and the holds `owner` left behind.
    pub fn open(
        dir: &Path,
        account: &str,
        owner: &Path,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let path = dir.join(format!("{account}.db"));
        let io = |e: std::io::Error| StoreError::Corrupt {
            path: path.clone(),
            message: format!(
                "cannot create the account's shared record: {e} (set XDG_STATE_HOME to a \
                 writable directory)"
            ),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let sql = super::sqlite(path.clone());
        let conn = Connection::open(&path).map_err(&sql)?;
        super::set_up(&conn, SCHEMA).map_err(&sql)?;
        let owner = std::path::absolute(owner)
            .unwrap_or_else(|_| owner.to_owned())
            .display()
            .to_string();
        let account = Account { conn, path, owner };
        let before =
            |keep: Duration| millis(now) - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        account
            .conn
            .execute("DELETE FROM calls WHERE at < ?1", [before(KEEP_CALLS)])
            .map_err(|e| account.err(e))?;
        account
            .conn
            .execute(
                "DELETE FROM holds WHERE owner = ?1 OR since < ?2 OR until < ?3",
                params![account.owner, before(KEEP_HOLDS), millis(now)],
            )
            .map_err(|e| account.err(e))?;
        Ok(account)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Takes the hold on `subject` for this campaign (until released); `Some(owner)` (and
    /// nothing taken) if another campaign holds it.
    pub fn hold(&self, subject: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
        let taken = self
            .conn
            .prepare_cached(
                "INSERT INTO holds (subject, owner, since, until) VALUES (?1, ?2, ?3, NULL)
                 ON CONFLICT (subject) DO UPDATE SET owner = excluded.owner,
                    since = excluded.since, until = NULL
                 WHERE holds.owner = excluded.owner OR holds.until < excluded.since
                    OR holds.since < ?4",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    subject,
                    self.owner,
                    millis(now),
                    millis(now) - KEEP_HOLDS.as_millis() as i64
                ])
            })
            .map_err(|e| self.err(e))?;
        if taken == 1 {
            return Ok(None);
        }
        self.conn
            .prepare_cached("SELECT owner FROM holds WHERE subject = ?1")
            .and_then(|mut stmt| stmt.query_row([subject], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    /// Lets go of the hold on `subject` now (`None`), or once `until` has passed.
    pub fn release(&self, subject: &str, until: Option<Timestamp>) -> Result<(), StoreError> {
        let result = match until {
            None => self
                .conn
                .prepare_cached("DELETE FROM holds WHERE subject = ?1 AND owner = ?2")
                .and_then(|mut stmt| stmt.execute(params![subject, self.owner])),
            Some(until) => self
                .conn
                .prepare_cached("UPDATE holds SET until = ?3 WHERE subject = ?1 AND owner = ?2")
                .and_then(|mut stmt| stmt.execute(params![subject, self.owner, millis(until)])),
        };
        result.map(drop).map_err(|e| self.err(e))
    }

    /// Records `call_id` as this campaign's.
    pub fn claim(&self, call_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO calls (call_id, owner, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (call_id) DO NOTHING",
            )
            .and_then(|mut stmt| stmt.execute(params![call_id, self.owner, millis(now)]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Whether another campaign owns `call_id`.
    pub fn owned_by_another(&self, call_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM calls WHERE call_id = ?1 AND owner != ?2)",
            )
            .and_then(|mut stmt| stmt.query_row(params![call_id, self.owner], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// The file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn campaigns_opening_a_new_record_at_once_all_open_it() {
        for _ in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let barrier = std::sync::Barrier::new(6);
            std::thread::scope(|scope| {
                for i in 0..6 {
                    let (dir, barrier) = (dir.path(), &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        let owner = format!("/c/{i}.state.db");
                        Account::open(dir, "acct", Path::new(&owner), t("2026-12-07T17:00:00Z"))
                            .unwrap();
                    });
                }
            });
        }
    }

    #[test]
    fn two_campaigns_share_calls_and_holds() {
        let dir = tempfile::tempdir().unwrap();
        let now = t("2026-12-07T17:00:00Z");
        let a = Account::open(dir.path(), "acct", Path::new("/c/a.state.db"), now).unwrap();
        let b = Account::open(dir.path(), "acct", Path::new("/c/b.state.db"), now).unwrap();
        let s = subject("+14155550101", "Confirm");
        assert_eq!(a.hold(&s, now).unwrap(), None);
        assert_eq!(a.hold(&s, now).unwrap(), None, "taken again by its owner");
        assert_eq!(b.hold(&s, now).unwrap().as_deref(), Some("/c/a.state.db"));
        a.release(&s, None).unwrap();
        assert_eq!(b.hold(&s, now).unwrap(), None);
        // Held until an instant: free for others after it.
        b.release(&s, Some(t("2026-12-07T17:10:00Z"))).unwrap();
        assert!(a.hold(&s, t("2026-12-07T17:05:00Z")).unwrap().is_some());
        assert_eq!(a.hold(&s, t("2026-12-07T17:11:00Z")).unwrap(), None);

        a.claim("c1", now).unwrap();
        assert!(b.owned_by_another("c1").unwrap());
        assert!(!a.owned_by_another("c1").unwrap());
        assert!(!b.owned_by_another("c2").unwrap());
    }

    #[test]
    fn a_new_run_drops_what_is_stale_and_its_own_holds() {
        let dir = tempfile::tempdir().unwrap();
        let now = t("2026-12-07T17:00:00Z");
        let a = Account::open(dir.path(), "acct", Path::new("/c/a.state.db"), now).unwrap();
        let s = subject("+14155550101", "Confirm");
        a.hold(&s, now).unwrap();
        a.claim("c1", now).unwrap();
        // A run of `a` that stopped leaves its hold; its next run starts without it.
        let again = Account::open(dir.path(), "acct", Path::new("/c/a.state.db"), now).unwrap();
        let b = Account::open(dir.path(), "acct", Path::new("/c/b.state.db"), now).unwrap();
        assert_eq!(b.hold(&s, now).unwrap(), None);
        drop(again);
        // A day later a hold nobody released is gone; a week later, the calls.
        let later = t("2026-12-15T17:00:00Z");
        let _ = Account::open(dir.path(), "acct", Path::new("/c/c.state.db"), later).unwrap();
        assert!(!b.owned_by_another("c1").unwrap());
        assert_eq!(a.hold(&s, later).unwrap(), None);
    }

    #[test]
    fn subjects_hide_the_number_and_tell_pairs_apart() {
        let s = subject("+14155550101", "Confirm");
        assert!(!s.contains("555"));
        assert_eq!(s.len(), 32);
        assert_ne!(s, subject("+14155550101", "Confirm again"));
        assert_ne!(s, subject("+1415555010", "1Confirm"));
    }
}
