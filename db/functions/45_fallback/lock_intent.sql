-- Owns: the serialisation of an intent's writers — a transaction-scoped advisory lock on the intent,
-- held to commit. Taken by the intent invariant's trigger for every order row inserted or changed
-- (and by place_intent_remainder before it sizes anything), so two transactions adding orders to the
-- same intent, or changing what it asked, check the invariant one after the other: the second sees
-- what the first committed. (Two live orders of one intent also collide on one_open_order_per_intent;
-- this covers what the index does not: a finished order moved into the intent, a changed first qty.)
-- Its own key space (two int4 keys): the migrate lock and the leases use single keys.
CREATE OR REPLACE FUNCTION lth_pvr.lock_intent(p_intent_id uuid)
RETURNS void
LANGUAGE sql
SET search_path = lth_pvr, pg_temp
AS $$
    SELECT pg_advisory_xact_lock(hashtext('lth_pvr.intent'), hashtext(p_intent_id::text))
$$;

REVOKE ALL ON FUNCTION lth_pvr.lock_intent(uuid) FROM PUBLIC;
