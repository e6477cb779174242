-- Owns: the ledger's alerts, rows of alerts() (v_alerts) in its shape:
--   warning  ledger_unknown_transaction_type  transactions recorded within ledger_alert_hours whose
--            type is not in lth_pvr.transaction_types: recorded all the same, never dropped; a person
--            adds the type's row (its category decides whether it is a deposit)
--   critical ledger_late_transactions  transactions the cursor-free re-scan recorded within
--            ledger_alert_hours (source 'rescan'): both the socket and the catch-up missed them
--   warning  ledger_sync_failing  accounts whose last ledger sync failed and none has succeeded since
--   warning  ledger_sync_late  accounts not synced within twice ledger_sync_minutes (no worker syncing)
CREATE OR REPLACE FUNCTION lth_pvr.ledger_alerts(p_now timestamptz DEFAULT now())
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    WITH recent AS (
        SELECT t.* FROM lth_pvr.account_transactions t
         WHERE t.recorded_at > p_now - make_interval(hours => lth_pvr.setting('ledger_alert_hours')::int)
    )
    SELECT 'ledger_unknown_transaction_type', 'warning', count(*), 0,
           format('%s transaction(s) of type(s) the ledger does not know: %s — recorded; add each type to '
                  'lth_pvr.transaction_types', count(*), string_agg(DISTINCT r.transaction_type, ', '))
      FROM recent r
     WHERE NOT EXISTS (SELECT 1 FROM lth_pvr.transaction_types k WHERE k.transaction_type = r.transaction_type)
    HAVING count(*) > 0
    UNION ALL
    SELECT 'ledger_late_transactions', 'critical', count(*), 0,
           format('%s transaction(s) found only by the re-scan (missed by the socket and the catch-up): %s',
                  count(*), left(string_agg(r.transaction_id || ' ' || r.transaction_type, ', '
                                            ORDER BY r.event_at), 400))
      FROM recent r WHERE r.source = 'rescan'
    HAVING count(*) > 0
    UNION ALL
    SELECT 'ledger_sync_failing', 'warning', count(*), 0,
           format('%s account(s) whose ledger sync failed: %s', count(*),
                  left(string_agg(c.exchange_account_id || ': ' || c.sync_error, '; '), 400))
      FROM lth_pvr.ledger_cursors c
     WHERE c.sync_failed_at IS NOT NULL AND (c.synced_at IS NULL OR c.synced_at < c.sync_failed_at)
    HAVING count(*) > 0
    UNION ALL
    SELECT 'ledger_sync_late', 'warning', count(*), 2 * lth_pvr.setting('ledger_sync_minutes'),
           format('%s account(s) whose transaction history was not read within %s minutes', count(*),
                  2 * lth_pvr.setting('ledger_sync_minutes'))
      FROM lth_pvr.ledger_cursors c
     WHERE c.synced_at < p_now - make_interval(mins => (2 * lth_pvr.setting('ledger_sync_minutes'))::int)
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_alerts(timestamptz) FROM PUBLIC;
