-- Owns: the alert cancel_unconfirmed, critical: cancels requested over cancel_unconfirmed_minutes ago whose order VALR has not
-- finished (still placing/submitted).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_cancel_unconfirmed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'cancel_unconfirmed'::text, 'critical'::text, round(x.oldest, 2), s.v,
           format('%s requested cancel(s) not confirmed by VALR for over %s minutes (%s attempts so far): %s',
                  x.n, s.v, x.attempts, left(x.ids, 400))
      FROM (SELECT (SELECT lth_pvr.setting('cancel_unconfirmed_minutes')) AS v) s,
           LATERAL (SELECT count(*) AS n, max(extract(epoch FROM p_now - o.cancel_requested_at) / 60) AS oldest,
                           sum(o.cancel_attempts) AS attempts,
                           string_agg(o.exchange_order_id::text, ', ' ORDER BY o.cancel_requested_at) AS ids
                      FROM lth_pvr.exchange_orders o
                     WHERE o.cancel_requested_at IS NOT NULL
                       AND o.status IN ('placing', 'submitted')
                       AND o.cancel_requested_at < p_now - make_interval(secs => s.v * 60)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_cancel_unconfirmed(timestamptz) FROM PUBLIC;
