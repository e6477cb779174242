-- Owns: a fallback's replacement handed straight to the worker whose socket session brought VALR's
-- final word on the original — in the transaction that records that word and inserts the replacement
-- (replace_after_fallback), so its market POST leaves right after the commit: no NOTIFY hop, no claim
-- and begin_placement round trips. The placement rules are the usual ones, called, not copied:
-- claim_pending_orders claims it for the session's worker (pending -> placing, only on an account that
-- worker leases, never while VALR refuses its key or clock: then it stays pending for the usual claim),
-- begin_placement stamps its first attempt (placement_sent_at) before the commit. From then on it is
-- an ordinary placement: a worker killed between the commit and the POST leaves a `placing` order
-- with its attempt stamped, which the lost-placement lookup by customerOrderId settles (VALR does not
-- know it after the grace: placed again, settle_lost_placement), placed once.
-- p_finished_ids: the orders the batch finished; their pending replacements are handed over (a person's
-- cancel turned the fallback off before VALR's word: replace_after_fallback inserted none).
-- Returns a JSON array of claim_pending_orders' rows (price and qty as strings: exact), each with
-- send_within_seconds: the first attempt was stamped here, before any wait for the REST budget, so
-- the worker sends it only within half the placement grace (placement_grace_seconds) of the commit —
-- a request that would leave later is not sent (the lost-placement lookup settles it), so no request
-- can still be on its way when a lookup may judge the order lost.
-- Called by the worker with record_batch, in the same statement (worker/db/store.py).
CREATE OR REPLACE FUNCTION lth_pvr.hand_over_replacements(
    p_session_id bigint,
    p_finished_ids uuid[],
    p_now timestamptz DEFAULT now()
)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_ids     uuid[];
    v_session ws_sessions%ROWTYPE;
    v_claimed record;
    v_out     jsonb := '[]';
BEGIN
    IF coalesce(cardinality(p_finished_ids), 0) = 0 THEN
        RETURN v_out;
    END IF;
    SELECT array_agg(r.exchange_order_id) INTO v_ids
      FROM exchange_orders r
     WHERE r.replaces_order_id = ANY (p_finished_ids) AND r.status = 'pending';
    SELECT * INTO v_session FROM ws_sessions s WHERE s.session_id = p_session_id;
    IF v_ids IS NULL OR NOT FOUND THEN
        RETURN v_out;
    END IF;
    -- Never at the cost of the recording: should the hand-over fail, it is undone alone and the
    -- replacement stays pending for the usual claim (its NOTIFY).
    BEGIN
        FOR v_claimed IN
            SELECT * FROM claim_pending_orders(v_session.worker_id, ARRAY[v_session.exchange_account_id],
                                               cardinality(v_ids), v_ids, p_now)
        LOOP
            IF begin_placement(v_claimed.exchange_order_id, p_now) THEN
                v_out := v_out || jsonb_build_array(to_jsonb(v_claimed) || jsonb_build_object(
                    'price', v_claimed.price::text, 'qty', v_claimed.qty::text,
                    'send_within_seconds', setting('placement_grace_seconds') / 2));
            END IF;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'hand_over_replacements: % (%): the replacements stay pending', SQLERRM, SQLSTATE;
        RETURN '[]';
    END;
    RETURN v_out;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.hand_over_replacements(bigint, uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.hand_over_replacements(bigint, uuid[], timestamptz) TO valr_worker;
