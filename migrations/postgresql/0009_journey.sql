-- Nothing to do on PostgreSQL: 0001_init.sql there already holds what 0009_journey.sql does on SQLite.
SELECT 1;
