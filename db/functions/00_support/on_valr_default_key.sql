-- Owns: which accounts VALR's account-wide calls reach — the ledger's reads (claim_ledger_syncs,
-- claim_ledger_batch, request_ledger_sync, ledger_sync_tick), GET /v1/account/balances/all
-- (record_balances_all), the across-subaccount history (record_subaccount_window_page), the audit's
-- account list (audit_accounts) and new_order's subaccount id: VALR accounts on the worker's default
-- VALR key (credential_ref NULL: the primary account and its subaccounts). Another exchange's account
-- is never read by VALR's calls; a VALR account with its own key (credential_ref) is not either until
-- the worker routes those calls by credential: read with the default key, its subaccount id would
-- name another account. Widen it here, once, when it does. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.on_valr_default_key(p_exchange text, p_credential_ref text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_exchange = 'valr' AND p_credential_ref IS NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.on_valr_default_key(text, text) FROM PUBLIC;
