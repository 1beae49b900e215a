-- Facilitators' tools: calendar reminders can be muted per programme.
ALTER TABLE programme ADD COLUMN reminders_muted INTEGER NOT NULL DEFAULT 0;

-- A broadcast's text is what the facilitator typed; its progress is counted from the outbox.
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status);
