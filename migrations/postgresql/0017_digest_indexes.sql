-- PostgreSQL's form of 0017_digest_indexes.sql (see there): the same two indexes.
DROP INDEX reflection_by_digest;
CREATE INDEX reflection_by_digest ON reflection (digest_id) WHERE digest_id IS NOT NULL;
CREATE INDEX outbox_to_members ON outbox (status, kind, due_at) WHERE chat_id = 0;
