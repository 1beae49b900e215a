-- PostgreSQL's form of 0016_outbox_quicker_inserts.sql (see there). PostgreSQL checks `x IN (…)` cheaply,
-- so the CHECKs stay as they are; outbox_by_broadcast holds only the rows of a broadcast, as on SQLite.
DROP INDEX outbox_by_broadcast;
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
