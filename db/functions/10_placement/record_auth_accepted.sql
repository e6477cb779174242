-- Owns no order: clears a worker's authentication refusal (record_auth_refused) once VALR accepts
-- its key again (the worker re-checks with a signed read-only request); it claims orders again.
-- Answers whether the worker had been refused.
CREATE OR REPLACE FUNCTION lth_pvr.record_auth_accepted(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    WITH cleared AS (
        UPDATE lth_pvr.workers w
           SET auth_refused_at = NULL, auth_refused_reason = NULL, last_seen_at = greatest(w.last_seen_at, p_now)
         WHERE w.worker_id = p_worker_id AND w.auth_refused_at IS NOT NULL
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM cleared)
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_auth_accepted(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_auth_accepted(text, timestamptz) TO valr_worker;
