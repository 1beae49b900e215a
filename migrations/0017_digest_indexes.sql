-- Two indexes for digests (bench/RESULTS.md, 2026-12-08, issue 15):
-- * reflection_by_digest held every reflection, the tens of thousands that no digest carries under NULL. A
--   digest's seal moves each entry it carries out of that NULL run, a page of it apiece, each page written
--   again at the commit. It is only ever read for `digest_id = ?`, which never matches NULL: it holds the
--   carried entries only now, and a seal adds to it without taking from it.
-- * outbox_to_members holds the rows to MEMBERS (chat 0: digests before they are expanded into their
--   copies). The claim of digests to expand looked for them among all the rows due (`outbox_due`), the
--   members' case rounds and nudges due at the same time included.
DROP INDEX reflection_by_digest;
CREATE INDEX reflection_by_digest ON reflection (digest_id) WHERE digest_id IS NOT NULL;
CREATE INDEX outbox_to_members ON outbox (status, kind, due_at) WHERE chat_id = 0;
