-- The first schema. Forward-only: a later change is a new file, never an edit of this one.
-- Instants are INTEGER milliseconds since the Unix epoch (UTC), so comparisons are numeric.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per row identity (key column value, or E.164 number) ever seen in the contacts CSV.
CREATE TABLE contacts (
    key         TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,          -- position in the CSV at the last import (1-based)
    line        INTEGER NOT NULL,          -- line of the CSV at the last import
    present     INTEGER NOT NULL,          -- 1 when in the CSV at the last import
    cells       TEXT NOT NULL,             -- JSON array of the row's cells, in header order
    fingerprint TEXT NOT NULL,             -- hash of `cells`, to tell edited rows apart
    phone       TEXT,                      -- E.164; NULL when the row has no usable number
    timezone    TEXT,
    state       TEXT NOT NULL,             -- state::ContactState
    reason      TEXT,                      -- why invalid / suppressed / unknown / refused
    outcome     TEXT,                      -- last terminal outcome (state::Outcome)
    calls       INTEGER NOT NULL DEFAULT 0,-- calls placed, or possibly placed
    due_at      INTEGER,                   -- pending: not before this instant
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_due ON contacts (state, due_at, seq);
CREATE INDEX contacts_phone ON contacts (phone, state);

-- Rows that have no identity of their own (duplicates, rows with a repeated or missing key,
-- unusable rows without a key): rebuilt at every import, never called, kept for the results.
CREATE TABLE skipped_rows (
    seq    INTEGER PRIMARY KEY,
    line   INTEGER NOT NULL,
    cells  TEXT NOT NULL,
    state  TEXT NOT NULL,                  -- invalid | duplicate
    reason TEXT NOT NULL
) STRICT;

-- One row per POST: committed as `placing` before the request is sent.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY,
    contact_key     TEXT NOT NULL REFERENCES contacts (key),
    state           TEXT NOT NULL,         -- state::AttemptState
    idempotency_key TEXT NOT NULL UNIQUE,
    request         TEXT NOT NULL,         -- the JSON body, exactly as sent
    created_at      INTEGER NOT NULL,
    call_id         TEXT UNIQUE,
    placed_at       INTEGER,
    status          TEXT,                  -- last status seen
    polls           INTEGER NOT NULL DEFAULT 0,
    next_poll_at    INTEGER,
    outcome         TEXT,
    record          TEXT,                  -- the final call record, JSON
    ended_at        INTEGER,
    finished_at     INTEGER,               -- when the result was committed here
    error           TEXT,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX attempts_state ON attempts (state);
CREATE INDEX attempts_contact ON attempts (contact_key);

-- Every step of every attempt: statuses seen, errors met, resolutions.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    attempt_id INTEGER NOT NULL REFERENCES attempts (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,              -- status | error | resolved
    detail     TEXT NOT NULL
) STRICT;
CREATE INDEX events_attempt ON events (attempt_id);
