-- Owns: the serialisation of an intent's writers — a transaction-scoped advisory lock on the intent,
-- held to commit. Taken by the intent invariant's trigger for every order row inserted or changed in
-- an intent that has other orders, and by place_intent_remainder before it sizes anything, so two
-- transactions adding orders to one intent, or changing what it asked, check the invariant one after
-- the other: the second waits, then sees what the first committed. (Two live orders of one intent also
-- collide on one_open_order_per_intent; this covers what the index does not: a finished order moved
-- into the intent, a changed first qty.)
-- Not a lock on the first order's row: the worker locks order rows to record VALR's word, and a
-- person's transaction left open after an INSERT would stall the recording of its account. A new
-- intent's first order takes no lock (the trigger's fast path), so a bulk INSERT of new intents holds
-- none; one of thousands of orders of existing intents in one transaction needs
-- max_locks_per_transaction raised. Its own key space (two int4 keys): migrate and the leases use one.
CREATE OR REPLACE FUNCTION lth_pvr.lock_intent(p_intent_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lth_pvr.intent'), hashtext(p_intent_id::text));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.lock_intent(uuid) FROM PUBLIC;
