-- Operator-grade: a role for the people who run it, the worker's authentication state, and the
-- settings of the alerts added with them (db/functions/70_metrics/alerts.sql).
--
-- valr_operator: strategies and operators. Reads what valr_reader reads (it is a member) and the
-- tables behind the views (the README's troubleshooting SQL); inserts accounts and orders (the
-- insert rules still apply: only pending, or submitted with VALR's id); tunes lth_pvr.settings;
-- calls submit_order, request_poll and request_cancel (granted in each function's file). No
-- superuser, no UPDATE or DELETE on orders: the worker and the database move them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'valr_operator') THEN
        CREATE ROLE valr_operator NOLOGIN;
    END IF;
END
$$;

GRANT valr_reader TO valr_operator;
GRANT USAGE ON SCHEMA lth_pvr TO valr_operator;
-- Every table, now and created by later migrations (run by the same owner).
GRANT SELECT ON ALL TABLES IN SCHEMA lth_pvr TO valr_operator;
ALTER DEFAULT PRIVILEGES IN SCHEMA lth_pvr GRANT SELECT ON TABLES TO valr_operator;
GRANT INSERT ON lth_pvr.exchange_accounts, lth_pvr.exchange_orders TO valr_operator;
GRANT UPDATE (value) ON lth_pvr.settings TO valr_operator;

-- A worker whose API key VALR refused (401/403): it places nothing until the key is accepted again
-- (lth_pvr.record_auth_refused / record_auth_accepted); the auth_refused alert shows it.
ALTER TABLE lth_pvr.workers
    ADD COLUMN auth_refused_at     timestamptz,
    ADD COLUMN auth_refused_reason text;

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('placement_failures_per_hour_max', 3,
     'critical: placements VALR refused (placing -> failed) in the last hour above this'),
    ('safety_net_tick_minutes', 10,
     'the poll_orders cron interval; critical: no safety-net tick within twice this (pg_cron not running)'),
    ('unwatched_order_seconds', 120,
     'warning: open orders with no watching session and no poll due for longer than this')
ON CONFLICT (name) DO NOTHING;
