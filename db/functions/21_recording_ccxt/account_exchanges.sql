-- Owns: which exchange and which credential each account uses — what the worker routes an account's
-- work by (VALR's client, or ccxt's exchange class with the key named by credential_ref: environment
-- variables <REF>_API_KEY, <REF>_API_SECRET (<REF>_API_PASSPHRASE), REF upper-cased; NULL: the
-- exchange's default, VALR, BINANCE, KRAKEN, COINBASE). Every account, or those in the array.
-- No secret is in the database: only the name of where it is.
CREATE OR REPLACE FUNCTION lth_pvr.account_exchanges(p_exchange_account_ids uuid[] DEFAULT NULL)
RETURNS TABLE (exchange_account_id uuid, exchange text, credential_ref text, subaccount_id text, label text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT a.exchange_account_id, a.exchange, a.credential_ref, a.subaccount_id, a.label
      FROM lth_pvr.exchange_accounts a
     WHERE p_exchange_account_ids IS NULL OR a.exchange_account_id = ANY (p_exchange_account_ids)
     ORDER BY a.exchange, a.exchange_account_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.account_exchanges(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.account_exchanges(uuid[]) TO valr_worker, valr_reader;
