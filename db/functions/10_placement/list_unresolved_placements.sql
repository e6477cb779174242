-- Owns: reporting `placing` orders whose placement outcome is unknown, of accounts leased by the
-- worker when given: the request left over N seconds ago and no answer was recorded (the answer was
-- lost). The worker looks each up by its customerOrderId (customer_order_id) and reports through
-- record_placement_not_found / record_order_update; nothing here changes state. A claim whose request
-- never left needs no lookup: requeue_unsent_placements places it again.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.list_unresolved_placements(
    p_older_than_seconds int DEFAULT 10,
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, intent_id uuid,
               pair text, claimed_at timestamptz, claimed_by text, customer_order_id uuid)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.intent_id, o.pair,
           o.claimed_at, o.claimed_by, o.customer_order_id
      FROM lth_pvr.exchange_orders o
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
     WHERE o.status = 'placing'
       AND o.placement_sent_at < p_now - make_interval(secs => p_older_than_seconds)
       AND (p_worker_id IS NULL OR o.exchange_account_id IN (
               SELECT l.exchange_account_id FROM lth_pvr.worker_leases(p_worker_id, p_now) l))
     ORDER BY o.claimed_at, o.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.list_unresolved_placements(int, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.list_unresolved_placements(int, text, timestamptz) TO valr_worker;
