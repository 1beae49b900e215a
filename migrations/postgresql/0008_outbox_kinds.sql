-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0008_outbox_kinds.sql does on SQLite.
SELECT 1;
