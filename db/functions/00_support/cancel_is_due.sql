-- Owns: the spacing of cancel attempts: a requested cancel is due when never sent, or when its last
-- attempt left over cancel_retry_seconds ago (its outcome never came, or VALR refused it for now).
-- Internal: claim_cancel_requests and account_work share it.
CREATE OR REPLACE FUNCTION lth_pvr.cancel_is_due(p_cancel_sent_at timestamptz, p_now timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT p_cancel_sent_at IS NULL
        OR p_cancel_sent_at <= p_now - make_interval(secs => lth_pvr.setting('cancel_retry_seconds'))
$$;

REVOKE ALL ON FUNCTION lth_pvr.cancel_is_due(timestamptz, timestamptz) FROM PUBLIC;
