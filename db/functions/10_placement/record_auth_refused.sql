-- Owns: placing -> pending for a worker whose API key VALR refused (401/403 on a signed request: the
-- worker calls it when its placement POST is refused so). An authentication refusal is VALR's word that it accepted
-- nothing, so instead of failing every order the worker claimed, the worker is marked refused
-- (workers.auth_refused_at: it claims and sends nothing more, and the auth_refused alert fires), and
-- its claimed orders go back to pending: every one whose request never left (placement_sent_at
-- NULL), and p_refused_order_id, the one whose POST VALR just refused. Orders sent and not refused
-- stay placing (their answer is still to come). Logged as kind `claim` (the claim undone), placing ->
-- pending. Returns how many orders went back to pending.
CREATE OR REPLACE FUNCTION lth_pvr.record_auth_refused(
    p_worker_id text,
    p_reason text,
    p_refused_order_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_n int;
BEGIN
    INSERT INTO lth_pvr.workers AS w (worker_id, last_seen_at, auth_refused_at, auth_refused_reason)
    VALUES (p_worker_id, p_now, p_now, left(p_reason, 500))
    ON CONFLICT (worker_id) DO UPDATE
       SET auth_refused_at = coalesce(w.auth_refused_at, p_now), auth_refused_reason = left(p_reason, 500);

    PERFORM lth_pvr.allow_status_change('record_auth_refused');  -- the status guard's permit, for this UPDATE only
    WITH back AS (
        UPDATE lth_pvr.exchange_orders o
           SET status = 'pending', claimed_at = NULL, claimed_by = NULL, placement_sent_at = NULL,
               updated_at = p_now
         WHERE o.status = 'placing'
           AND o.claimed_by = p_worker_id
           AND (o.placement_sent_at IS NULL OR o.exchange_order_id = p_refused_order_id)
        RETURNING o.exchange_order_id, o.exchange_account_id
    ), logged AS (
        INSERT INTO lth_pvr.order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                          old_status, new_status, received_at, detail)
        SELECT b.exchange_order_id, b.exchange_account_id, 'system', 'claim', 'applied',
               'placing', 'pending', p_now, left('API key refused by VALR: ' || p_reason, 500)
          FROM back b
    )
    SELECT count(*) INTO v_n FROM back;
    PERFORM lth_pvr.allow_status_change(NULL);
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_auth_refused(text, text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_auth_refused(text, text, uuid, timestamptz) TO valr_worker;
