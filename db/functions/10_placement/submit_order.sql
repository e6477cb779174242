-- Owns: placing -> submitted, the one function both paths call: VALR's answer to the placement
-- (record_placement) and VALR's word about the order arriving first (apply_order_payload: a
-- "Placed" event, an open-orders item, a look-up of a lost placement). Sets VALR's id when not
-- yet known, submitted_at, the safety net (requires_polling). Watched (ws_monitored_at) when the
-- word came over the account's socket or an authenticated session of the account is open (it will
-- deliver the order's events); otherwise one REST reconciliation is owed (reconcile_due_at), since
-- events may be missed until a socket watches it — unless the word was an open-orders list, which
-- is that reconciliation. The caller has locked the row and writes the event-log row.
-- Internal.
CREATE OR REPLACE FUNCTION lth_pvr.submit_order(
    p_exchange_order_id uuid,
    p_ext_order_id text,
    p_source text,
    p_listed boolean,
    p_now timestamptz
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM lth_pvr.allow_status_change('submit_order');
    UPDATE lth_pvr.exchange_orders o
       SET status = 'submitted',
           ext_order_id = coalesce(o.ext_order_id, p_ext_order_id),
           submitted_at = coalesce(o.submitted_at, p_now),
           requires_polling = true,
           updated_at = p_now,
           ws_monitored_at = CASE WHEN w.watched THEN coalesce(o.ws_monitored_at, p_now) ELSE o.ws_monitored_at END,
           reconcile_due_at = CASE WHEN p_listed THEN NULL
                                   WHEN w.watched THEN o.reconcile_due_at
                                   ELSE coalesce(o.reconcile_due_at, p_now) END
      FROM (SELECT p_source = 'ws' OR EXISTS (
                       SELECT 1 FROM lth_pvr.ws_sessions s
                         JOIN lth_pvr.exchange_orders x ON x.exchange_account_id = s.exchange_account_id
                        WHERE x.exchange_order_id = p_exchange_order_id
                          AND s.authenticated_at IS NOT NULL AND s.closed_at IS NULL) AS watched) AS w
     WHERE o.exchange_order_id = p_exchange_order_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'submit_order: no order %', p_exchange_order_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM lth_pvr.allow_status_change(NULL);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.submit_order(uuid, text, text, boolean, timestamptz) FROM PUBLIC;
