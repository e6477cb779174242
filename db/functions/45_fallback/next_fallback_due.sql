-- Owns: telling the worker when to wake for the time-driven triggers of its leased accounts: the
-- seconds (≥ 0) until the earliest age fallback falls due (submitted_at + fallback_after), or at once
-- for an order whose pair's fresh price crosses its threshold with no crossing mark yet (accepted
-- after the move: request_due_fallbacks marks it, and fires it when it asks no confirmation; a
-- confirmation waits for a later price, which prices_to_watch asks for). NULL when none is pending. Seconds rather than a timestamp so the
-- worker's clock never matters.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.next_fallback_due(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS numeric
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (    -- (greatest() ignores NULLs: "none pending" must stay NULL, not 0)
    WITH leased AS (
        SELECT l.exchange_account_id FROM lth_pvr.worker_leases(p_worker_id, p_now) l
    ), due AS (
        SELECT o.submitted_at + o.fallback_after AS at
          FROM lth_pvr.exchange_orders o
          JOIN leased l ON l.exchange_account_id = o.exchange_account_id
         WHERE o.fallback_after IS NOT NULL
           AND lth_pvr.fallback_armed(o.status, o.fallback_requested_at, o.cancel_requested_at)
        UNION ALL
        SELECT p_now
          FROM lth_pvr.price_fallback_crossing(NULL, p_now) c
          JOIN leased l ON l.exchange_account_id = c.exchange_account_id
         WHERE c.crossing AND c.crossed_at IS NULL
    )
    SELECT CASE WHEN min(due.at) IS NOT NULL THEN greatest(0, extract(epoch FROM min(due.at) - p_now)) END
      FROM due);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.next_fallback_due(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.next_fallback_due(text, timestamptz) TO valr_worker;
