-- The fast path of record_batch is built from the general path's pieces (db/functions/20_recording):
-- order_fill_row now takes the fill's source (record_fill builds its row with it too), and
-- trade_is_common is gone (fill_problem and fill_outcome say what it copied from record_fill).
-- Functions are CREATE OR REPLACE'd by migrate after the migrations; the old signatures go here.
DROP FUNCTION IF EXISTS lth_pvr.order_fill_row(uuid, jsonb, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.trade_is_common(jsonb, lth_pvr.exchange_orders, text[]);
