//! The one place the tests know the state file's tables and columns: a schema change touches
//! this file only. Here a state file is written as a run would leave it (the contacts imported
//! by the real [`Store::import`], then attempts, events and contact states written with SQL the
//! way the runner writes them) or changed the way an earlier version or a crash would have left
//! it, and what a run left is read back as plain rows ([`Attempt`], [`Contact`],
//! [`WebhookEvent`]) for the tests to judge in Rust.
//!
//! A test module outside this file writes no SQL: `schema::only_the_fixture_knows_the_schema` checks it.

use std::path::{Path, PathBuf};

use bys_campaign::campaign::Campaign;
use bys_campaign::store::Store;
use rusqlite::{Connection, OptionalExtension, params};

/// A campaign with typed fields and a CSV whose header already has a `status` column.
pub const CAMPAIGN: &str = "\
name: demo
input:
  path: contacts.csv
  key_column: id
  default_region: US
call:
  objective: Confirm {{ first_name }}'s appointment.
fields:
  - { name: confirmed, type: boolean }
  - { name: visits, type: number }
  - { name: note, type: string }
output:
  transcript: true
";

pub const CONTACTS: &str = "\
id,first_name,phone,status
1,Ana,(415) 555-0101,vip
2,Wei,212-555-0102,
3,Lin,555-01,
1,Again,(415) 555-0109,
4,Sam,(312) 555-0104,
5,=HYPERLINK(\"http://127.0.0.1/x\"),(646) 555-0105,
6,Eve,(646) 555-0106,
7,Kim,(646) 555-0107,
";

/// A test folder with [`CAMPAIGN`] and [`CONTACTS`], its state file played by [`midway`].
pub fn midway_test() -> super::Test {
    let test = super::Test::new()
        .file("campaign.yaml", CAMPAIGN)
        .file("contacts.csv", CONTACTS);
    midway(test.path());
    test
}

pub fn ms(at: &str) -> i64 {
    at.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// Imports the contacts of `dir/campaign.yaml` into its default state file (claimed for the
/// campaign, as a run does) and returns its path.
pub fn imported(dir: &Path) -> PathBuf {
    let campaign = Campaign::load(&dir.join("campaign.yaml")).expect("campaign loads");
    let path = campaign.default_state_path();
    let mut store = Store::open(&path).unwrap();
    store.claim_campaign(&campaign.name).unwrap();
    bys_campaign::scan::import(
        &mut store,
        &campaign,
        "2026-12-07T17:00:00Z".parse().unwrap(),
    )
    .unwrap();
    path
}

/// Adds an attempt as the runner leaves it (placed at `at`, its outcome the record's status);
/// returns its id.
fn attempt(
    conn: &Connection,
    key: &str,
    state: &str,
    call: Option<&str>,
    record: Option<&str>,
    error: Option<&str>,
    at: &str,
) -> i64 {
    conn.execute(
        "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at,
            call_id, polls, outcome, record, error, updated_at)
         VALUES (?1, ?2, lower(hex(randomblob(16))), '{}', ?3, ?4, 2,
                 json_extract(?5, '$.status'), ?5, ?6, ?3)",
        params![key, state, ms(at), call, record, error],
    )
    .unwrap();
    conn.last_insert_rowid()
}

/// Sets a contact's state as the runner leaves it.
fn contact(
    conn: &Connection,
    key: &str,
    state: &str,
    outcome: Option<&str>,
    calls: i64,
    reason: Option<&str>,
    due: Option<&str>,
) {
    let changed = conn
        .execute(
            "UPDATE contacts SET state = ?2, outcome = ?3, calls = ?4, reason = ?5, due_at = ?6
             WHERE key = ?1",
            params![key, state, outcome, calls, reason, due.map(ms)],
        )
        .unwrap();
    assert_eq!(changed, 1, "no contact {key}");
}

/// A call of the contact `key` (imported already) that ended with `record` (its `status` the
/// outcome), placed at `at`, with the API's `error` if any; the contact is left as it was.
pub fn finished_call(
    state: &Path,
    key: &str,
    call: &str,
    record: &str,
    error: Option<&str>,
    at: &str,
) {
    attempt(
        &open(state),
        key,
        "finished",
        Some(call),
        Some(record),
        error,
        at,
    );
}

/// The contact `key` settled (`done`) with `outcome` after `calls` calls.
pub fn settled(state: &Path, key: &str, outcome: &str, calls: i64) {
    contact(&open(state), key, "done", Some(outcome), calls, None, None);
}

/// Imports the contacts of `dir/campaign.yaml` into its default state file, then plays a run:
/// 1 completed (second call), 2 unknown, 4 pending after a transient error, 5 no answer and
/// done, 6 refused by the API, 7 on its first call right now (in flight). Returns the state path.
pub fn midway(dir: &Path) -> PathBuf {
    let path = imported(dir);
    let conn = Connection::open(&path).unwrap();
    let attempt = |key: &str,
                   state: &str,
                   call: Option<&str>,
                   record: Option<&str>,
                   error: Option<&str>,
                   at: &str| attempt(&conn, key, state, call, record, error, at);
    let contact = |key: &str,
                   state: &str,
                   outcome: Option<&str>,
                   calls: i64,
                   reason: Option<&str>,
                   due: Option<&str>| {
        contact(&conn, key, state, outcome, calls, reason, due);
    };
    attempt(
        "1",
        "finished",
        Some("call-1a"),
        Some(r#"{"id":"call-1a","status":"no_answer"}"#),
        None,
        "2026-12-07T17:01:00Z",
    );
    attempt(
        "1",
        "finished",
        Some("call-1b"),
        Some(
            r#"{"id":"call-1b","status":"completed","summary":"Confirmed; will bring the forms.",
            "extracted":{"confirmed":true,"visits":2,"note":"-asks for a morning slot"},
            "transcript":[{"role":"agent","text":"Hello Ana"},{"role":"contact","text":"Yes, I'll be there"}],
            "recordingUrl":"http://127.0.0.1:9/v1/agent/calls/call-1b/recording",
            "startedAt":"2026-12-07T19:01:20Z","endedAt":"2026-12-07T19:03:05Z","durationSec":105}"#,
        ),
        None,
        "2026-12-07T19:01:00Z",
    );
    contact("1", "done", Some("completed"), 2, None, None);
    attempt(
        "2",
        "unknown",
        None,
        None,
        Some("the answer to POST was lost (timed out)"),
        "2026-12-07T17:02:00Z",
    );
    contact(
        "2",
        "unknown",
        None,
        1,
        Some("no matching call in the list of recent calls"),
        None,
    );
    let id = attempt(
        "4",
        "not_placed",
        None,
        None,
        Some("store_error: temporary \u{1b}[31mfailure"),
        "2026-12-07T17:03:00Z",
    );
    conn.execute(
        "INSERT INTO events (attempt_id, at, kind, detail) VALUES (?1, ?2, 'error', ?3)",
        params![
            id,
            ms("2026-12-07T17:03:00Z"),
            "store_error: temporary \u{1b}[31mfailure"
        ],
    )
    .unwrap();
    contact("4", "pending", None, 0, None, Some("2099-01-01T00:00:00Z"));
    attempt(
        "5",
        "finished",
        Some("call-5"),
        Some(
            r#"{"id":"call-5","status":"no_answer","extracted":{"confirmed":null,"visits":null,"note":null},"durationSec":0}"#,
        ),
        None,
        "2026-12-07T17:04:00Z",
    );
    contact("5", "done", Some("no_answer"), 1, None, None);
    attempt(
        "6",
        "not_placed",
        None,
        None,
        Some("destination_blocked: premium-rate number"),
        "2026-12-07T17:05:00Z",
    );
    contact(
        "6",
        "invalid",
        None,
        0,
        Some("destination_blocked: premium-rate number"),
        None,
    );
    attempt(
        "7",
        "placed",
        Some("call-7"),
        None,
        None,
        "2026-12-07T17:06:00Z",
    );
    contact("7", "active", None, 1, None, None);
    path
}

/// The lost call [`lost`] writes: the attempt's request and when it was made, when its contact
/// is due, and the words an earlier version left with it.
struct Lost<'a> {
    idempotency_key: &'a str,
    request: &'a str,
    made_at: i64,
    due_at: i64,
    /// The contact's reason and `updated_at`, and the attempt's error; kept as they are if `None`.
    words: Option<(&'a str, &'a str)>,
}

