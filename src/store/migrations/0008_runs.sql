-- The report (issue 21): one row per `run`, so a campaign's report can list its runs.
-- Instants follow the run's clock (simulated for a rehearsal), like every other instant here.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,             -- NULL: still going on, or stopped without a word (killed)
    after_attempt INTEGER NOT NULL,    -- the newest attempt's id when it started: its calls have larger ids
    options       TEXT NOT NULL,       -- the run's guard options, as given: "--canary 5 --reset-breaker"
    ending        TEXT,                -- store::runs::RunEnding
    detail        TEXT                 -- what the ending said: the breaker's count, the outage's errors, the cap
) STRICT;
