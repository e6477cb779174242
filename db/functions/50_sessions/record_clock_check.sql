-- Owns: a worker's last clock check against VALR's server time (workers.clock_skew_s, local minus
-- VALR's, seconds). p_refused: the skew is beyond what VALR accepts — the worker stopped placing;
-- clock_refused_at keeps when that began until a check finds the clock good again. The
-- `clock_skew` alert reads it.
CREATE OR REPLACE FUNCTION lth_pvr.record_clock_check(
    p_worker_id text,
    p_skew_s numeric,
    p_refused boolean,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.workers w
       SET clock_skew_s = p_skew_s,
           clock_checked_at = p_now,
           clock_refused_at = CASE WHEN p_refused THEN coalesce(w.clock_refused_at, p_now) END
     WHERE w.worker_id = p_worker_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_clock_check(text, numeric, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_clock_check(text, numeric, boolean, timestamptz) TO valr_worker;
