-- Owns: reporting `placing` orders whose placement outcome is unknown, of accounts leased by the
-- worker when given: the request left over N seconds ago and no answer was recorded (the answer was
-- lost), or it never left and its grace has ended (placement_grace_ends_at: its worker died before
-- sending, or it waited too long: the lookup lets record_placement_not_found fail it). The worker looks each up by
-- its customerOrderId (customer_order_id) and reports through record_poll / record_order_update; nothing here changes state.
CREATE OR REPLACE FUNCTION lth_pvr.list_unresolved_placements(
    p_older_than_seconds int DEFAULT 10,
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, intent_id uuid,
               pair text, claimed_at timestamptz, claimed_by text, customer_order_id uuid)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.intent_id, o.pair,
           o.claimed_at, o.claimed_by, o.customer_order_id
      FROM lth_pvr.exchange_orders o
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
     WHERE o.status = 'placing'
       AND CASE WHEN o.placement_sent_at IS NOT NULL
                THEN o.placement_sent_at < p_now - make_interval(secs => p_older_than_seconds)
                ELSE lth_pvr.placement_grace_ends_at(NULL, o.claimed_at) <= p_now
           END
       AND (p_worker_id IS NULL OR EXISTS (
               SELECT 1 FROM lth_pvr.subaccount_leases l
                WHERE l.exchange_account_id = o.exchange_account_id
                  AND l.worker_id = p_worker_id AND l.expires_at > p_now))
     ORDER BY o.claimed_at, o.exchange_order_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.list_unresolved_placements(int, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.list_unresolved_placements(int, text, timestamptz) TO valr_worker;
