-- Owns: the cancels a fallback trigger fires handed straight to the worker whose call fired them — in
-- the transaction that records the price (record_market_prices) or the due time (request_due_fallbacks)
-- and requests the cancel (request_fallback), so the DELETE leaves right after the commit: no
-- claim_cancel_requests round trip after it. The claim is the usual one, called, not copied:
-- claim_cancel_requests claims them for p_worker_id (only orders of accounts that worker leases, still
-- submitted, cancel due; FOR UPDATE SKIP LOCKED) and stamps cancel_sent_at / cancel_attempts before the
-- commit. From then on it is an ordinary cancel attempt: a worker killed between the commit and the
-- DELETE leaves a cancel owed, sent again after cancel_retry_seconds (cancel_is_due) by whoever holds
-- the lease; the status still moves only on VALR's word. The fired orders of accounts another worker
-- leases are not handed over: their lease holder claims them on the NOTIFY lth_pvr_cancel.
-- p_fired_ids: the orders the call fired (empty or NULL: nothing, never every due cancel).
-- Returns a JSON array of claim_cancel_requests' rows. Should the hand-over fail, it is undone alone
-- (the price and the fallback stay recorded; the cancel stays owed for the usual claim).
-- Called by the worker in the same statement as record_market_prices / request_due_fallbacks
-- (worker/db/store.py).
CREATE OR REPLACE FUNCTION lth_pvr.hand_over_cancels(
    p_worker_id text,
    p_fired_ids uuid[],
    p_now timestamptz DEFAULT now()
)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_out jsonb;
BEGIN
    IF coalesce(cardinality(p_fired_ids), 0) = 0 THEN
        RETURN '[]';
    END IF;
    BEGIN
        SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO v_out
          FROM claim_cancel_requests(p_worker_id, p_fired_ids, p_now) c;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'hand_over_cancels: % (%): the cancels stay owed', SQLERRM, SQLSTATE;
        RETURN '[]';
    END;
    RETURN v_out;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.hand_over_cancels(text, uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.hand_over_cancels(text, uuid[], timestamptz) TO valr_worker;
