-- Owns: pending -> placing. Oldest first, FOR UPDATE SKIP LOCKED (two claimers never get one order),
-- only accounts leased (unexpired) by this worker, and only those in p_exchange_account_ids when
-- given; nothing for a worker whose API key VALR refused (workers.auth_refused_at), nor while VALR
-- refuses its timestamps (workers.clock_refused_at, record_clock_check: orders stay pending, never
-- failed, and are claimed once a check finds the clock good again). The caller
-- commits BEFORE any request leaves: `placing` marks that a POST may have reached VALR, so the order
-- goes back to pending only on VALR's word that it accepted nothing (record_auth_refused).
-- order_type says which VALR endpoint places it (limit: POST /v1/orders/limit with price; market:
-- POST /v1/orders/market with baseAmount = qty); customer_order_id is sent as customerOrderId.
-- placement_attempts: the attempts earlier claims sent (an order placed again, place_again): this
-- claim's first is begin_placement, its retries retry_placement(placement_attempts + 2, …).
-- p_exchange_order_ids: only these orders (hand_over_replacements claims a fallback's replacement in
-- the transaction that created it); NULL: any pending order of the leased accounts.
-- plpgsql: the status permit (allow_status_change) is turned on for the UPDATE only.
CREATE OR REPLACE FUNCTION lth_pvr.claim_pending_orders(
    p_worker_id text,
    p_exchange_account_ids uuid[] DEFAULT NULL,
    p_limit int DEFAULT 100,
    p_exchange_order_ids uuid[] DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, intent_id uuid,
               pair text, side text, price numeric, qty numeric, post_only boolean, time_in_force text,
               order_type text, customer_order_id uuid, placement_attempts int)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- The worker's row, shared-locked until this claim commits: a refusal (record_auth_refused,
    -- record_clock_check) updates that row, so it waits for this claim and then sends back what it
    -- claimed; a refusal committed first is seen by the claim below (a new statement, a new snapshot).
    -- Without it a claim racing the refusal commits `placing` orders nothing will send until the grace.
    PERFORM 1 FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id FOR SHARE;
    PERFORM lth_pvr.allow_status_change('claim_pending_orders');
    RETURN QUERY
    WITH candidates AS (
        SELECT o.exchange_order_id
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.worker_leases(p_worker_id, p_now) l
            ON l.exchange_account_id = o.exchange_account_id
         WHERE o.status = 'pending'
           AND NOT EXISTS (SELECT 1 FROM lth_pvr.workers w
                            WHERE w.worker_id = p_worker_id
                              AND (w.auth_refused_at IS NOT NULL OR w.clock_refused_at IS NOT NULL))
           AND (p_exchange_account_ids IS NULL OR o.exchange_account_id = ANY (p_exchange_account_ids))
           AND (p_exchange_order_ids IS NULL OR o.exchange_order_id = ANY (p_exchange_order_ids))
         ORDER BY o.created_at, o.exchange_order_id
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED
    ), claimed AS (
        UPDATE lth_pvr.exchange_orders o
           SET status = 'placing', claimed_at = p_now, claimed_by = p_worker_id, updated_at = p_now
          FROM candidates c
         WHERE o.exchange_order_id = c.exchange_order_id
        RETURNING o.*
    ), logged AS (
        INSERT INTO lth_pvr.order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                          old_status, new_status, received_at, detail)
        SELECT c.exchange_order_id, c.exchange_account_id, 'system', 'claim', 'applied',
               'pending', 'placing', p_now, 'claimed by ' || left(p_worker_id, 200)
          FROM claimed c
    )
    SELECT c.exchange_order_id, c.exchange_account_id, a.subaccount_id, c.intent_id, c.pair, c.side,
           c.price, c.qty, c.post_only, c.time_in_force, c.order_type, c.customer_order_id,
           c.placement_attempts
      FROM claimed c
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = c.exchange_account_id
     ORDER BY c.created_at, c.exchange_order_id;
    PERFORM lth_pvr.allow_status_change(NULL);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_pending_orders(text, uuid[], int, uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_pending_orders(text, uuid[], int, uuid[], timestamptz) TO valr_worker;
