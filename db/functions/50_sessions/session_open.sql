-- Owns: the start of one account-WebSocket connection (a ws_sessions row). Returns its session_id.
-- A worker watches a subaccount with one socket at a time: a session of the same worker and
-- subaccount still open here is one whose close could not be recorded (the database was unreachable
-- when it closed), so it is closed now ('superseded').
CREATE OR REPLACE FUNCTION lth_pvr.session_open(
    p_worker_id text,
    p_exchange_account_id uuid,
    p_now timestamptz DEFAULT now()
)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.ws_sessions s
       SET closed_at = p_now, close_reason = 'superseded: a newer session of the same worker opened'
     WHERE s.exchange_account_id = p_exchange_account_id
       AND s.worker_id = p_worker_id
       AND s.closed_at IS NULL;
    INSERT INTO lth_pvr.ws_sessions (exchange_account_id, worker_id, opened_at)
    VALUES (p_exchange_account_id, p_worker_id, p_now)
    RETURNING session_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.session_open(text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.session_open(text, uuid, timestamptz) TO valr_worker;
