-- Owns: whether a WebSocket open-orders list says nothing new about the account: every item names
-- one of the locked orders by its orderId and is payload_is_unchanged, and every submitted order of
-- the account is listed by its orderId — so none is `missing` (reconcile_open_orders decides those,
-- with its grace for orders VALR has not confirmed yet).
-- Internal; record_frames calls it with the account's locked orders (all of its submitted ones).
CREATE OR REPLACE FUNCTION lth_pvr.open_list_is_unchanged(
    p_list jsonb,
    p_orders lth_pvr.exchange_orders[],
    p_ext_order_ids text[]
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_item   jsonb;
    v_k      int;
    v_listed text[] := '{}';
BEGIN
    FOR v_item IN SELECT e FROM jsonb_array_elements(p_list) AS e LOOP
        v_k := array_position(p_ext_order_ids, lth_pvr.json_text(v_item->'orderId'));
        IF v_k IS NULL OR NOT lth_pvr.payload_is_unchanged(v_item, p_orders[v_k]) THEN
            RETURN false;
        END IF;
        v_listed := v_listed || p_ext_order_ids[v_k];
    END LOOP;
    RETURN NOT EXISTS (SELECT 1 FROM unnest(p_orders) AS o
                        WHERE o.status = 'submitted' AND o.ext_order_id <> ALL (v_listed));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_list_is_unchanged(jsonb, lth_pvr.exchange_orders[], text[]) FROM PUBLIC;
