-- Pitstop's first schema. Times are ISO-8601 text in UTC ("2027-01-18T08:00:00+00:00");
-- local dates of the calendar are kept as they were written, with the programme's zone.
-- Later migrations add columns and tables; this one is never edited after it lands.

-- A programme as loaded from its TOML file; the file's text is kept so that the domain can
-- re-read the calendar exactly as the facilitator wrote it.
CREATE TABLE programme (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    language    TEXT NOT NULL CHECK (language IN ('en', 'nl')),
    timezone    TEXT NOT NULL,
    source      TEXT NOT NULL,
    loaded_at   TEXT NOT NULL
);

CREATE TABLE module (
    id            INTEGER PRIMARY KEY,
    programme_id  INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    position      INTEGER NOT NULL,
    title         TEXT NOT NULL,
    theme         TEXT NOT NULL DEFAULT '',
    capacities    TEXT NOT NULL DEFAULT '',   -- comma-separated: cognitive,relational,…
    starts_on     TEXT NOT NULL,              -- local date
    ends_on       TEXT NOT NULL,              -- local date
    UNIQUE (programme_id, key)
);

-- Learning sets keep their id when a programme is reloaded, so that members stay members.
CREATE TABLE learning_set (
    id                  INTEGER PRIMARY KEY,
    programme_id        INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    key                 TEXT NOT NULL,
    name                TEXT NOT NULL,
    digest_days_before  INTEGER NOT NULL DEFAULT 2,
    empty_digest        TEXT NOT NULL DEFAULT 'note' CHECK (empty_digest IN ('note', 'skip')),
    group_chat_id       INTEGER,                 -- a linked Telegram group, if any
    active              INTEGER NOT NULL DEFAULT 1,
    UNIQUE (programme_id, key)
);

-- Events of modules and meetings of sets, rewritten whenever the programme is reloaded.
CREATE TABLE event (
    id               INTEGER PRIMARY KEY,
    programme_id     INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    module_key       TEXT NOT NULL DEFAULT '',
    learning_set_id  INTEGER REFERENCES learning_set(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    place            TEXT NOT NULL DEFAULT '',
    starts_at        TEXT NOT NULL,   -- UTC
    ends_at          TEXT NOT NULL    -- UTC
);
CREATE INDEX event_by_programme ON event (programme_id, starts_at);

-- A person known to the bot: a participant, a facilitator or both.
CREATE TABLE person (
    id               INTEGER PRIMARY KEY,
    telegram_id      INTEGER NOT NULL UNIQUE,
    chat_id          INTEGER NOT NULL,
    name             TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'nl')),
    timezone         TEXT NOT NULL DEFAULT 'Europe/Amsterdam',
    nudge_hour       INTEGER NOT NULL DEFAULT 9 CHECK (nudge_hour BETWEEN 0 AND 23),
    nudge_minute     INTEGER NOT NULL DEFAULT 0 CHECK (nudge_minute BETWEEN 0 AND 59),
    nudge_days       TEXT NOT NULL DEFAULT '0,1,2,3,4',   -- weekdays, Monday = 0
    paused_until     TEXT,                                 -- UTC; NULL = not paused
    status           TEXT NOT NULL DEFAULT 'onboarding'
                     CHECK (status IN ('onboarding', 'active', 'blocked')),
    onboarding_step  TEXT,                                 -- where onboarding resumes
    show_activity    INTEGER NOT NULL DEFAULT 0,           -- agreed to per-person stats
    awaiting         TEXT,                                 -- a typed answer the bot waits for: takeaway:<id>, case:<id>
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

-- Who is what in which programme; a participant belongs to at most one set per programme.
CREATE TABLE membership (
    id               INTEGER PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    programme_id     INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    learning_set_id  INTEGER REFERENCES learning_set(id) ON DELETE SET NULL,
    role             TEXT NOT NULL CHECK (role IN ('participant', 'facilitator')),
    joined_at        TEXT NOT NULL,
    UNIQUE (person_id, programme_id, role)
);

