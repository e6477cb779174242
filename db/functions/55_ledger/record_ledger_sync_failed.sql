-- Owns: a ledger sync that could not finish (VALR refused, timed out, answered garbage): the error is
-- kept (sync_failed_at, sync_error: alert ledger_sync_failing) and the claim released; the cursor
-- never moves on an error, so the next sync reads back to the same point. Returns nothing.
CREATE OR REPLACE FUNCTION lth_pvr.record_ledger_sync_failed(
    p_exchange_account_id uuid,
    p_error text,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.ledger_cursors
       SET sync_failed_at = p_now, sync_error = left(p_error, 500), sync_claimed_at = NULL, sync_claimed_by = NULL
     WHERE exchange_account_id = p_exchange_account_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_ledger_sync_failed(uuid, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_ledger_sync_failed(uuid, text, timestamptz) TO valr_worker;
