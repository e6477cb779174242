-- Owns: inserting one pending order for people and strategies, failing loudly where a plain
-- INSERT … SELECT … WHERE subaccount_id = '…' would silently insert nothing: an unknown subaccount is
-- an error naming it. Returns the new exchange_order_id. The insert rules (pair precision, one open
-- order per intent, …) and the intent invariant (with p_intent_id of an intent under way: never more
-- than it lacks — place_intent_remainder sizes that) apply as to any INSERT.
--   SELECT lth_pvr.new_order('', 'BTCZAR', 'BUY', 1150000, 0.0001);
CREATE OR REPLACE FUNCTION lth_pvr.new_order(
    p_subaccount_id text,
    p_pair text,
    p_side text,
    p_price numeric,
    p_qty numeric,
    p_intent_id uuid DEFAULT NULL,
    p_post_only boolean DEFAULT false,
    p_time_in_force text DEFAULT 'GTC',
    p_now timestamptz DEFAULT now()
)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_account uuid;
    v_id      uuid;
BEGIN
    SELECT a.exchange_account_id INTO v_account FROM lth_pvr.exchange_accounts a
     WHERE a.subaccount_id = coalesce(p_subaccount_id, '')
       -- A subaccount id names a VALR account of the default key ('' is also every other exchange's
       -- account: those are named by exchange_account_id in a plain INSERT).
       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no exchange account with subaccount_id %', quote_literal(coalesce(p_subaccount_id, ''))
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'exchange_account_must_exist',
                  HINT = 'add it first: INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (…)';
    END IF;
    INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, post_only,
                                         time_in_force, created_at, updated_at)
    VALUES (v_account, coalesce(p_intent_id, gen_random_uuid()), p_pair, upper(p_side), p_price, p_qty,
            coalesce(p_post_only, false), coalesce(p_time_in_force, 'GTC'), p_now, p_now)
    RETURNING exchange_order_id INTO v_id;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.new_order(text, text, text, numeric, numeric, uuid, boolean, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.new_order(text, text, text, numeric, numeric, uuid, boolean, text, timestamptz) TO valr_operator;
