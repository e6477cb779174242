-- Owns: the alert ws_failures, warning: sessions closed with an error / sessions opened, last 24 h, above ws_failure_pct_max %.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ws_failures(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ws_failures'::text, 'warning'::text,
           round(CASE WHEN sessions.opened > 0 THEN 100.0 * sessions.failed / sessions.opened ELSE 100 END, 2),
           s.v,
           format('connection instability: %s of %s WebSocket sessions in 24 hours closed with an error',
                  sessions.failed, sessions.opened)
      FROM (SELECT count(*) FILTER (WHERE ws.opened_at > p_now - interval '24 hours' AND ws.opened_at <= p_now) AS opened,
                   count(*) FILTER (WHERE ws.closed_with_error
                                      AND ws.closed_at > p_now - interval '24 hours' AND ws.closed_at <= p_now) AS failed
              FROM lth_pvr.ws_sessions ws
             WHERE ws.opened_at > p_now - interval '24 hours' OR ws.closed_at > p_now - interval '24 hours') sessions,
           (SELECT (SELECT lth_pvr.setting('ws_failure_pct_max')) AS v) s
     WHERE sessions.failed > 0
       AND (sessions.opened = 0 OR 100.0 * sessions.failed / sessions.opened > s.v)
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ws_failures(timestamptz) FROM PUBLIC;
