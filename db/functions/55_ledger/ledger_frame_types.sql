-- Owns: the account-socket frames that belong to the ledger, not to an order: record_batch hands
-- them to record_ledger_frames (record_frames and record_frame pass them over as `ignored`).
CREATE OR REPLACE FUNCTION lth_pvr.ledger_frame_types()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['NEW_ACCOUNT_HISTORY_RECORD', 'BALANCE_UPDATE', 'NEW_PENDING_RECEIVE']
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_frame_types() FROM PUBLIC;
