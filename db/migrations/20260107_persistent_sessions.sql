-- `valr-monitor run --max-session 0` keeps every account's socket open, with or without open orders
-- (issue 23: deposits arrive live on the account socket). The worker says so at start
-- (record_persistent_sessions); acquire_leases then leases every account and account_work wants a
-- session for each and never lets one close.
ALTER TABLE lth_pvr.workers ADD COLUMN persistent_sessions boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN lth_pvr.workers.persistent_sessions IS
    'the worker runs with --max-session 0: it leases every account and keeps each one''s socket open, '
    'with or without open orders (deposits arrive live); false: sockets only while orders are open';
