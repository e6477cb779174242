-- Owns: when an account's ledger is due to be read over REST: a sync requested
-- (request_ledger_sync), never synced, or last synced over ledger_sync_minutes ago — and not
-- claimed within ledger_sync_claim_seconds (a claim whose worker died is handed out again).
-- Shared by claim_ledger_syncs and ledger_sync_tick.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_sync_due(p_cursor lth_pvr.ledger_cursors, p_now timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT (p_cursor.sync_requested_at IS NOT NULL OR p_cursor.synced_at IS NULL
            OR p_cursor.synced_at < p_now - make_interval(mins => lth_pvr.setting('ledger_sync_minutes')::int))
       AND (p_cursor.sync_claimed_at IS NULL
            OR p_cursor.sync_claimed_at < p_now - make_interval(secs => lth_pvr.setting('ledger_sync_claim_seconds')))
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_sync_due(lth_pvr.ledger_cursors, timestamptz) FROM PUBLIC;
