-- Owns: where an across-subaccount window ends: ledger_window_lag_seconds before now (VALR's clock may
-- trail ours; a transaction stamped later is read by the next window), cut to VALR's millisecond
-- (endTime is sent with milliseconds: the window must not claim a sub-millisecond it did not read).
-- Shared by claim_ledger_batch and record_transaction_page (what a per-account catch-up proved).
CREATE OR REPLACE FUNCTION lth_pvr.ledger_window_end(p_now timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT date_trunc('milliseconds', p_now - make_interval(secs => lth_pvr.setting('ledger_window_lag_seconds')))
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_window_end(timestamptz) FROM PUBLIC;
