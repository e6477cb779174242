-- Owns: the start of one account-WebSocket connection (a ws_sessions row). Returns its session_id.
CREATE OR REPLACE FUNCTION lth_pvr.session_open(
    p_worker_id text,
    p_exchange_account_id uuid,
    p_now timestamptz DEFAULT now()
)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    INSERT INTO lth_pvr.ws_sessions (exchange_account_id, worker_id, opened_at)
    VALUES (p_exchange_account_id, p_worker_id, p_now)
    RETURNING session_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.session_open(text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.session_open(text, uuid, timestamptz) TO valr_worker;
