-- Owns: VALR's answer to GET /v1/account/balances for one account, recorded through record_balances
-- (an older snapshot never overwrites a newer one). Returns the rows written.
CREATE OR REPLACE FUNCTION lth_pvr.record_balance_snapshot(
    p_exchange_account_id uuid,
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    RETURN lth_pvr.record_balances(p_exchange_account_id, 'rest', p_items, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_balance_snapshot(uuid, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_balance_snapshot(uuid, jsonb, timestamptz) TO valr_worker;
