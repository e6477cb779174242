-- Owns: nothing of its own — the worker's word that a ccxt account's ledger sync is done (balances and
-- every page of history read, each page committed with the cursor by record_exchange_transactions);
-- finish_ledger_sync ends it as it ends VALR's catch-up. An error instead: record_ledger_sync_failed
-- (the cursor stays).
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_ledger_synced(
    p_exchange_account_id uuid,
    p_rescanned boolean DEFAULT false,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT lth_pvr.finish_ledger_sync(p_exchange_account_id, p_rescanned, p_now);
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_ledger_synced(uuid, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_ledger_synced(uuid, boolean, timestamptz) TO valr_worker;
