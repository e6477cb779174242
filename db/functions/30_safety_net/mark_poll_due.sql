-- Owns: marking orders poll-due: of p_ids, those VALR may hold (placing, submitted) get poll_due_at
-- (an earlier due time is kept), and ONE NOTIFY lth_pvr_poll names them (poll_notify); none marked,
-- nothing sent. Returns the ids marked, sorted. The one writer of poll_due_at = due: the safety net's
-- tick, request_poll (a person), mark_market_lookups_due, record_cancel_failed (a cancel VALR
-- refused on the socket). Clearing it is record_poll's and finish_order's.
CREATE OR REPLACE FUNCTION lth_pvr.mark_poll_due(p_ids uuid[], p_now timestamptz)
RETURNS uuid[]
LANGUAGE plpgsql
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    WITH marked AS (
        UPDATE lth_pvr.exchange_orders o
           SET poll_due_at = coalesce(o.poll_due_at, p_now)
         WHERE o.exchange_order_id = ANY (p_ids)
           AND o.status IN ('placing', 'submitted')
        RETURNING o.exchange_order_id
    )
    SELECT array_agg(m.exchange_order_id ORDER BY m.exchange_order_id) INTO v_ids FROM marked m;
    IF v_ids IS NOT NULL THEN
        PERFORM lth_pvr.poll_notify(v_ids);
    END IF;
    RETURN coalesce(v_ids, '{}');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.mark_poll_due(uuid[], timestamptz) FROM PUBLIC;
