-- Owns: VALR's answer to GET /v1/account/balances/all (every account of the primary's family, grouped
-- `{account: {id, label}, balances: [...]}`, the primary as id "0"; VALR lists non-zero balances only):
-- each group recorded for the account it names through record_balances (an older snapshot never
-- overwrites a newer one). Groups of accounts we do not hold are skipped.
-- Because VALR leaves zero balances out, a balance we hold that the answer does not list for its
-- account (or an account the answer does not list at all) is zero now — a withdrawal of everything must
-- not leave the old amount showing. It is zeroed only when p_asked_at (when the request was sent) is
-- given and only if our row is older than ledger_window_end(p_asked_at): a BALANCE_UPDATE stamped after
-- VALR answered stays, and the margin for VALR's clock keeps a wrong zero from being stamped newer than
-- the update that corrects it. Returns the rows written (zeroed rows included).
CREATE OR REPLACE FUNCTION lth_pvr.record_balances_all(
    p_items jsonb,
    p_now timestamptz DEFAULT now(),
    p_asked_at timestamptz DEFAULT NULL
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_listed int;
    v_zeroed int := 0;
    v_as_of timestamptz := lth_pvr.ledger_window_end(p_asked_at);
BEGIN
    IF jsonb_typeof(p_items) <> 'array' THEN
        RETURN 0;
    END IF;
    WITH answer AS (
        SELECT a.exchange_account_id, e.item->'balances' AS balances
          FROM jsonb_array_elements(p_items) e(item)
          JOIN lth_pvr.exchange_accounts a
            ON lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
           AND a.subaccount_id = CASE lth_pvr.json_text(e.item->'account'->'id')
                                     WHEN '0' THEN '' ELSE lth_pvr.json_text(e.item->'account'->'id') END
    )
    SELECT coalesce(sum(lth_pvr.record_balances(exchange_account_id, 'rest', balances, p_now)), 0)
      INTO v_listed
      FROM answer;
    IF p_asked_at IS NOT NULL THEN
        UPDATE lth_pvr.balances b
           SET available = 0, reserved = 0, total = 0, updated_at = v_as_of, recorded_at = p_now,
               source = 'rest', raw = jsonb_build_object('absentFrom', 'GET /v1/account/balances/all')
         WHERE b.updated_at < v_as_of
           AND b.total <> 0
           -- VALR's answer covers the default key's accounts only: another's balances are not zeroed.
           AND EXISTS (SELECT 1 FROM lth_pvr.exchange_accounts a
                        WHERE a.exchange_account_id = b.exchange_account_id AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref))
           AND NOT EXISTS (
                SELECT 1
                  FROM jsonb_array_elements(p_items) e(item),
                       jsonb_array_elements(CASE jsonb_typeof(e.item->'balances')
                                                WHEN 'array' THEN e.item->'balances' ELSE '[]' END) i(bal),
                       lth_pvr.exchange_accounts a
                 WHERE a.exchange_account_id = b.exchange_account_id AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
                   AND a.subaccount_id = CASE lth_pvr.json_text(e.item->'account'->'id')
                                             WHEN '0' THEN '' ELSE lth_pvr.json_text(e.item->'account'->'id') END
                   AND lth_pvr.ledger_currency(i.bal->'currency') = b.currency);
        GET DIAGNOSTICS v_zeroed = ROW_COUNT;
    END IF;
    RETURN v_listed + v_zeroed;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_balances_all(jsonb, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_balances_all(jsonb, timestamptz, timestamptz) TO valr_worker;
