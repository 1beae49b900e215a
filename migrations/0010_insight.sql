-- What facilitators and researchers need, never what is private.

-- A reflection (or one line of it) shared with the set's facilitators only — never with the set.
ALTER TABLE reflection ADD COLUMN for_facilitators_at TEXT;
ALTER TABLE reflection ADD COLUMN facilitator_line TEXT;      -- NULL: the whole reflection

-- Someone who fell quiet is asked once, kindly; they may choose fewer prompts.
ALTER TABLE person ADD COLUMN quiet_asked_at TEXT;
ALTER TABLE person ADD COLUMN prompt_every INTEGER NOT NULL DEFAULT 1;   -- days: 1 daily, 2 every other day, 7 weekly

-- Consent to the research partnership's trend study (off by default, revocable): when given.
ALTER TABLE person ADD COLUMN research_consent_at TEXT;
