-- record_balances_all gains p_asked_at (a balance balances/all leaves out is zero): the old signature
-- is dropped so only the new one is granted.
DROP FUNCTION IF EXISTS lth_pvr.record_balances_all(jsonb, timestamptz);
