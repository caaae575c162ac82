//! Helpers shared by the store's unit tests: a state file with contacts imported, and a look
//! at (or a shortcut into) a contact's row.

use jiff::Timestamp;
use rusqlite::params;

use super::{Store, millis};
use crate::campaign::testing;

pub(super) fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(super) fn store(dir: &std::path::Path, csv: &str) -> Store {
    let campaign = testing::campaign(dir, "  key_column: id\n", "", csv);
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    crate::scan::import(&mut store, &campaign, t("2026-12-07T17:00:00Z")).unwrap();
    store
}

pub(super) fn set(store: &Store, key: &str, state: &str, due: Option<&str>) {
    store
        .conn
        .execute(
            "UPDATE contacts SET state = ?2, due_at = ?3 WHERE key = ?1",
            params![key, state, due.map(|d| millis(t(d)))],
        )
        .unwrap();
}

pub(super) fn next(store: &Store, now: &str) -> Option<String> {
    store.next_due(t(now)).unwrap().map(|d| d.key)
}

pub(super) fn wait_of(store: &Store, key: &str) -> (String, Option<String>) {
    store
        .conn
        .query_row(
            "SELECT state, wait FROM contacts WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// Begins an attempt for `key` (request `{}`), as the runner commits one before its POST.
pub(super) fn begin(store: &mut Store, key: &str, idempotency_key: &str, now: Timestamp) -> i64 {
    store
        .begin_attempt(key, idempotency_key, "{}", None, now, now)
        .unwrap()
        .unwrap()
}
