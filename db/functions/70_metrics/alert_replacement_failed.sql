-- Owns: the alert replacement_failed, critical: a fallback's market replacement failed (refused by VALR or its placement lost)
-- within fallback_alert_hours: the remainder was not placed, and nothing retries a failed placement —
-- until a person places it (place_intent_remainder: its order replaces this one, which leaves the
-- alert). The detail names each intent.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_replacement_failed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'replacement_failed'::text, 'critical'::text, x.n, 0::numeric,
           format('%s market replacement(s) of a fallback failed, the remainder not placed: %s; to place what '
                  'an intent still lacks (sized by the database): SELECT lth_pvr.place_intent_remainder(''<intent>'')',
                  x.n, left(x.ids, 400))
      FROM (SELECT count(*) AS n,
                   string_agg(format('%s of intent %s (%s)', o.exchange_order_id, o.intent_id,
                                     coalesce(o.failed_reason, 'no reason')), ', ' ORDER BY o.finished_at) AS ids
              FROM lth_pvr.exchange_orders o
             WHERE lth_pvr.order_needs_attention(o) = 'replacement_failed'
               AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders r WHERE r.replaces_order_id = o.exchange_order_id)
               AND o.finished_at > p_now - make_interval(secs => lth_pvr.setting('fallback_alert_hours') * 3600)
                       AND o.finished_at <= p_now) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_replacement_failed(timestamptz) FROM PUBLIC;
