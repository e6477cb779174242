-- Owns: writing what record_frames gathered in memory — the fills in one INSERT, the event rows in
-- one INSERT (in frame order, so event_id follows the read), and each touched order row in one UPDATE,
-- all in one statement.
-- The order rows are locked by the caller since they were read, so writing their columns back is
-- what one UPDATE per frame would have left. A fill whose trade id another transaction recorded
-- meanwhile (for another order: ours are locked) would leave the totals wrong: that raises, and
-- record_batch redoes the read frame by frame.
-- Internal; record_frames calls it.
CREATE OR REPLACE FUNCTION lth_pvr.write_frame_effects(
    p_orders lth_pvr.exchange_orders[],
    p_dirty boolean[],
    p_fills lth_pvr.order_fills[],
    p_events lth_pvr.order_events[]
)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_written int;
BEGIN
    -- One statement (one executor start, one plan) for the three writes.
    WITH fills AS (
        INSERT INTO lth_pvr.order_fills (trade_id, exchange_order_id, price, qty, fee, fee_currency, traded_at,
                                         sequence_id, source, recorded_at)
        SELECT f.trade_id, f.exchange_order_id, f.price, f.qty, f.fee, f.fee_currency, f.traded_at,
               f.sequence_id, f.source, f.recorded_at
          FROM unnest(p_fills) WITH ORDINALITY AS f
         ORDER BY f.ordinality
        ON CONFLICT (exchange, id_scope, trade_id) DO NOTHING
        RETURNING 1
    ), events AS (
        INSERT INTO lth_pvr.order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                          old_status, new_status, exchange_time, received_at, detail, payload)
        SELECT e.exchange_order_id, e.exchange_account_id, e.source, e.kind, e.outcome,
               e.old_status, e.new_status, e.exchange_time, e.received_at, e.detail, e.payload
          FROM unnest(p_events) WITH ORDINALITY AS e
         ORDER BY e.ordinality
    ), orders AS (
        UPDATE lth_pvr.exchange_orders o
           SET filled_qty = s.filled_qty,
               filled_value = s.filled_value,
               avg_price = s.avg_price,
               updated_at = s.updated_at,
               exchange_confirmed_at = s.exchange_confirmed_at,
               ws_monitored_at = s.ws_monitored_at,
               original_qty = s.original_qty,
               raw = s.raw,
               reconcile_due_at = s.reconcile_due_at
          FROM unnest(p_orders) WITH ORDINALITY AS s
         WHERE p_dirty[s.ordinality] AND o.exchange_order_id = s.exchange_order_id
    )
    SELECT count(*) INTO v_written FROM fills;
    IF v_written <> cardinality(p_fills) THEN
        RAISE EXCEPTION 'write_frame_effects: a trade id was recorded meanwhile; redo frame by frame'
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.write_frame_effects(lth_pvr.exchange_orders[], boolean[], lth_pvr.order_fills[], lth_pvr.order_events[]) FROM PUBLIC;