/// The contact `key` (imported already) unknown after one call, its attempt `unknown` without a
/// call id (nor anchor).
fn lost(state: &Path, key: &str, lost: &Lost) {
    let db = Connection::open(state).expect("state file opens");
    let (reason, error) = lost.words.unzip();
    let changed = db
        .execute(
            "UPDATE contacts SET state = 'unknown', calls = 1, due_at = ?2,
                reason = COALESCE(?3, reason),
                updated_at = CASE WHEN ?3 IS NULL THEN updated_at ELSE ?4 END
             WHERE key = ?1",
            params![key, lost.due_at, reason, lost.made_at],
        )
        .unwrap();
    assert_eq!(changed, 1, "contact {key} is imported");
    db.execute(
        "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at, updated_at, error)
         VALUES (?1, 'unknown', ?2, ?3, ?4, ?4, ?5)",
        params![key, lost.idempotency_key, lost.request, lost.made_at, error],
    )
    .unwrap();
}

/// What a run of an earlier version left for a lost answer the list could not settle: the
/// contact `key` unknown, its attempt `unknown` without a call id (nor anchor), made now with
/// `request`. The contact must be imported already.
pub fn unknown_lost_attempt(state: &Path, key: &str, request: &str) {
    let now = jiff::Timestamp::now().as_millisecond();
    lost(
        state,
        key,
        &Lost {
            idempotency_key: "lost-earlier",
            request,
            made_at: now,
            due_at: now,
            words: Some((
                "a call may have been placed: the API's list of recent calls does not reach back far enough to tell",
                "a call may have been placed",
            )),
        },
    );
}

