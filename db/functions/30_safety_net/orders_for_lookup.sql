-- Owns no transition: what the worker needs to look orders up over REST, and whether each order's
-- fills are incomplete — VALR's executed quantity (originalQuantity minus the remaining quantity,
-- from the latest payload in raw->'valr') exceeds the fills we hold. A lost NEW_ACCOUNT_TRADE is
-- found this way and fetched from the trade history: a fill is never lost.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.orders_for_lookup(
    p_exchange_order_ids uuid[]
) RETURNS TABLE (
    exchange_order_id   uuid,
    exchange_account_id uuid,
    subaccount_id       text,
    ext_order_id        text,
    intent_id           uuid,
    pair                text,
    status              text,
    submitted_at        timestamptz,
    fills_missing       boolean
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.ext_order_id, o.intent_id,
           o.pair, o.status, o.submitted_at,
           coalesce(lth_pvr.valr_executed_qty(o.raw -> 'valr') > o.filled_qty, false)
      FROM exchange_orders o
      JOIN exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
     WHERE o.exchange_order_id = ANY (p_exchange_order_ids)
       AND o.ext_order_id IS NOT NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.orders_for_lookup(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.orders_for_lookup(uuid[]) TO valr_worker;
