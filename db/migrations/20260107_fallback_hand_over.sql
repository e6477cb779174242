-- claim_pending_orders takes p_exchange_order_ids (only these orders: hand_over_replacements claims a
-- fallback's replacement in the transaction that created it): the old signature is dropped, so no
-- caller reaches a claim without the new argument's default.
DROP FUNCTION IF EXISTS lth_pvr.claim_pending_orders(text, uuid[], int, timestamptz);
