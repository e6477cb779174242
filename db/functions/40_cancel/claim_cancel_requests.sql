-- Owns: handing out the cancels owed (request_cancel) of submitted orders of accounts leased by the
-- worker: never sent, or last sent over cancel_retry_seconds ago and still open — a DELETE that
-- failed (no answer, 429, 5xx, FAILED_CANCEL_ORDER) or whose outcome never came is sent again,
-- until VALR's word makes the order terminal. Stamps cancel_sent_at (the attempt) and counts
-- cancel_attempts. The status changes only when VALR says so (an update or a poll).
-- p_exchange_order_ids: only these orders (hand_over_cancels: the cancels a trigger just fired).
-- PL/pgSQL, not SQL: its plan is kept across calls (every tick asks, and every price read that fires).
CREATE OR REPLACE FUNCTION lth_pvr.claim_cancel_requests(
    p_worker_id text,
    p_exchange_order_ids uuid[] DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, ext_order_id text, pair text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH candidates AS (
        SELECT o.exchange_order_id
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.worker_leases(p_worker_id, p_now) l
            ON l.exchange_account_id = o.exchange_account_id
         WHERE o.cancel_requested_at IS NOT NULL
           AND o.status = 'submitted'
           AND lth_pvr.cancel_is_due(o.cancel_sent_at, p_now)
           AND (p_exchange_order_ids IS NULL OR o.exchange_order_id = ANY (p_exchange_order_ids))
         ORDER BY o.cancel_requested_at, o.exchange_order_id
           FOR UPDATE OF o SKIP LOCKED
    ), claimed AS (
        UPDATE lth_pvr.exchange_orders o
           SET cancel_sent_at = p_now, cancel_attempts = o.cancel_attempts + 1
          FROM candidates c
         WHERE o.exchange_order_id = c.exchange_order_id
        RETURNING o.*
    )
    SELECT c.exchange_order_id, c.exchange_account_id, a.subaccount_id, c.ext_order_id, c.pair
      FROM claimed c
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = c.exchange_account_id
     ORDER BY c.cancel_requested_at, c.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_cancel_requests(text, uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_cancel_requests(text, uuid[], timestamptz) TO valr_worker;
