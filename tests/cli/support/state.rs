//! A state file as a run would leave it, for `status` and `export` tests: the contacts imported
//! by the real [`Store::import`], then attempts, events and contact states written with SQL the
//! way the runner writes them (the runner itself is not needed to read them back).

use std::path::{Path, PathBuf};

use bys_campaign::campaign::Campaign;
use bys_campaign::store::Store;
use rusqlite::{Connection, params};

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

/// Imports the contacts of `dir/campaign.yaml` into its default state file, then plays a run:
/// 1 completed (second call), 2 unknown, 4 pending after a transient error, 5 no answer and
/// done, 6 refused by the API, 7 on its first call right now (in flight). Returns the state path.
pub fn midway(dir: &Path) -> PathBuf {
    let campaign = Campaign::load(&dir.join("campaign.yaml")).expect("campaign loads");
    let path = campaign.default_state_path();
    let mut store = Store::open(&path).unwrap();
    store.claim_campaign(&campaign.name).unwrap();
    store
        .import(&campaign, "2026-12-07T17:00:00Z".parse().unwrap())
        .unwrap();
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let attempt = |key: &str,
                   state: &str,
                   call: Option<&str>,
                   record: Option<&str>,
                   error: Option<&str>,
                   at: &str| {
        conn.execute(
            "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at,
                call_id, polls, record, error, updated_at)
             VALUES (?1, ?2, lower(hex(randomblob(16))), '{}', ?3, ?4, 2, ?5, ?6, ?3)",
            params![key, state, ms(at), call, record, error],
        )
        .unwrap();
        conn.last_insert_rowid()
    };
    let contact = |key: &str,
                   state: &str,
                   outcome: Option<&str>,
                   calls: i64,
                   reason: Option<&str>,
                   due: Option<&str>| {
        conn.execute(
            "UPDATE contacts SET state = ?2, outcome = ?3, calls = ?4, reason = ?5, due_at = ?6
             WHERE key = ?1",
            params![key, state, outcome, calls, reason, due.map(ms)],
        )
        .unwrap();
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

/// What a run of an earlier version left for a lost answer the list could not settle: the
/// contact `key` unknown, its attempt `unknown` without a call id (nor anchor), made now with
/// `request`. The contact must be imported already.
pub fn unknown_lost_attempt(state: &Path, key: &str, request: &str) {
    let db = Connection::open(state).expect("state file opens");
    let now = jiff::Timestamp::now().as_millisecond();
    let changed = db
        .execute(
            "UPDATE contacts SET state = 'unknown', calls = 1, due_at = ?2, updated_at = ?2,
                reason = 'a call may have been placed: the API''s list of recent calls does not reach back far enough to tell'
             WHERE key = ?1",
            params![key, now],
        )
        .unwrap();
    assert_eq!(changed, 1, "contact {key} is imported");
    db.execute(
        "INSERT INTO attempts (contact_key, state, idempotency_key, request, created_at, updated_at, error)
         VALUES (?1, 'unknown', 'lost-earlier', ?2, ?3, ?3, 'a call may have been placed')",
        params![key, request, now],
    )
    .unwrap();
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
