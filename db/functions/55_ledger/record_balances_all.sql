-- Owns: VALR's answer to GET /v1/account/balances/all (every account of the primary's family, grouped
-- `{account: {id, label}, balances: [...]}`, the primary as id "0"; VALR lists non-zero balances only,
-- as the per-account read does by default): each group recorded for the account it names through
-- record_balances (an older snapshot never overwrites a newer one). Groups of accounts we do not hold
-- are skipped. Returns the rows written.
CREATE OR REPLACE FUNCTION lth_pvr.record_balances_all(
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(p_items) <> 'array' THEN
        RETURN 0;
    END IF;
    RETURN coalesce(sum(lth_pvr.record_balances(a.exchange_account_id, 'rest', e.item->'balances', p_now)), 0)
      FROM jsonb_array_elements(p_items) e(item)
      JOIN lth_pvr.exchange_accounts a
        ON a.subaccount_id = CASE lth_pvr.json_text(e.item->'account'->'id')
                                 WHEN '0' THEN '' ELSE lth_pvr.json_text(e.item->'account'->'id') END;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_balances_all(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_balances_all(jsonb, timestamptz) TO valr_worker;
