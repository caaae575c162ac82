-- Webhook mode (issue 6): every verified delivery, kept once per `eventId` (the API reuses it
-- when it retries a delivery), committed before the receiver answers 2xx.
CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    event       TEXT NOT NULL,             -- call.in_progress | call.completed | call.no_answer | ...
    call_id     TEXT,
    attempt_id  INTEGER REFERENCES attempts (id), -- NULL: not a call this campaign knows (yet)
    effect      TEXT NOT NULL,             -- result | status | ignored
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL              -- the body as received (verified JSON)
) STRICT;
CREATE INDEX webhook_events_call ON webhook_events (call_id);
