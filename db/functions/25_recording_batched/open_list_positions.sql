-- Owns: where each item of an open-orders list stands among the account's locked orders: the
-- position (1-based) in p_ext_order_ids of the order the item names by orderId — the first, as
-- array_position gives — or NULL for an item naming none of them; one element per item, in list
-- order. A map from each orderId to its position, then one look-up per item (a 1,000-item list
-- costs 1,000 look-ups, not a million comparisons as array_position per item did). PL/pgSQL with no
-- join to plan: as a SQL function it was planned again on every call (~0.2 ms, once per fill's read),
-- and a cached generic plan could not be trusted to keep a hash join.
-- Internal; record_frames calls it (open_list_is_unchanged and its item loop use the positions).
CREATE OR REPLACE FUNCTION lth_pvr.open_list_positions(p_list jsonb, p_ext_order_ids text[])
RETURNS int[]
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_position jsonb;  -- {ext_order_id: its first position}: of equal keys the last aggregated stays
BEGIN
    SELECT jsonb_object_agg(e.ext, e.k ORDER BY e.k DESC) INTO v_position
      FROM unnest(p_ext_order_ids) WITH ORDINALITY AS e(ext, k)
     WHERE e.ext IS NOT NULL;
    RETURN (SELECT coalesce(array_agg((v_position->>lth_pvr.json_text(i.item->'orderId'))::int ORDER BY i.n), '{}')
              FROM jsonb_array_elements(p_list) WITH ORDINALITY AS i(item, n));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_list_positions(jsonb, text[]) FROM PUBLIC;
