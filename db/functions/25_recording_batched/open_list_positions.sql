-- Owns: where each item of an open-orders list stands among the account's locked orders: the
-- position (1-based) in p_ext_order_ids of the order the item names by orderId — the first, as
-- array_position gives — or NULL for an item naming none of them; one element per item, in list
-- order. One hash join rather than a scan of the orders for each item: with 1,000 open orders in
-- one subaccount, array_position per item was a million comparisons per list.
-- Internal; record_frames calls it (open_list_is_unchanged and its item loop use the positions).
CREATE OR REPLACE FUNCTION lth_pvr.open_list_positions(p_list jsonb, p_ext_order_ids text[])
RETURNS int[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(array_agg(x.k ORDER BY i.n), '{}')
      FROM jsonb_array_elements(p_list) WITH ORDINALITY AS i(item, n)
      LEFT JOIN (SELECT e.ext, min(e.k)::int AS k
                   FROM unnest(p_ext_order_ids) WITH ORDINALITY AS e(ext, k)
                  GROUP BY e.ext) AS x
        ON x.ext = lth_pvr.json_text(i.item->'orderId')
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_list_positions(jsonb, text[]) FROM PUBLIC;
