-- Owns: the intent invariant — an intent never executes more than it asked — for every row of an
-- intent, whoever writes it (the fallback's replacement, a strategy's or a valr_operator member's
-- INSERT, new_order, a registered `submitted` order placed elsewhere, a superuser's UPDATE of qty or
-- intent_id): after the write, what the intent's orders executed plus what they may still execute
-- (intent_executes_at_most) must not exceed what it asked (intent_asked_qty, its first order's qty),
-- else `intent_must_not_execute_more_than_asked`. The intent is locked first (lock_intent), so
-- concurrent writers of one intent are checked one after the other; a new intent's first order needs
-- no lock (nothing to add up). A replacement (replaces_order_id) must also follow a finished order of
-- its own intent
-- (`replacement_must_follow_a_finished_order_of_its_intent`); at most one replacement per order is the
-- unique constraint `one_replacement_per_order`.
-- VALR's word (fills, statuses, a revival) is never refused here: it does not fire this trigger. What
-- VALR executed beyond the ask is the alert intent_over_executed.
-- SECURITY DEFINER: a valr_operator member's INSERT fires it, and the functions it calls are the
-- owner's (the old FOR UPDATE of the replaced order needed rights such a member lacks).
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_intent_invariant()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_intents  uuid[];
    v_intent   uuid;
    v_asked    numeric;
    v_at_most  numeric;
BEGIN
    -- The common case, cheaply: a new intent's first order asks what it may execute.
    IF TG_OP = 'INSERT' AND NEW.replaces_order_id IS NULL AND order_executes_at_most(NEW) <= NEW.qty
       AND NOT EXISTS (SELECT 1 FROM exchange_orders o
                        WHERE o.intent_id = NEW.intent_id AND o.exchange_order_id <> NEW.exchange_order_id) THEN
        RETURN NULL;
    END IF;
    -- An UPDATE of intent_id changes two intents: lock both, in one order (no deadlock between two such).
    v_intents := CASE WHEN TG_OP = 'UPDATE' AND OLD.intent_id <> NEW.intent_id
                      THEN ARRAY[least(OLD.intent_id, NEW.intent_id), greatest(OLD.intent_id, NEW.intent_id)]
                      ELSE ARRAY[NEW.intent_id] END;
    FOREACH v_intent IN ARRAY v_intents LOOP
        PERFORM lock_intent(v_intent);
    END LOOP;
    IF NEW.replaces_order_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM exchange_orders o
                        WHERE o.exchange_order_id = NEW.replaces_order_id AND o.intent_id = NEW.intent_id
                          AND is_final(o.status)) THEN
        RAISE EXCEPTION 'a replacement of % needs that order finished and of the same intent', NEW.replaces_order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'replacement_must_follow_a_finished_order_of_its_intent',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr';
    END IF;
    FOREACH v_intent IN ARRAY v_intents LOOP
        v_asked := intent_asked_qty(v_intent);
        v_at_most := intent_executes_at_most(v_intent);
        IF v_at_most > coalesce(v_asked, 0) THEN
            RAISE EXCEPTION 'intent % would execute up to % of the % it asked (its first order''s qty)',
                            v_intent, v_at_most, coalesce(v_asked::text, 'nothing')
                USING ERRCODE = 'check_violation', CONSTRAINT = 'intent_must_not_execute_more_than_asked',
                      TABLE = 'exchange_orders', SCHEMA = 'lth_pvr',
                      HINT = format('what the intent still lacks, once none of its orders is live: SELECT '
                                    'lth_pvr.place_intent_remainder(%L); an order placed elsewhere is '
                                    'registered under its own intent_id', v_intent);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_intent_invariant() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_intent_invariant
    AFTER INSERT OR UPDATE OF replaces_order_id, qty, intent_id ON lth_pvr.exchange_orders
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_orders_intent_invariant();
