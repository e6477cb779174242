-- Owns: the alert ledger_unknown_transaction_type, warning: transactions recorded within ledger_alert_hours
-- whose type is not in lth_pvr.transaction_types — recorded all the same, never dropped; a person adds the
-- type's row (its category decides whether it is a deposit).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_unknown_transaction_type(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_unknown_transaction_type'::text, 'warning'::text, count(*)::numeric, 0::numeric,
           format('%s transaction(s) of type(s) the ledger does not know: %s — recorded; add each type to '
                  'lth_pvr.transaction_types', count(*), string_agg(DISTINCT t.transaction_type, ', '))
      FROM lth_pvr.account_transactions t
     WHERE t.recorded_at > p_now - make_interval(hours => (SELECT lth_pvr.setting('ledger_alert_hours'))::int)
       AND NOT EXISTS (SELECT 1 FROM lth_pvr.transaction_types k WHERE k.transaction_type = t.transaction_type)
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_unknown_transaction_type(timestamptz) FROM PUBLIC;
