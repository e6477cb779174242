-- Owns: why this worker no longer holds a subaccount's lease, asked when acquire_leases has dropped it
-- (the worker logs it as it closes that socket):
--   'taken'        another worker holds it now (it took its fair share, or took over once this
--                  worker's lease had expired);
--   'nothing_open' no open order left: acquire_leases drops those (unless sessions are persistent);
--   'handed_back'  orders open, handed back beyond this worker's fair share, not taken yet.
-- The state at the time of asking, not the lease's history: enough to tell an operator whether a
-- closed socket is routine or work moving between workers.
CREATE OR REPLACE FUNCTION lth_pvr.lease_ended_why(
    p_worker_id text,
    p_exchange_account_ids uuid[],
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_account_id uuid, why text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT a.id,
           CASE WHEN EXISTS (SELECT 1 FROM lth_pvr.live_leases(p_now) l
                              WHERE l.exchange_account_id = a.id AND l.worker_id <> p_worker_id)
                THEN 'taken'
                WHEN NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders o
                                  WHERE o.exchange_account_id = a.id AND lth_pvr.is_open(o.status))
                THEN 'nothing_open'
                ELSE 'handed_back'
           END
      FROM unnest(p_exchange_account_ids) AS a(id)
$$;

REVOKE ALL ON FUNCTION lth_pvr.lease_ended_why(text, uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.lease_ended_why(text, uuid[], timestamptz) TO valr_worker;
