-- Owns: the end of an account-WebSocket connection: closed_at, close_reason, closed_with_error
-- (v_alerts counts sessions closed with an error against sessions opened). Idempotent: the first
-- close wins. A close by --max-session (reason 'max_session') marks the worker's lease
-- (watch_ended_at): account_work then wants no new session for the open orders alone.
CREATE OR REPLACE FUNCTION lth_pvr.session_closed(
    p_session_id bigint,
    p_reason text,
    p_with_error boolean DEFAULT false,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    WITH closed AS (
        UPDATE lth_pvr.ws_sessions s
           SET closed_at = p_now, close_reason = left(p_reason, 500), closed_with_error = coalesce(p_with_error, false)
         WHERE s.session_id = p_session_id
           AND s.closed_at IS NULL
        RETURNING s.exchange_account_id, s.worker_id
    )
    UPDATE lth_pvr.subaccount_leases l
       SET watch_ended_at = p_now
      FROM closed
     WHERE p_reason = 'max_session'
       AND l.exchange_account_id = closed.exchange_account_id
       AND l.worker_id = closed.worker_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.session_closed(bigint, text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.session_closed(bigint, text, boolean, timestamptz) TO valr_worker;
