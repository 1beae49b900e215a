-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0010_insight.sql does on SQLite.
SELECT 1;
