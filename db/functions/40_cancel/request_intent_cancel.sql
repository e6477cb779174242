-- Owns: a person's cancel of a whole intent: SELECT * FROM lth_pvr.request_intent_cancel('<intent_id>');
-- request_cancel on every open order of the intent (a limit order and its market replacement share
-- the intent_id), one row per order with request_cancel's answer: a fallback in flight is turned off
-- (`fallback_off`), a replacement not yet sent is cancelled before placement, a sent one is cancelled
-- on VALR. Looked again until no open order is left unanswered: request_cancel waits for the row lock
-- of an original whose final word is being recorded, and that transaction may have inserted its
-- replacement — a later statement sees it (READ COMMITTED), so no replacement escapes the cancel.
-- No rows when the intent has no open order.
CREATE OR REPLACE FUNCTION lth_pvr.request_intent_cancel(p_intent_id uuid, p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange_order_id uuid, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_answered uuid[] := '{}';
    v_next     uuid;
BEGIN
    LOOP
        SELECT o.exchange_order_id INTO v_next
          FROM lth_pvr.exchange_orders o
         WHERE o.intent_id = p_intent_id
           AND lth_pvr.is_open(o.status)
           AND NOT o.exchange_order_id = ANY (v_answered)
         ORDER BY o.created_at, o.exchange_order_id
         LIMIT 1;
        EXIT WHEN NOT FOUND;
        v_answered := v_answered || v_next;
        exchange_order_id := v_next;
        outcome := lth_pvr.request_cancel(v_next, p_now);
        RETURN NEXT;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_intent_cancel(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_intent_cancel(uuid, timestamptz) TO valr_operator;
