-- Owns: telling the worker when to wake for the time trigger: the seconds (≥ 0) until the earliest
-- age fallback of its leased accounts falls due (submitted_at + fallback_after), NULL when none is
-- pending. Seconds rather than a timestamp so the worker's clock never matters.
CREATE OR REPLACE FUNCTION lth_pvr.next_fallback_due(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS numeric
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    -- (greatest() ignores NULLs: "none pending" must stay NULL, not 0)
    SELECT CASE WHEN min(o.submitted_at + o.fallback_after) IS NOT NULL
                THEN greatest(0, extract(epoch FROM min(o.submitted_at + o.fallback_after) - p_now)) END
      FROM lth_pvr.exchange_orders o
      JOIN lth_pvr.subaccount_leases l
        ON l.exchange_account_id = o.exchange_account_id
       AND l.worker_id = p_worker_id
       AND l.expires_at > p_now
     WHERE o.status = 'submitted'
       AND o.fallback_after IS NOT NULL
       AND o.fallback_requested_at IS NULL
       AND o.cancel_requested_at IS NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.next_fallback_due(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.next_fallback_due(text, timestamptz) TO valr_worker;
