-- Owns: targeted polling for people (the spec's ?order_ids=):
--   SELECT * FROM lth_pvr.request_poll(ARRAY['…']::uuid[]);
-- One row per distinct id, in the order given: `queued` (marked poll-due), `skipped_recent` (polled
-- within poll_recent_minutes), `terminal`, `not_placed` (pending/placing: nothing to look up yet),
-- `unknown_id`. One NOTIFY lth_pvr_poll with the queued ids, none when nothing was queued.
CREATE OR REPLACE FUNCTION lth_pvr.request_poll(p_ids uuid[], p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange_order_id uuid, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id      uuid;
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_outcome text;
    v_queued  uuid[] := '{}';
    v_recent  interval := make_interval(mins => lth_pvr.setting('poll_recent_minutes')::int);
BEGIN
    FOR v_id IN
        SELECT i.id FROM unnest(p_ids) WITH ORDINALITY AS i(id, n)
         WHERE i.id IS NOT NULL GROUP BY i.id ORDER BY min(i.n)
    LOOP
        SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = v_id FOR UPDATE;
        IF NOT FOUND THEN
            v_outcome := 'unknown_id';
        ELSIF lth_pvr.is_final(v_order.status) THEN
            v_outcome := 'terminal';
        ELSIF v_order.status IN ('pending', 'placing') THEN
            v_outcome := 'not_placed';
        ELSIF v_order.last_polled_at >= p_now - v_recent THEN
            v_outcome := 'skipped_recent';
        ELSE
            v_outcome := 'queued';
            v_queued := v_queued || v_id;
        END IF;
        RETURN QUERY SELECT v_id, v_outcome;
    END LOOP;
    PERFORM lth_pvr.mark_poll_due(v_queued, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_poll(uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_poll(uuid[], timestamptz) TO valr_operator;
