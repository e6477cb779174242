-- Owns: VALR's balances of an account (BALANCE_UPDATE data, sent for every asset on connect and on
-- every change; items of GET /v1/account/balances), one row per currency: available, reserved
-- (held by open orders: a resting buy order moves funds from available to reserved, total unchanged —
-- never a withdrawal), total, VALR's updatedAt: each item as its row (ledger_balance_row; malformed
-- items skipped), written by write_balances (an older snapshot never overwrites a newer one). Returns
-- the rows written. Internal: record_balance_snapshot.
CREATE OR REPLACE FUNCTION lth_pvr.record_balances(
    p_exchange_account_id uuid,
    p_source text,
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
AS $$
BEGIN
    IF coalesce(jsonb_typeof(p_items), '') <> 'array' THEN
        RETURN 0;
    END IF;
    RETURN lth_pvr.write_balances(ARRAY(
        SELECT lth_pvr.ledger_balance_row(p_exchange_account_id, p_source, e.item, p_now)
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, n)
         ORDER BY e.n));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_balances(uuid, text, jsonb, timestamptz) FROM PUBLIC;
