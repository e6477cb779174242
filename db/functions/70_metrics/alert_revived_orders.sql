-- Owns: the alert revived_orders, critical: orders we had made failed by inference (VALR did not know them after the
-- placement grace) that VALR later showed: back under VALR's word, last 24 h — a person checks why the
-- placement was held so long.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_revived_orders(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'revived_orders'::text, 'critical'::text, x.n, 0::numeric,
           format('%s order(s) recorded failed (VALR did not know them after the placement grace) are live on '
                  'VALR and came back under its word: %s', x.n, left(x.ids, 400))
      FROM (SELECT count(*) AS n, string_agg(o.exchange_order_id::text, ', ' ORDER BY o.revived_at) AS ids
              FROM lth_pvr.exchange_orders o
             WHERE o.revived_at > p_now - interval '24 hours' AND o.revived_at <= p_now) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_revived_orders(timestamptz) FROM PUBLIC;
