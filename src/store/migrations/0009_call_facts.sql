-- The report (issue 21): the few values of each finished call that the report counts, kept
-- beside its record by triggers. A record is a kilobyte or more (summary, transcript) and its
-- request sits beside it: reading a million of them took the report past its budget, where
-- this table is a few dozen bytes a call. The triggers run in the writer's transaction, so the
-- copy never disagrees with the record; they read a record only when it is JSON (every record
-- stored is), so they can never make a runner's write fail.
CREATE TABLE call_facts (
    attempt_id  INTEGER PRIMARY KEY REFERENCES attempts (id),
    contact_key TEXT NOT NULL,
    nth         INTEGER NOT NULL,          -- the contact's how-manieth call (1 for its first)
    result      TEXT NOT NULL,             -- its outcome (api::Outcome)
    at          INTEGER NOT NULL,          -- when it was placed
    secs        REAL,                      -- the record's durationSec
    extracted   TEXT,                      -- the record's extracted object, JSON
    zone        TEXT,                      -- the contact's IANA zone when it was called
    ended       INTEGER                    -- when its result was recorded (finished_at)
) STRICT;

-- The facts of every attempt with a record, as the triggers and the backfill below copy them.
CREATE VIEW call_facts_of AS
SELECT a.id AS attempt_id, a.contact_key AS contact_key,
       (SELECT COUNT(*) FROM attempts p WHERE p.contact_key = a.contact_key AND p.id <= a.id
            AND p.state IN ('placed', 'finished', 'unknown')) AS nth,
       COALESCE(a.outcome, a.state) AS result, COALESCE(a.placed_at, a.created_at) AS at,
       CASE WHEN json_type(a.record, '$.durationSec') IN ('integer', 'real')
            THEN json_extract(a.record, '$.durationSec') END AS secs,
       CASE WHEN json_type(a.record, '$.extracted') = 'object'
            THEN json_extract(a.record, '$.extracted') END AS extracted,
       (SELECT c.timezone FROM contacts c WHERE c.key = a.contact_key) AS zone,
       a.finished_at AS ended
FROM attempts a
WHERE a.record IS NOT NULL AND json_valid(a.record);

INSERT INTO call_facts SELECT * FROM call_facts_of;

CREATE TRIGGER call_facts_insert AFTER INSERT ON attempts
WHEN NEW.record IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO call_facts SELECT * FROM call_facts_of WHERE attempt_id = NEW.id;
END;

CREATE TRIGGER call_facts_update AFTER UPDATE OF record, state, outcome ON attempts
WHEN NEW.record IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO call_facts SELECT * FROM call_facts_of WHERE attempt_id = NEW.id;
END;
