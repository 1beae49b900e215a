-- Facilitators' tools: calendar reminders can be muted per programme.
ALTER TABLE programme ADD COLUMN reminders_muted INTEGER NOT NULL DEFAULT 0;

-- A broadcast's text is what the facilitator typed; its progress is counted from the outbox.
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status);

-- A personal invite remembers who used it, so that /forget can blank the name and e-mail on it.
ALTER TABLE invite ADD COLUMN used_by INTEGER REFERENCES person(id) ON DELETE SET NULL;

-- Each journal message asks for the person's most recently changed reflection.
CREATE INDEX reflection_by_person_updated ON reflection (person_id, updated_at);

-- A digest reads each shared entry's messages, seals entries by set, and counts a set's members;
-- without these, each digest scans the whole journal (bench/digests.py: 150 ms a digest → 5 ms).
CREATE INDEX reflection_part_by_reflection ON reflection_part (reflection_id, created_at, message_id);
CREATE INDEX reflection_by_digest ON reflection (digest_id);
CREATE INDEX reflection_by_shared_set ON reflection (shared_set_id, digest_id);
CREATE INDEX membership_by_set ON membership (learning_set_id, role);
