-- Owns: what a placement request refused without VALR accepting anything does to the order. The worker
-- says what it heard (p_refusal) and the detail; the decision is here:
--   valr_error    VALR answered the POST with an error (its word: the order was not accepted)
--   rate_limited  VALR answered 429 to the POST after the client's own waits (it accepted nothing)
--   precision     the client's own check of the pair's precision refused it before sending (nothing left)
-- Each is a known outcome, so the order fails with the reason (placing -> failed through
-- record_placement, hence finish_order; the same event rows). An order already moved on keeps its
-- status (record_placement's outcomes). A refused API key is not this: record_auth_refused (the order
-- goes back to pending). Every retry refused until the grace passed: retry_placement.
CREATE OR REPLACE FUNCTION lth_pvr.record_placement_refused(
    p_exchange_order_id uuid,
    p_refusal text,
    p_detail text,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (status text, changed boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_reason text := CASE p_refusal
        WHEN 'valr_error' THEN 'VALR refused: ' || p_detail
        WHEN 'rate_limited' THEN format('VALR rate limit: not accepted (%s)', p_detail)
        WHEN 'precision' THEN 'refused before sending: ' || p_detail
    END;
BEGIN
    IF v_reason IS NULL THEN
        RAISE EXCEPTION 'record_placement_refused: unknown refusal % (or no detail)', p_refusal
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT * FROM lth_pvr.record_placement(p_exchange_order_id, NULL, left(v_reason, 500), NULL, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_placement_refused(uuid, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_placement_refused(uuid, text, text, timestamptz) TO valr_worker;
