-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0002_facilitators.sql does on SQLite.
SELECT 1;
