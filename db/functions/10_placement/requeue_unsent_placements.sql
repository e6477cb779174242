-- Owns: a claim whose request never left goes back to pending (place_again), so it is placed again
-- rather than failed: `placing` with placement_sent_at NULL (nothing was sent: begin_placement stamps
-- the attempt, committed, before any POST) and either its grace since the claim is over
-- (begin_placement refuses it from then on) or its claimer holds no unexpired lease of the account
-- any more (killed, or taken over), or its claimer restarted since the claim (a new process under the
-- same --worker-id: workers.started_at, set by worker_started). A claimer still alive after all can at worst still call
-- begin_placement once the order is claimed again: one of the two claims wins that call, so one
-- request leaves. Any order type: a limit order never sent is as safe to place again as a market one.
-- Of the accounts leased by p_worker_id (the worker's tick), or every account when NULL
-- (safety_net_tick). One event row each (source `system`, kind `claim`, outcome `placed_again`).
-- Returns how many went back to pending.
CREATE OR REPLACE FUNCTION lth_pvr.requeue_unsent_placements(
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v   record;
    v_n int := 0;
BEGIN
    FOR v IN
        SELECT o.exchange_order_id, o.exchange_account_id, o.claimed_by, o.claimed_at,
               lth_pvr.placement_grace_ends_at(NULL, o.claimed_at) <= p_now AS grace_over,
               o.claimed_at < (SELECT w.started_at FROM lth_pvr.workers w
                                WHERE w.worker_id = o.claimed_by) AS claimer_restarted
          FROM lth_pvr.exchange_orders o
         WHERE o.status = 'placing'
           AND o.placement_sent_at IS NULL
           AND (lth_pvr.placement_grace_ends_at(NULL, o.claimed_at) <= p_now
                OR NOT EXISTS (SELECT 1 FROM lth_pvr.worker_leases(o.claimed_by, p_now) l
                                WHERE l.exchange_account_id = o.exchange_account_id)
                OR o.claimed_at < (SELECT w.started_at FROM lth_pvr.workers w WHERE w.worker_id = o.claimed_by))
           AND (p_worker_id IS NULL OR o.exchange_account_id IN (
                   SELECT l.exchange_account_id FROM lth_pvr.worker_leases(p_worker_id, p_now) l))
         ORDER BY o.claimed_at, o.exchange_order_id
           FOR UPDATE OF o SKIP LOCKED
    LOOP
        PERFORM lth_pvr.place_again(v.exchange_order_id, p_now);
        PERFORM lth_pvr.log_order_event(v.exchange_order_id, v.exchange_account_id, 'system', 'claim',
            'placed_again', 'placing', 'pending', NULL,
            format('the request never left (claimed by %s at %s; %s): placed again', left(v.claimed_by, 200),
                   v.claimed_at, CASE WHEN v.grace_over THEN 'its grace is over'
                                      WHEN v.claimer_restarted THEN 'its claimer restarted since (a new process)'
                                      ELSE 'its claimer holds no lease of the account' END),
            NULL, p_now);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.requeue_unsent_placements(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.requeue_unsent_placements(text, timestamptz) TO valr_worker;
