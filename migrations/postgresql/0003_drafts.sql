-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0003_drafts.sql does on SQLite.
SELECT 1;
