-- Owns: the start of one account-WebSocket connection, within VALR's budget of new connections per
-- minute for the API key — shared by every worker using it, so it is counted here, not per process.
-- Counted per exchange: the sessions of accounts on the account's exchange (VALR's budget is VALR's;
-- a ccxt account's session may open through session_open, ccxt pacing its own requests).
-- Opens the ws_sessions row (via session_open) when fewer than p_per_minute connections were opened
-- in the last minute, and returns its id; otherwise returns no id and how long to wait.
-- Serialised by a transaction-scoped advisory lock: two workers cannot both take the last slot.
CREATE OR REPLACE FUNCTION lth_pvr.session_open_within_budget(
    p_worker_id text,
    p_exchange_account_id uuid,
    p_per_minute int,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (session_id bigint, wait_seconds numeric)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_opened int;
    v_oldest timestamptz;
    v_exchange text;
BEGIN
    SELECT a.exchange INTO v_exchange FROM exchange_accounts a WHERE a.exchange_account_id = p_exchange_account_id;
    PERFORM pg_advisory_xact_lock(hashtext('lth_pvr.ws_connect_budget:' || coalesce(v_exchange, 'valr')));
    SELECT count(*), min(s.opened_at) INTO v_opened, v_oldest
      FROM (SELECT ws.opened_at FROM ws_sessions ws
              JOIN exchange_accounts a ON a.exchange_account_id = ws.exchange_account_id
             WHERE ws.opened_at > p_now - interval '1 minute'
               AND a.exchange = coalesce(v_exchange, 'valr')
             ORDER BY ws.opened_at DESC
             LIMIT p_per_minute) AS s;
    IF v_opened < p_per_minute THEN
        RETURN QUERY SELECT lth_pvr.session_open(p_worker_id, p_exchange_account_id, p_now), 0::numeric;
    ELSE
        -- The oldest of the last p_per_minute connections leaves the window first.
        RETURN QUERY SELECT NULL::bigint,
                            greatest(extract(epoch FROM v_oldest + interval '1 minute' - p_now), 0.05)::numeric;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.session_open_within_budget(text, uuid, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.session_open_within_budget(text, uuid, int, timestamptz) TO valr_worker;
