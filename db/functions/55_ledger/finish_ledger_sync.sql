-- Owns: the end of an account's ledger sync, VALR's or a ccxt account's: stamps synced_at (and
-- rescanned_at when a re-scan ran), clears the claim (claim_ledger_syncs), the error and the request
-- it answered. A request made while the sync ran stays and is announced again (NOTIFY
-- lth_pvr_ledger_sync): its own NOTIFY found the account claimed, and the workers would otherwise
-- wait for their next periodic claim (up to 30 s). Called by record_transaction_page (VALR's
-- catch-up, once done) and record_exchange_ledger_synced (a ccxt account's sync).
CREATE OR REPLACE FUNCTION lth_pvr.finish_ledger_sync(
    p_exchange_account_id uuid,
    p_rescanned boolean,
    p_now timestamptz
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

REVOKE ALL ON FUNCTION lth_pvr.finish_ledger_sync(uuid, boolean, timestamptz) FROM PUBLIC;
