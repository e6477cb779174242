-- claim_cancel_requests takes p_exchange_order_ids (only these orders: hand_over_cancels claims the
-- cancels a fallback trigger fires in the transaction that fired them): the old signature is dropped,
-- so no caller reaches a claim without the new argument's default.
DROP FUNCTION IF EXISTS lth_pvr.claim_cancel_requests(text, timestamptz);
