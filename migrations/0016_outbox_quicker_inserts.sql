-- pitstop: rebuilds tables
-- Planning a week of nudges inserts tens of thousands of outbox rows, and SQLite (3.40, as Python ships
-- it) spent two thirds of each insert on the three CHECKs: for `x IN ('a', 'b', …)` it builds a small
-- temporary b-tree of the list for every row it checks. The same CHECKs written as `x = 'a' OR x = 'b' …`
-- mean the same (NULL passes as before) and cost next to nothing (bench/RESULTS.md, 2026-12-03). A CHECK
-- cannot be altered in SQLite, so the table is rebuilt as in 0008: every row, id, column and index stays,
-- except that outbox_by_broadcast now holds only the rows of a broadcast (`broadcast_id = ?`, the only
-- way it is read, never matches the others), so that a nudge is not written into it for nothing.
CREATE TABLE outbox_new (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL
                         CHECK (kind = 'prompt' OR kind = 'follow_up' OR kind = 'reminder' OR kind = 'digest'
                                OR kind = 'broadcast' OR kind = 'case_round' OR kind = 'notice' OR kind = 'pulse'
                                OR kind = 'story' OR kind = 'question' OR kind = 'brief' OR kind = 'checkin'),
    person_id            INTEGER REFERENCES person(id) ON DELETE CASCADE,
    chat_id              INTEGER NOT NULL,
    due_at               TEXT NOT NULL,     -- UTC
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status = 'pending' OR status = 'sending' OR status = 'sent' OR status = 'failed'
                                OR status = 'blocked' OR status = 'cancelled'),
    dedupe_key           TEXT NOT NULL UNIQUE,   -- one row per thing that must happen once
    payload              TEXT NOT NULL DEFAULT '{}',   -- JSON; never journal text in logs
    prompt_key           TEXT,              -- for prompts: chosen when sent
    module_key           TEXT,              -- the module it was sent in (no repeats within one)
    response             TEXT CHECK (response = 'answered' OR response = 'skipped' OR response = 'later'),
    attempts             INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    telegram_message_id  INTEGER,
    claimed_at           TEXT,
    sent_at              TEXT,
    broadcast_id         INTEGER,
    digest_id            INTEGER,
    created_at           TEXT NOT NULL,
    claimed_by           TEXT               -- 0015: the process sending a claimed row (PostgreSQL)
);
INSERT INTO outbox_new (id, kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key, module_key,
                        response, attempts, last_error, telegram_message_id, claimed_at, sent_at, broadcast_id,
                        digest_id, created_at, claimed_by)
SELECT id, kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key, module_key,
       response, attempts, last_error, telegram_message_id, claimed_at, sent_at, broadcast_id,
       digest_id, created_at, claimed_by
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_by_person ON outbox (person_id, kind, status);
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
