-- Owns: the serialisation of an intent's writers — the intent's first order (intent_first_order)
-- locked FOR UPDATE to commit. Taken by the intent invariant's trigger for every order row inserted
-- or changed, and by place_intent_remainder before it sizes anything, so two transactions adding
-- orders to one intent, or changing what it asked, check the invariant one after the other: the second
-- waits, then sees what the first committed. (Two live orders of one intent also collide on
-- one_open_order_per_intent; this covers what the index does not: a finished order moved into the
-- intent, a changed first qty.) A row lock, not an advisory lock: a bulk INSERT of thousands of
-- orders would hold thousands of advisory locks (the shared lock table is small). p_inserted: an
-- order this transaction is inserting is not locked when it is the first (nobody else sees it yet).
CREATE OR REPLACE FUNCTION lth_pvr.lock_intent(p_intent_id uuid, p_inserted uuid DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_first uuid := lth_pvr.intent_first_order(p_intent_id);
BEGIN
    IF v_first IS DISTINCT FROM p_inserted THEN
        PERFORM 1 FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = v_first FOR UPDATE;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.lock_intent(uuid, uuid) FROM PUBLIC;
