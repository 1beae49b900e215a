-- Several bot processes on one PostgreSQL database (README: "Growing past one machine"). On SQLite one
-- process owns the file and these stay empty; they are here so that both engines have one schema.

-- Updates taken by a webhook process, so that any process handles them: once (update_id is Telegram's,
-- and a resend is the same row) and in order per chat. The body is the update as Telegram sent it, so it
-- may hold journal text: it is emptied once handled, never logged, and handled rows leave after a day.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,   -- the chat (or the user, or 0) whose updates go one at a time
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    handled_at   TEXT
);
CREATE INDEX inbox_waiting ON inbox (chat_id, update_id) WHERE handled_at IS NULL;

-- The process sending a claimed row (PostgreSQL: its lock connection's backend), so that a process
-- that starts or looks again puts back only the rows of processes that died.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- Telegram's limits for all processes together: each send's start and end, in seconds on the
-- database server's clock, kept for a minute.
CREATE TABLE send_log (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    started_at  REAL NOT NULL,
    ended_at    REAL
);
CREATE INDEX send_log_by_chat ON send_log (chat_id, started_at);
-- Until when every process holds its sends (Telegram answered 429 Too Many Requests).
CREATE TABLE send_pause (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    until  REAL NOT NULL
);
