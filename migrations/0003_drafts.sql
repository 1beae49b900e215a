-- Typed text that waits for its author's confirmation before it is shared (a takeaway, a case).
-- Nothing is shared until the author has seen exactly what will be shared and pressed to confirm;
-- declining keeps the text privately in the journal. A draft is gone once answered, and with its author.
CREATE TABLE draft (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('takeaway', 'case')),
    target_id      INTEGER NOT NULL,   -- the reflection (takeaway) or the digest (case) it is for
    origin_message INTEGER,            -- the bot message whose share buttons show the choice
    chat_id        INTEGER NOT NULL,   -- the person's typed message, so that declining keeps it as a journal part
    message_id     INTEGER NOT NULL,
    text           TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX draft_by_person ON draft (person_id);
