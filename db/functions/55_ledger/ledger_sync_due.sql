-- Owns: when an account's ledger is due to be read over REST: a sync requested
-- (request_ledger_sync), never synced, or last synced over ledger_sync_minutes ago — and not
-- claimed within ledger_sync_claim_seconds (a claim whose worker died is handed out again).
-- p_ahead: due within that much from now (claim_ledger_batch takes along, at no extra call, the
-- subaccounts that would fall due later, so they stay in one phase: one window per interval).
-- Shared by claim_ledger_syncs, ledger_sync_tick and claim_ledger_batch.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_sync_due(p_cursor lth_pvr.ledger_cursors, p_now timestamptz,
                                                   p_ahead interval DEFAULT interval '0 s')
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT (p_cursor.sync_requested_at IS NOT NULL OR p_cursor.synced_at IS NULL
            OR p_cursor.synced_at < p_now + p_ahead - make_interval(mins => lth_pvr.setting('ledger_sync_minutes')::int))
       AND (p_cursor.sync_claimed_at IS NULL
            OR p_cursor.sync_claimed_at < p_now - make_interval(secs => lth_pvr.setting('ledger_sync_claim_seconds')))
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_sync_due(lth_pvr.ledger_cursors, timestamptz, interval) FROM PUBLIC;
