-- Owns: marking poll-due (poll_due_at) the submitted market orders, of accounts leased by the worker,
-- whose lookup is due (market_lookup_due_at) and not yet marked, through mark_poll_due (ONE NOTIFY
-- lth_pvr_poll with their ids, none when there are none). claim_due_polls then hands them out and the worker's
-- poll path asks VALR (one GET /v1/orders/open per subaccount, a status lookup when gone). An order
-- whose final word arrived is no longer `submitted`: no REST call is spent on it.
-- The worker calls it when next_market_lookup_due says so. Returns the orders marked.
CREATE OR REPLACE FUNCTION lth_pvr.mark_market_lookups_due(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS SETOF uuid
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT unnest(lth_pvr.mark_poll_due(ARRAY(
        SELECT o.exchange_order_id
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.worker_leases(p_worker_id, p_now) l ON l.exchange_account_id = o.exchange_account_id
         WHERE o.status = 'submitted'
           AND o.order_type = 'market'
           AND o.requires_polling
           AND o.poll_due_at IS NULL
           AND lth_pvr.market_lookup_due_at(o.submitted_at, o.last_polled_at, o.poll_count) <= p_now), p_now));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.mark_market_lookups_due(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.mark_market_lookups_due(text, timestamptz) TO valr_worker;
