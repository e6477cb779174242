-- Owns: when a leased subaccount wants a WebSocket session, and when its session may close — the
-- worker only opens and closes what this says. With p_exchange_account_id, only that subaccount
-- (a session asks after each order it sees finish, and on connect).
--   wants_session         new work (pending orders, placing/submitted orders no socket has watched
--                         yet, cancels to send), or open orders in a tenure of the lease (see
--                         acquire_leases) whose session was not ended by --max-session: a worker that
--                         has just taken, regained or restarted on a lease recovers its open orders.
--                         Always, for a worker with persistent_sessions (--max-session 0): every
--                         account's socket stays open, orders or not (deposits arrive live).
--   may_close             nothing pending, placing or submitted: the socket has nothing to watch
--                         (never with persistent_sessions).
--   reconcile_on_connect  submitted orders exist: events may have been missed while no socket
--                         watched, so one GET /v1/orders/open follows the connect.
-- The counts say why.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.account_work(
    p_worker_id text,
    p_exchange_account_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (
    exchange_account_id  uuid,
    subaccount_id        text,
    pending_orders       int,      -- waiting to be placed
    placing_orders       int,      -- claimed; placement outcome not yet recorded
    submitted_orders     int,      -- open on VALR
    unmonitored_orders   int,      -- placing/submitted with no WebSocket session watching yet
    cancels_requested    int,      -- cancel owed now: requested, never sent or due again (cancel_is_due)
    wants_session        boolean,
    may_close            boolean,
    reconcile_on_connect boolean
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT c.exchange_account_id, c.subaccount_id, c.pending, c.placing, c.submitted, c.unmonitored, c.cancels,
           c.pending + c.unmonitored + c.cancels > 0
               OR (c.placing + c.submitted > 0 AND c.watch_ended_at IS NULL) OR c.persistent,
           c.pending + c.placing + c.submitted = 0 AND NOT c.persistent,
           c.submitted > 0
      FROM (SELECT l.exchange_account_id,
                   a.subaccount_id,
                   l.watch_ended_at,
                   coalesce((SELECT w.persistent_sessions FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id),
                            false) AS persistent,
                   count(*) FILTER (WHERE o.status = 'pending')::int AS pending,
                   count(*) FILTER (WHERE o.status = 'placing')::int AS placing,
                   count(*) FILTER (WHERE o.status = 'submitted')::int AS submitted,
                   count(*) FILTER (WHERE o.status IN ('placing', 'submitted')
                                      AND o.ws_monitored_at IS NULL)::int AS unmonitored,
                   count(*) FILTER (WHERE o.cancel_requested_at IS NOT NULL AND o.status = 'submitted'
                                      AND lth_pvr.cancel_is_due(o.cancel_sent_at, p_now))::int AS cancels
              FROM lth_pvr.worker_leases(p_worker_id, p_now) l
              JOIN exchange_accounts a ON a.exchange_account_id = l.exchange_account_id
              LEFT JOIN exchange_orders o
                     ON o.exchange_account_id = l.exchange_account_id
                    AND lth_pvr.is_open(o.status)
             WHERE (p_exchange_account_id IS NULL OR l.exchange_account_id = p_exchange_account_id)
             GROUP BY l.exchange_account_id, a.subaccount_id, l.watch_ended_at) AS c;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.account_work(text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.account_work(text, uuid, timestamptz) TO valr_worker;
