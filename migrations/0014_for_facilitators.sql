-- pitstop: rebuilds tables
-- A share for the facilitators only is confirmed like a takeaway: a typed line is kept as a draft, quoted
-- back to its author, and shared only after *Yes*. A CHECK cannot be altered in SQLite, so the draft
-- table is rebuilt with the new kind; every row, id and index stays as it was.
CREATE TABLE draft_new (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('takeaway', 'case', 'facilitator')),
    target_id      INTEGER NOT NULL,   -- the reflection (takeaway, facilitator) or the digest (case) it is for
    origin_message INTEGER,            -- the bot message whose share buttons show the choice
    chat_id        INTEGER NOT NULL,   -- the person's typed message, so that declining keeps it as a journal part
    message_id     INTEGER NOT NULL,
    text           TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
INSERT INTO draft_new (id, person_id, kind, target_id, origin_message, chat_id, message_id, text, created_at)
SELECT id, person_id, kind, target_id, origin_message, chat_id, message_id, text, created_at FROM draft;
DROP TABLE draft;
ALTER TABLE draft_new RENAME TO draft;
CREATE INDEX draft_by_person ON draft (person_id);

-- The set whose facilitators a reflection was shared with (reflection.for_facilitators_at): fixed when it
-- is shared, so that a member who moves to another set never brings it to that set's facilitators.
ALTER TABLE reflection ADD COLUMN facilitator_set_id INTEGER REFERENCES learning_set(id) ON DELETE SET NULL;
-- The brief that carried it (its meeting, as "<set id>:<meeting start in UTC>"): fixed when the first
-- facilitator's brief for that meeting is composed; until then the author may undo the share.
ALTER TABLE reflection ADD COLUMN facilitator_brief TEXT;
CREATE INDEX reflection_by_facilitator_set ON reflection (facilitator_set_id, for_facilitators_at);
