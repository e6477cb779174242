-- claim_lost_placements now returns customer_order_id (what the lookup by customerOrderId asks for:
-- the intent, or a replacement's own id): a changed return type needs the old function dropped.
DROP FUNCTION IF EXISTS lth_pvr.claim_lost_placements(text, int, uuid[], int, timestamptz);
