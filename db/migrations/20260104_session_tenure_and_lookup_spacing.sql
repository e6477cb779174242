-- The database says when a subaccount wants a WebSocket session, when it may close, and when a lost
-- placement may be looked up again; a dead worker's rows are retired by SQL.
--
-- subaccount_leases.watch_ended_at: this worker's session of the subaccount was closed by
-- --max-session during the current tenure of the lease; open orders alone then open no new session
-- (the safety net covers them) until new work arrives. A new tenure (lease taken, renewed after it
-- expired, or a new process under the same worker id) clears it: the subaccount is recovered afresh.
ALTER TABLE lth_pvr.subaccount_leases ADD COLUMN watch_ended_at timestamptz;

-- Lost-placement lookups (by customerOrderId), spaced out per order like the other retries:
-- how many were handed out, and when the last one was.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN placement_lookups int NOT NULL DEFAULT 0,
    ADD COLUMN placement_looked_up_at timestamptz;

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('placement_lookup_first_seconds', 2,
     'a lost placement is looked up again this long after its first lookup, the wait doubling each time'),
    ('placement_lookup_max_seconds', 30,
     'the longest wait between two lookups of one lost placement'),
    ('worker_retire_seconds', 60,
     'a worker silent this long that holds no unexpired lease is retired: stopped, its open sessions closed');

-- Their result columns change (CREATE OR REPLACE cannot change a result type).
DROP FUNCTION IF EXISTS lth_pvr.account_work(text, uuid, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.acquire_leases(text, int, timestamptz);
