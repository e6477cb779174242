-- Owns: the pg_cron job (`*/10 * * * *`, the spec's ef_poll_orders): marks the safety net's orders
-- (safety_net_due) poll-due and sends ONE NOTIFY lth_pvr_poll with their ids. With none: nothing
-- is marked and nothing is sent, so an idle tick costs no REST call. Every tick leaves one row in
-- safety_net_runs (what v_last_safety_net_run shows). Returns how many orders were marked due.
-- It is also the time trigger's safety net: age fallbacks that fell due and that no worker fired
-- (request_due_fallbacks for every account) get their cancel requested.
-- It also retires dead workers (retire_lost_workers) and places again the claims they never sent
-- (requeue_unsent_placements), so that happens with no worker running too.
CREATE OR REPLACE FUNCTION lth_pvr.safety_net_tick(p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_ids uuid[];
    v_n   int;
BEGIN
    PERFORM count(*) FROM lth_pvr.request_due_fallbacks(NULL, p_now);
    v_ids := lth_pvr.mark_poll_due(ARRAY(SELECT d.exchange_order_id FROM lth_pvr.safety_net_due(p_now) d), p_now);
    v_n := cardinality(v_ids);
    PERFORM lth_pvr.retire_lost_workers(p_now);
    PERFORM lth_pvr.requeue_unsent_placements(NULL, p_now);  -- claims of workers gone, none running too
    INSERT INTO lth_pvr.safety_net_runs (ran_at, orders_due, notified) VALUES (p_now, v_n, v_n > 0);
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.safety_net_tick(timestamptz) FROM PUBLIC;
