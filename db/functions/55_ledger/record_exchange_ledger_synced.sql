-- Owns: the end of a ccxt account's ledger sync (balances and every page of history read, each page
-- committed with the cursor by record_exchange_transactions): stamps synced_at (and rescanned_at
-- when the re-scan ran), clears the claim, the error and the request it answered — a request made
-- while it ran stays and is announced again (NOTIFY lth_pvr_ledger_sync), as record_transaction_page
-- does for VALR's catch-up. An error instead: record_ledger_sync_failed (the cursor stays).
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_ledger_synced(
    p_exchange_account_id uuid,
    p_rescanned boolean DEFAULT false,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_requested timestamptz;
BEGIN
    UPDATE lth_pvr.ledger_cursors
       SET synced_at = p_now, rescanned_at = CASE WHEN p_rescanned THEN p_now ELSE rescanned_at END,
           sync_requested_at = CASE WHEN sync_requested_at <= sync_claimed_at THEN NULL ELSE sync_requested_at END,
           sync_claimed_at = NULL, sync_claimed_by = NULL, sync_failed_at = NULL, sync_error = NULL
     WHERE exchange_account_id = p_exchange_account_id
    RETURNING sync_requested_at INTO v_requested;
    IF v_requested IS NOT NULL THEN
        PERFORM pg_notify('lth_pvr_ledger_sync', p_exchange_account_id::text);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_ledger_synced(uuid, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_ledger_synced(uuid, boolean, timestamptz) TO valr_worker;
