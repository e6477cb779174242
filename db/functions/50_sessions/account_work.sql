-- Owns no transition: tells a worker what each subaccount it leases needs, so it knows which
-- WebSocket sessions to open (new or unwatched orders, cancels) and which to close (nothing open).
-- With p_exchange_account_id, only that subaccount (a session asks after each order it sees finish).
CREATE OR REPLACE FUNCTION lth_pvr.account_work(
    p_worker_id text,
    p_exchange_account_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (
    exchange_account_id uuid,
    subaccount_id       text,
    pending_orders      int,   -- waiting to be placed
    placing_orders      int,   -- claimed; placement outcome not yet recorded
    submitted_orders    int,   -- open on VALR
    unmonitored_orders  int,   -- placing/submitted with no WebSocket session watching yet
    cancels_requested   int    -- cancel owed now: requested, never sent or due again (cancel_is_due)
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
    SELECT l.exchange_account_id,
           a.subaccount_id,
           count(*) FILTER (WHERE o.status = 'pending')::int,
           count(*) FILTER (WHERE o.status = 'placing')::int,
           count(*) FILTER (WHERE o.status = 'submitted')::int,
           count(*) FILTER (WHERE o.status IN ('placing', 'submitted') AND o.ws_monitored_at IS NULL)::int,
           count(*) FILTER (WHERE o.cancel_requested_at IS NOT NULL AND o.status = 'submitted'
                              AND lth_pvr.cancel_is_due(o.cancel_sent_at, p_now))::int
      FROM subaccount_leases l
      JOIN exchange_accounts a ON a.exchange_account_id = l.exchange_account_id
      LEFT JOIN exchange_orders o
             ON o.exchange_account_id = l.exchange_account_id
            AND o.status IN ('pending', 'placing', 'submitted')
     WHERE l.worker_id = p_worker_id
       AND l.expires_at > p_now
       AND (p_exchange_account_id IS NULL OR l.exchange_account_id = p_exchange_account_id)
     GROUP BY l.exchange_account_id, a.subaccount_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.account_work(text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.account_work(text, uuid, timestamptz) TO valr_worker;
