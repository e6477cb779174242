-- lth_pvr.match_order now reads the whole payload (orderId, customerOrderId, and what tells another
-- system's order with the same customerOrderId apart): drop the first signature.
DROP FUNCTION IF EXISTS lth_pvr.match_order(uuid, text, uuid);
DROP FUNCTION IF EXISTS lth_pvr.match_order(uuid, text, uuid, timestamptz);
