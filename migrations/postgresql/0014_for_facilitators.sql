-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0014_for_facilitators.sql does on SQLite.
SELECT 1;
