-- Owns: whether a BALANCE_UPDATE or NEW_PENDING_RECEIVE frame's data is one the ledger cannot record:
-- a balance without currency, numbers or updatedAt (ledger_balance_row), a pending deposit without
-- transactionHash, currency or a non-negative amount (record_pending_receives' rule). Internal:
-- record_ledger_frames (the outcome and the order_events row of a malformed frame; it asks this of
-- pending deposits, and judges a balance by the row it builds anyway: the same ledger_balance_row).
CREATE OR REPLACE FUNCTION lth_pvr.ledger_frame_is_malformed(p_type text, p_data jsonb)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_type = 'BALANCE_UPDATE' THEN
        RETURN (lth_pvr.ledger_balance_row(NULL, 'ws', p_data)).currency IS NULL;
    END IF;
    RETURN NOT coalesce(lth_pvr.json_text(p_data->'transactionHash') IS NOT NULL
                        AND lth_pvr.ledger_currency(p_data->'currency') IS NOT NULL
                        AND lth_pvr.json_numeric(p_data->'amount') >= 0, false);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_frame_is_malformed(text, jsonb) FROM PUBLIC;
