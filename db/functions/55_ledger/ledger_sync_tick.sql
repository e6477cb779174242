-- Owns: the pg_cron job of the ledger (every 5 minutes, `valr-monitor migrate` creates it): when
-- some account's ledger is due (ledger_sync_due: never synced, over ledger_sync_minutes ago, or
-- requested) one NOTIFY lth_pvr_ledger_sync `*` wakes the workers, which claim them
-- (claim_ledger_syncs); none due: silence. Returns the accounts due (every account has one: a new
-- account gets its cursor row here).
CREATE OR REPLACE FUNCTION lth_pvr.ledger_sync_tick(p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_n int;
BEGIN
    INSERT INTO lth_pvr.ledger_cursors (exchange_account_id)
    SELECT a.exchange_account_id FROM lth_pvr.exchange_accounts a
     WHERE lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
    ON CONFLICT DO NOTHING;
    SELECT count(*) INTO v_n FROM lth_pvr.ledger_cursors c WHERE lth_pvr.ledger_sync_due(c, p_now);
    IF v_n > 0 THEN
        PERFORM pg_notify('lth_pvr_ledger_sync', '*');
    END IF;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_sync_tick(timestamptz) FROM PUBLIC;