/// A lost answer of long ago (the attempt made at the epoch) that could not be settled: the
/// contact `key` unknown after one call, held until `due_at`; its attempt `unknown`, without a
/// call id, made with `request`. The contact must be imported already.
pub fn unknown_since_long_ago(state: &Path, key: &str, request: &str, due_at: jiff::Timestamp) {
    lost(
        state,
        key,
        &Lost {
            idempotency_key: "lost-1",
            request,
            made_at: 0,
            due_at: due_at.as_millisecond(),
            words: None,
        },
    );
}

/// Sets the anchor (see `runner::lost`) of the attempts of contact `key`.
pub fn set_anchor(state: &Path, key: &str, anchor: &str) {
    let db = Connection::open(state).expect("state file opens");
    db.execute(
        "UPDATE attempts SET anchor = ?2 WHERE contact_key = ?1",
        params![key, anchor],
    )
    .unwrap();
}

/// Sets when contact `key` is next due (or, unknown, until when its call may be going on).
pub fn set_due_at(state: &Path, key: &str, at: jiff::Timestamp) {
    let db = Connection::open(state).expect("state file opens");
    let changed = db
        .execute(
            "UPDATE contacts SET due_at = ?2 WHERE key = ?1",
            params![key, at.as_millisecond()],
        )
        .unwrap();
    assert_eq!(changed, 1, "contact {key} is imported");
}

/// A writer in the middle of a transaction, as a run is between two commits: it holds the
/// state file's write lock and has not committed its change.
#[must_use = "the transaction ends when this is dropped"]
pub struct Uncommitted {
    db: Connection,
}

impl Uncommitted {
    /// Rolls the change back, as a run that dies before its commit.
    pub fn roll_back(self) {
        self.db.execute_batch("ROLLBACK").unwrap();
    }
}

/// Begins a write transaction that finishes contact `key` as completed, and leaves it open.
pub fn uncommitted_completion(state: &Path, key: &str) -> Uncommitted {
    let db = Connection::open(state).expect("state file opens");
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let changed = db
        .execute(
            "UPDATE contacts SET state = 'done', outcome = 'completed' WHERE key = ?1",
            [key],
        )
        .unwrap();
    assert_eq!(changed, 1, "contact {key} is imported");
    Uncommitted { db }
}

