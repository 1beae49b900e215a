-- The learning journey: the participant's own learning question, going deeper into a reflection,
-- and a pulse over time. All of it is private to its author unless they share it; all of it goes
-- with /forget (ON DELETE CASCADE from person) and is in /export.

-- The learning question (leervraag). Every version is kept with its date, so that a participant can
-- see how it changed; the newest is the current one.
CREATE TABLE learning_question (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    programme_id   INTEGER REFERENCES programme(id) ON DELETE SET NULL,
    text           TEXT NOT NULL,
    chat_id        INTEGER,            -- the typed message, so that an edit of it finds the version
    message_id     INTEGER,
    created_at     TEXT NOT NULL
);
CREATE INDEX learning_question_by_person ON learning_question (person_id, created_at);

-- Sharing the current question with one's set (it then opens the set's digest under one's name).
ALTER TABLE person ADD COLUMN question_shared_at TEXT;

-- Going deeper: up to three short questions after a reflection, along Korthagen's ALACT cycle.
-- One row per step; `answer` is NULL while its question is open. The step a person is at lives
-- here (and in person.awaiting), so a restart loses nothing.
CREATE TABLE deepening (
    id             INTEGER PRIMARY KEY,
    reflection_id  INTEGER NOT NULL REFERENCES reflection(id) ON DELETE CASCADE,
    person_id      INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    step           INTEGER NOT NULL CHECK (step BETWEEN 1 AND 4),
    phase          TEXT NOT NULL CHECK (phase IN ('looking_back', 'essential', 'alternatives', 'trial')),
    answer         TEXT,
    chat_id        INTEGER,
    message_id     INTEGER,
    asked_at       TEXT NOT NULL,
    answered_at    TEXT,
    UNIQUE (reflection_id, step)
);
CREATE INDEX deepening_by_person ON deepening (person_id, asked_at);

-- The pulse: four one-tap questions (1–5, one per capacity) at the start and the end of each module.
-- A skipped question is stored with score NULL, so it is not asked again.
CREATE TABLE pulse_answer (
    id               INTEGER PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    programme_id     INTEGER NOT NULL REFERENCES programme(id) ON DELETE CASCADE,
    learning_set_id  INTEGER REFERENCES learning_set(id) ON DELETE SET NULL,
    module_key       TEXT NOT NULL,
    moment           TEXT NOT NULL CHECK (moment IN ('start', 'end')),
    capacity         TEXT NOT NULL CHECK (capacity IN ('cognitive', 'relational', 'intervention', 'cross-boundary')),
    score            INTEGER CHECK (score BETWEEN 1 AND 5),
    answered_at      TEXT NOT NULL,
    UNIQUE (person_id, programme_id, module_key, moment, capacity)
);
CREATE INDEX pulse_by_set ON pulse_answer (learning_set_id, module_key, moment);
