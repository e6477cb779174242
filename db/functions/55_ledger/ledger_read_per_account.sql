-- Owns: whose ledger the worker reads account by account (request_ledger_sync, claim_ledger_syncs,
-- ledger_sync_tick): VALR's accounts on the default key (on_valr_default_key: VALR's own reads) and
-- every account of an exchange reached through ccxt (each has its own adapter and key: its
-- fetch_balance, fetch_ledger or fetch_deposits/fetch_withdrawals read that account only). A VALR
-- account with its own key is not, until VALR's reads are routed by credential. SQL, so it inlines.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_read_per_account(p_exchange text, p_credential_ref text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT lth_pvr.on_valr_default_key(p_exchange, p_credential_ref) OR p_exchange <> 'valr'
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_read_per_account(text, text) FROM PUBLIC;
