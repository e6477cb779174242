-- Owns: telling the worker when to wake for its market orders' lookups: the seconds (≥ 0) until the
-- earliest market_lookup_due_at of a submitted market order of its leased accounts not yet marked
-- poll-due; NULL when none. Seconds rather than a timestamp so the worker's clock never matters.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.next_market_lookup_due(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS numeric
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (    -- (greatest() ignores NULLs: "none" must stay NULL, not 0)
    SELECT CASE WHEN min(d.due_at) IS NOT NULL THEN greatest(0, extract(epoch FROM min(d.due_at) - p_now)) END
      FROM (SELECT lth_pvr.market_lookup_due_at(o.submitted_at, o.last_polled_at, o.poll_count) AS due_at
              FROM lth_pvr.exchange_orders o
              JOIN lth_pvr.worker_leases(p_worker_id, p_now) l
                ON l.exchange_account_id = o.exchange_account_id
             WHERE o.status = 'submitted'
               AND o.order_type = 'market'
               AND o.requires_polling
               AND o.poll_due_at IS NULL) d);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.next_market_lookup_due(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.next_market_lookup_due(text, timestamptz) TO valr_worker;