/// An attempt as the state file holds it. Times are milliseconds since the epoch, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: i64,
    pub contact_key: String,
    pub state: String,
    /// The last status seen.
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub call_id: Option<String>,
    pub polls: i64,
    /// The JSON body, exactly as sent.
    pub request: String,
    pub created_at: i64,
}

/// A contact as the state file holds it (the columns tests read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub key: String,
    pub state: String,
    pub timezone: Option<String>,
    /// The row's deadline: no call at or after it.
    pub cutoff_at: Option<i64>,
}

/// A webhook event the runner's receiver recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    /// `call.in_progress`, `call.completed`, …
    pub event: String,
    pub call_id: Option<String>,
    /// `result`, `status` or `ignored`.
    pub effect: String,
    /// `None`: not a call this campaign knows.
    pub attempt_id: Option<i64>,
}

/// Every attempt, in the order they were made.
pub fn attempts(state: &Path) -> Vec<Attempt> {
    read_attempts(&open(state)).unwrap()
}

/// [`attempts`], or `None` while a runner is still creating the state file.
pub fn attempts_once_ready(state: &Path) -> Option<Vec<Attempt>> {
    read_attempts(&open_once_ready(state)?).ok()
}

/// Every contact, in CSV order.
pub fn contacts(state: &Path) -> Vec<Contact> {
    let db = open(state);
    let mut stmt = db
        .prepare("SELECT key, state, timezone, cutoff_at FROM contacts ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Contact {
            key: r.get(0)?,
            state: r.get(1)?,
            timezone: r.get(2)?,
            cutoff_at: r.get(3)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Every attempt, in the order they were made, beside its contact.
pub fn attempts_with_contacts(state: &Path) -> Vec<(Attempt, Contact)> {
    let contacts = contacts(state);
    attempts(state)
        .into_iter()
        .map(|a| {
            let contact = contacts
                .iter()
                .find(|c| c.key == a.contact_key)
                .unwrap_or_else(|| panic!("attempt {} has no contact", a.id))
                .clone();
            (a, contact)
        })
        .collect()
}

/// Every webhook event recorded, in the order it was.
pub fn webhook_events(state: &Path) -> Vec<WebhookEvent> {
    read_webhook_events(&open(state)).unwrap()
}

/// [`webhook_events`], or `None` while a runner is still creating the state file.
pub fn webhook_events_once_ready(state: &Path) -> Option<Vec<WebhookEvent>> {
    read_webhook_events(&open_once_ready(state)?).ok()
}

/// Whether a run has taken a stop signal (and marked the state file so); `false` while a
/// runner is still creating the state file.
pub fn stopping(state: &Path) -> bool {
    open_once_ready(state)
        .and_then(|db| {
            db.query_row("SELECT 1 FROM meta WHERE key = 'run_stopping'", [], |_| {
                Ok(())
            })
            .optional()
            .ok()
        })
        .is_some_and(|found| found.is_some())
}

fn open(state: &Path) -> Connection {
    Connection::open(state).expect("state file opens")
}

/// The state file, unless it is not there yet (opening it would create it).
fn open_once_ready(state: &Path) -> Option<Connection> {
    state.exists().then(|| open(state))
}

fn read_attempts(db: &Connection) -> rusqlite::Result<Vec<Attempt>> {
    db.prepare(
        "SELECT id, contact_key, state, status, outcome, call_id, polls, request, created_at
         FROM attempts ORDER BY id",
    )?
    .query_map([], |r| {
        Ok(Attempt {
            id: r.get(0)?,
            contact_key: r.get(1)?,
            state: r.get(2)?,
            status: r.get(3)?,
            outcome: r.get(4)?,
            call_id: r.get(5)?,
            polls: r.get(6)?,
            request: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?
    .collect()
}

fn read_webhook_events(db: &Connection) -> rusqlite::Result<Vec<WebhookEvent>> {
    db.prepare(
        "SELECT event_id, event, call_id, effect, attempt_id FROM webhook_events ORDER BY rowid",
    )?
    .query_map([], |r| {
        Ok(WebhookEvent {
            event_id: r.get(0)?,
            event: r.get(1)?,
            call_id: r.get(2)?,
            effect: r.get(3)?,
            attempt_id: r.get(4)?,
        })
    })?
    .collect()
}
