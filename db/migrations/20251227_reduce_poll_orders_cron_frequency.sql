-- The spec's migration (same file name): the safety net runs every 10 minutes, not every minute.
--
-- Here the job itself is created (upserted by name, on every run) by `valr-monitor migrate`,
-- which knows which database pg_cron lives in. This migration only fixes the schedule of any
-- job left over from the old 1-minute design, when pg_cron is in this database.
DO $$
BEGIN
    IF to_regclass('cron.job') IS NOT NULL THEN
        UPDATE cron.job
           SET schedule = '*/10 * * * *'
         WHERE jobname LIKE '%poll_orders%'
           AND schedule <> '*/10 * * * *';
    END IF;
END
$$;
