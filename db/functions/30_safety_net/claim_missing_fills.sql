-- Owns no status change: hands out finished orders (finished in the last p_within_hours) whose
-- VALR-executed quantity — from the latest payload in raw->'valr' — exceeds the fills we hold, so
-- their trades are fetched again. Any worker may take them: a finished order's subaccount may have
-- no lease any more, and recording fills is idempotent. Claimed orders are not handed out again
-- within fills_check_seconds (fills_checked_at); once the fills are complete they drop out by themselves.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.claim_missing_fills(
    p_limit int DEFAULT 100,
    p_within_hours int DEFAULT 24,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, ext_order_id text,
               pair text, submitted_at timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH candidates AS (
        SELECT o.exchange_order_id
          FROM exchange_orders o
         WHERE o.status IN ('filled', 'cancelled')
           AND o.filled_qty < o.qty
           AND o.finished_at > p_now - make_interval(hours => p_within_hours)
           AND o.ext_order_id IS NOT NULL
           AND lth_pvr.valr_executed_qty(o.raw -> 'valr') > o.filled_qty
           AND (o.fills_checked_at IS NULL
                OR o.fills_checked_at < (SELECT p_now - make_interval(secs => lth_pvr.setting('fills_check_seconds'))))
         ORDER BY o.finished_at
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE exchange_orders o
       SET fills_checked_at = p_now
      FROM candidates c, exchange_accounts a
     WHERE o.exchange_order_id = c.exchange_order_id
       AND a.exchange_account_id = o.exchange_account_id
    RETURNING o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.ext_order_id, o.pair, o.submitted_at;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_missing_fills(int, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_missing_fills(int, int, timestamptz) TO valr_worker;
