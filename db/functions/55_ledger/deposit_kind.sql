-- Owns: which transactions are deposits, and of which kind: 'fiat' (a fiat_deposit type), 'crypto'
-- (crypto_deposit: BLOCKCHAIN_RECEIVE), 'internal' (a transfer crediting the account: from another
-- subaccount of its primary account); NULL for everything else (a transfer out is a debit, never a
-- withdrawal nor a deposit). Shared by record_transactions (the NOTIFY) and v_deposits (readers run
-- it: SECURITY DEFINER, it reads transaction_types).
CREATE OR REPLACE FUNCTION lth_pvr.deposit_kind(p_transaction_type text, p_credit_value numeric, p_debit_value numeric)
RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT CASE t.category
               WHEN 'fiat_deposit' THEN 'fiat'
               WHEN 'crypto_deposit' THEN 'crypto'
               WHEN 'transfer' THEN CASE WHEN coalesce(p_credit_value, 0) > 0 AND coalesce(p_debit_value, 0) = 0
                                         THEN 'internal' END
           END
      FROM lth_pvr.transaction_types t
     WHERE t.transaction_type = p_transaction_type
$$;

REVOKE ALL ON FUNCTION lth_pvr.deposit_kind(text, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.deposit_kind(text, numeric, numeric) TO valr_reader;
