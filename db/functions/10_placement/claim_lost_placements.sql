-- Owns: when a lost placement (list_unresolved_placements, for the worker's leases) is looked up by
-- customerOrderId: at once the first time, then again placement_lookup_first_seconds after, the wait
-- doubling up to placement_lookup_max_seconds (2, 4, 8, 16, 30 s): the REST budget is shared with
-- placements, and the grace period is long. Orders in p_in_flight (their POST is still under way in
-- this worker) are not handed out. Stamps placement_lookups / placement_looked_up_at and returns
-- what the lookup needs (customer_order_id: what the order was sent as); nothing here changes an
-- order's status.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.claim_lost_placements(
    p_worker_id text,
    p_older_than_seconds int,
    p_in_flight uuid[] DEFAULT '{}',
    p_limit int DEFAULT 100,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, intent_id uuid,
               pair text, claimed_at timestamptz, claimed_by text, customer_order_id uuid)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT o.exchange_order_id
          FROM lth_pvr.list_unresolved_placements(p_older_than_seconds, p_worker_id, p_now) u
          JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = u.exchange_order_id
         WHERE o.exchange_order_id <> ALL (coalesce(p_in_flight, '{}'))
           AND (o.placement_looked_up_at IS NULL
                OR o.placement_looked_up_at <= p_now - make_interval(secs => least(
                       lth_pvr.setting('placement_lookup_max_seconds'),
                       lth_pvr.setting('placement_lookup_first_seconds') * 2 ^ greatest(o.placement_lookups - 1, 0))))
         ORDER BY o.claimed_at, o.exchange_order_id
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE lth_pvr.exchange_orders o
       SET placement_lookups = o.placement_lookups + 1, placement_looked_up_at = p_now
      FROM due, lth_pvr.exchange_accounts a
     WHERE o.exchange_order_id = due.exchange_order_id
       AND a.exchange_account_id = o.exchange_account_id
    RETURNING o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.intent_id, o.pair,
              o.claimed_at, o.claimed_by, o.customer_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_lost_placements(text, int, uuid[], int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_lost_placements(text, int, uuid[], int, timestamptz) TO valr_worker;
