-- Owns: whether a WebSocket open-orders list says nothing new about the account: every item names
-- one of the locked orders by its orderId and is payload_is_unchanged, and every submitted order of
-- the account is listed by its orderId — so none is `missing` (reconcile_open_orders decides those,
-- with its grace for orders VALR has not confirmed yet).
-- Internal; record_frames calls it with the account's locked orders (all of its submitted ones) and
-- each item's position among them (open_list_positions). Set-based: a list of 1,000 items must cost
-- about as much as 1,000 items, not 1,000².
CREATE OR REPLACE FUNCTION lth_pvr.open_list_is_unchanged(
    p_list jsonb,
    p_orders lth_pvr.exchange_orders[],
    p_positions int[]
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_list) WITH ORDINALITY AS i(item, n)
                WHERE p_positions[i.n] IS NULL
                   OR NOT lth_pvr.payload_is_unchanged(i.item, p_orders[p_positions[i.n]])) THEN
        RETURN false;
    END IF;
    -- NOT IN over a subquery: one hashed set of the listed positions. (A correlated NOT EXISTS over
    -- unnest(p_positions) scanned the whole list once per order: with 1,000 open orders, 11 ms of
    -- every list — most of its cost — measured with track_functions.)
    RETURN NOT EXISTS (SELECT 1 FROM unnest(p_orders) WITH ORDINALITY AS o
                        WHERE o.status = 'submitted'
                          AND o.ordinality NOT IN (SELECT l.k::bigint FROM unnest(p_positions) AS l(k)
                                                    WHERE l.k IS NOT NULL));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_list_is_unchanged(jsonb, lth_pvr.exchange_orders[], int[]) FROM PUBLIC;
