-- Owns: finding which of our orders a VALR payload is about, within one account.
--   1. by VALR's orderId (ext_order_id); an orderId we hold under ANOTHER account is not ours here;
--   2. else by customerOrderId = intent_id, among the account's orders that have no ext_order_id yet
--      (an event racing the placement answer), the open one first.
-- NULL when none matches (the caller logs `not_ours`).
CREATE OR REPLACE FUNCTION lth_pvr.match_order(
    p_exchange_account_id uuid,
    p_valr_order_id text,
    p_customer_order_id uuid
)
RETURNS uuid
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_id uuid;
    v_account uuid;
BEGIN
    IF p_valr_order_id IS NOT NULL THEN
        SELECT o.exchange_order_id, o.exchange_account_id INTO v_id, v_account
          FROM lth_pvr.exchange_orders o
         WHERE o.ext_order_id = p_valr_order_id;
        IF FOUND THEN
            RETURN CASE WHEN v_account = p_exchange_account_id THEN v_id END;
        END IF;
    END IF;
    IF p_customer_order_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT o.exchange_order_id INTO v_id
      FROM lth_pvr.exchange_orders o
     WHERE o.intent_id = p_customer_order_id
       AND o.exchange_account_id = p_exchange_account_id
       AND (o.ext_order_id IS NULL OR p_valr_order_id IS NULL)
     ORDER BY (o.status IN ('pending', 'placing', 'submitted')) DESC, o.created_at DESC
     LIMIT 1;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.match_order(uuid, text, uuid) FROM PUBLIC;
