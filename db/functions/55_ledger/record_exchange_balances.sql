-- Owns: an account's balances as ccxt gives them (fetch_balance, watch_balance: the unified balance
-- structure — one object per currency code with `free`, `used`, `total`, beside `info`, `timestamp`,
-- `datetime` and the `free`/`used`/`total` maps) into `balances`: available = free, reserved = used
-- (held by open orders), total; a figure ccxt left null is derived from the other two; a currency
-- without two of them is skipped. updated_at is ccxt's `timestamp`, or p_now when the exchange gives
-- none (most do not): write_balances keeps the rule that an older snapshot never replaces a newer one.
-- A currency with its total only (Kraken's watch_balance) is not written; when that total differs
-- from the one held, the account's ledger sync is asked for (request_ledger_sync: fetch_balance).
-- p_source 'rest' (fetch_balance) or 'ws' (watch_balance). Returns the rows written. Called by the
-- worker for a ccxt account (its session's connect, each ledger sync, each watch_balance read).
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_balances(
    p_exchange_account_id uuid,
    p_source text,
    p_balance jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_at    jsonb;
    v_items jsonb;
    v_moved boolean;
BEGIN
    IF coalesce(jsonb_typeof(p_balance), '') <> 'object' THEN
        RETURN 0;
    END IF;
    v_at := coalesce(CASE WHEN lth_pvr.json_time(p_balance->'timestamp') IS NOT NULL THEN p_balance->'timestamp' END,
                     to_jsonb(p_now));
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'currency', b.code,
               'available', coalesce(b.free, b.total - b.used),
               'reserved', coalesce(b.used, b.total - b.free),
               'total', coalesce(b.total, b.free + b.used),
               'updatedAt', v_at)) FILTER (WHERE num_nonnulls(b.free, b.used, b.total) >= 2), '[]'),
           bool_or(num_nonnulls(b.free, b.used) = 0 AND b.total IS DISTINCT FROM h.total)
      INTO v_items, v_moved
      FROM (SELECT e.key AS code, lth_pvr.json_numeric(e.value->'free') AS free,
                   lth_pvr.json_numeric(e.value->'used') AS used, lth_pvr.json_numeric(e.value->'total') AS total
              FROM jsonb_each(p_balance) e
             WHERE e.key NOT IN ('info', 'timestamp', 'datetime', 'free', 'used', 'total', 'debt')
               AND jsonb_typeof(e.value) = 'object') b
      LEFT JOIN lth_pvr.balances h ON h.exchange_account_id = p_exchange_account_id AND h.currency = b.code;
    -- A read with totals only (Kraken's balances channel) cannot say what is free: a total that moved
    -- asks for the REST read (fetch_balance) that can.
    IF v_moved THEN
        PERFORM lth_pvr.request_ledger_sync(p_exchange_account_id, p_now);
    END IF;
    RETURN lth_pvr.record_balances(p_exchange_account_id, p_source, v_items, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_balances(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_balances(uuid, text, jsonb, timestamptz) TO valr_worker;
