-- Owns: a session's AUTHENTICATED — authenticated_at, and the start of WebSocket monitoring: sets
-- ws_monitored_at on the account's placing/submitted orders that lack it and returns them.
-- needs_reconcile: the order was already submitted while no socket watched it, so events may have
-- been missed. The session's reconciliation (the OPEN_ORDERS_UPDATE that follows, or one
-- GET /v1/orders/open through reconcile_open_orders) covers them, so they are handed to this
-- session's worker (poll_claimed_at/by): claim_due_polls does not look them up a second time unless
-- nobody reconciled them within poll_claim_seconds.
CREATE OR REPLACE FUNCTION lth_pvr.session_authenticated(
    p_session_id bigint,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, ext_order_id text, intent_id uuid, pair text, needs_reconcile boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_account uuid;
    v_worker  text;
BEGIN
    UPDATE lth_pvr.ws_sessions s
       SET authenticated_at = coalesce(s.authenticated_at, p_now)
     WHERE s.session_id = p_session_id
    RETURNING s.exchange_account_id, s.worker_id INTO v_account, v_worker;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session_authenticated: no WebSocket session %', p_session_id
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    WITH watched AS (
        UPDATE lth_pvr.exchange_orders o
           SET ws_monitored_at = p_now,
               poll_claimed_at = CASE WHEN o.status = 'submitted' THEN p_now ELSE o.poll_claimed_at END,
               poll_claimed_by = CASE WHEN o.status = 'submitted' THEN v_worker ELSE o.poll_claimed_by END
         WHERE o.exchange_account_id = v_account
           AND o.status IN ('placing', 'submitted')
           AND o.ws_monitored_at IS NULL
        RETURNING o.exchange_order_id, o.ext_order_id, o.intent_id, o.pair, o.status
    )
    SELECT w.exchange_order_id, w.ext_order_id, w.intent_id, w.pair, w.status = 'submitted'
      FROM watched w
     ORDER BY w.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.session_authenticated(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.session_authenticated(bigint, timestamptz) TO valr_worker;
