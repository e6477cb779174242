-- Owns: marking poll-due (poll_due_at) the submitted market orders, of accounts leased by the worker,
-- whose lookup is due (market_lookup_due_at) and not yet marked; ONE NOTIFY lth_pvr_poll with their
-- ids (poll_notify), none when there are none. claim_due_polls then hands them out and the worker's
-- poll path asks VALR (one GET /v1/orders/open per subaccount, a status lookup when gone). An order
-- whose final word arrived is no longer `submitted`: no REST call is spent on it.
-- The worker calls it when next_market_lookup_due says so. Returns the orders marked.
CREATE OR REPLACE FUNCTION lth_pvr.mark_market_lookups_due(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS SETOF uuid
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    WITH marked AS (
        UPDATE lth_pvr.exchange_orders o
           SET poll_due_at = p_now
          FROM lth_pvr.worker_leases(p_worker_id, p_now) l
         WHERE l.exchange_account_id = o.exchange_account_id
           AND o.status = 'submitted'
           AND o.order_type = 'market'
           AND o.requires_polling
           AND o.poll_due_at IS NULL
           AND lth_pvr.market_lookup_due_at(o.submitted_at, o.last_polled_at, o.poll_count) <= p_now
        RETURNING o.exchange_order_id
    )
    SELECT array_agg(m.exchange_order_id ORDER BY m.exchange_order_id) INTO v_ids FROM marked m;
    IF v_ids IS NOT NULL THEN
        PERFORM lth_pvr.poll_notify(v_ids);
        RETURN QUERY SELECT unnest(v_ids);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.mark_market_lookups_due(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.mark_market_lookups_due(text, timestamptz) TO valr_worker;
