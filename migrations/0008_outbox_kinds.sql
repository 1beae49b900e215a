-- pitstop: rebuilds tables
-- The outbox learns the messages of the learning journey and of facilitators' insight: the pulse
-- (four one-tap questions), a participant's story (a document), the learning question asked again,
-- the facilitator's brief and the check-in with someone who fell quiet. A CHECK cannot be altered in
-- SQLite, so the table is rebuilt (the runner turns foreign keys off around this migration and checks
-- every reference before it commits); every row, id and index stays as it was.
CREATE TABLE outbox_new (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL
                         CHECK (kind IN ('prompt', 'follow_up', 'reminder', 'digest', 'broadcast', 'case_round', 'notice',
                                         'pulse', 'story', 'question', 'brief', 'checkin')),
    person_id            INTEGER REFERENCES person(id) ON DELETE CASCADE,
    chat_id              INTEGER NOT NULL,
    due_at               TEXT NOT NULL,     -- UTC
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled')),
    dedupe_key           TEXT NOT NULL UNIQUE,   -- one row per thing that must happen once
    payload              TEXT NOT NULL DEFAULT '{}',   -- JSON; never journal text in logs
    prompt_key           TEXT,              -- for prompts: chosen when sent
    module_key           TEXT,              -- the module it was sent in (no repeats within one)
    response             TEXT CHECK (response IN ('answered', 'skipped', 'later')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    telegram_message_id  INTEGER,
    claimed_at           TEXT,
    sent_at              TEXT,
    broadcast_id         INTEGER,
    digest_id            INTEGER,
    created_at           TEXT NOT NULL
);
INSERT INTO outbox_new (id, kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key, module_key,
                        response, attempts, last_error, telegram_message_id, claimed_at, sent_at, broadcast_id,
                        digest_id, created_at)
SELECT id, kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key, module_key,
       response, attempts, last_error, telegram_message_id, claimed_at, sent_at, broadcast_id,
       digest_id, created_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_by_person ON outbox (person_id, kind, status);
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status);