CREATE TABLE invite (
    id               INTEGER PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    programme_id     INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    learning_set_id  INTEGER REFERENCES learning_set(id) ON DELETE SET NULL,
    role             TEXT NOT NULL DEFAULT 'participant' CHECK (role IN ('participant', 'facilitator')),
    max_uses         INTEGER NOT NULL DEFAULT 1 CHECK (max_uses >= 1),
    uses             INTEGER NOT NULL DEFAULT 0,
    expires_at       TEXT NOT NULL,
    name             TEXT NOT NULL DEFAULT '',   -- for personal invites from an import
    language         TEXT,                       -- preset language for personal invites
    import_ref       TEXT UNIQUE,                -- makes re-imports idempotent
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);

-- The truth about what must be sent. Each row is one message to one chat at a due time.
CREATE TABLE outbox (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL
                         CHECK (kind IN ('prompt', 'follow_up', 'reminder', 'digest', 'broadcast', 'case_round', 'notice')),
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
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_by_person ON outbox (person_id, kind, status);

-- A reflection is one journal entry; it may be made of several messages (reflection_part).
CREATE TABLE reflection (
    id               INTEGER PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    outbox_id        INTEGER REFERENCES outbox(id) ON DELETE SET NULL,   -- the prompt it answers
    prompt_key       TEXT,
    programme_id     INTEGER REFERENCES programme(id) ON DELETE SET NULL,
    module_key       TEXT NOT NULL DEFAULT '',
    phase            TEXT NOT NULL DEFAULT '',
    capacity         TEXT NOT NULL DEFAULT '',
    is_intention     INTEGER NOT NULL DEFAULT 0,
    follows_up_id    INTEGER REFERENCES reflection(id) ON DELETE SET NULL,
    visibility       TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'takeaway')),
    takeaway         TEXT,
    shared_set_id    INTEGER REFERENCES learning_set(id) ON DELETE SET NULL,
    shared_at        TEXT,
    digest_id        INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX reflection_by_person ON reflection (person_id, created_at);

CREATE TABLE reflection_part (
    id             INTEGER PRIMARY KEY,
    reflection_id  INTEGER NOT NULL REFERENCES reflection(id) ON DELETE CASCADE,
    chat_id        INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'voice', 'photo')),
    text           TEXT NOT NULL DEFAULT '',
    file_id        TEXT,
    created_at     TEXT NOT NULL,
    edited_at      TEXT,
    UNIQUE (chat_id, message_id)   -- an update delivered twice stores nothing twice
);

CREATE TABLE digest (
    id               INTEGER PRIMARY KEY,
    learning_set_id  INTEGER NOT NULL REFERENCES learning_set(id) ON DELETE CASCADE,
    period_key       TEXT NOT NULL,             -- the meeting's start, or the ISO week of a weekly digest
    send_at          TEXT NOT NULL,
    meeting_starts   TEXT,
    meeting_place    TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'sealed', 'skipped')),
    sealed_at        TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (learning_set_id, period_key)
);

CREATE TABLE case_proposal (
    id               INTEGER PRIMARY KEY,
    learning_set_id  INTEGER NOT NULL REFERENCES learning_set(id) ON DELETE CASCADE,
    person_id        INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    digest_id        INTEGER NOT NULL REFERENCES digest(id) ON DELETE CASCADE,
    text             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (digest_id, person_id)
);

CREATE TABLE broadcast (
    id                   INTEGER PRIMARY KEY,
    programme_id         INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    learning_set_id      INTEGER REFERENCES learning_set(id) ON DELETE SET NULL,
    audience             TEXT NOT NULL,     -- programme | set | facilitators
    text                 TEXT NOT NULL,
    created_by           INTEGER REFERENCES person(id) ON DELETE SET NULL,
    status               TEXT NOT NULL DEFAULT 'draft',
    scheduled_at         TEXT,
    progress_chat_id     INTEGER,
    progress_message_id  INTEGER,
    created_at           TEXT NOT NULL,
    finished_at          TEXT
);

-- Who did what, for facilitators' and admins' actions. Never journal text.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,      -- a telegram id, or "cli"
    action        TEXT NOT NULL,
    programme_id  INTEGER REFERENCES programme(id) ON DELETE SET NULL,
    detail        TEXT NOT NULL DEFAULT ''
);
