-- Owns: the intent invariant — an intent never executes more than it asked. Checked when a
-- replacement (replaces_order_id set) is inserted (or such a row's chain or qty is changed): the executed quantity of the intent's other
-- orders (intent_executed_qty: our fills or VALR's word, whichever is ahead) plus the replacement's
-- qty must not exceed the qty of its chain's first order (chain_root_qty). replace_after_fallback
-- sizes replacements so this holds; the trigger is the database's guarantee that nothing else (a
-- person's INSERT, a future code path) breaks it. The replaced order's row is locked first, so two
-- transactions inserting a replacement of it are serialised (and the unique constraint refuses the
-- second).
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_intent_invariant()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_asked    numeric;
    v_executed numeric;
BEGIN
    PERFORM 1 FROM exchange_orders o WHERE o.exchange_order_id = NEW.replaces_order_id FOR UPDATE;
    v_asked := chain_root_qty(NEW.replaces_order_id);
    v_executed := intent_executed_qty(NEW.intent_id, NEW.exchange_order_id);
    IF v_asked IS NULL OR v_executed + NEW.qty > v_asked THEN
        RAISE EXCEPTION 'intent % would execute % + % of the % it asked', NEW.intent_id, v_executed, NEW.qty, v_asked
            USING ERRCODE = 'check_violation', CONSTRAINT = 'intent_must_not_execute_more_than_asked',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM exchange_orders o
                    WHERE o.exchange_order_id = NEW.replaces_order_id AND o.intent_id = NEW.intent_id
                      AND o.status IN ('filled', 'cancelled', 'failed')) THEN
        RAISE EXCEPTION 'a replacement of % needs that order finished and of the same intent', NEW.replaces_order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'replacement_must_follow_a_finished_order_of_its_intent',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr';
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_intent_invariant() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_intent_invariant
    AFTER INSERT OR UPDATE OF replaces_order_id, qty, intent_id ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (NEW.replaces_order_id IS NOT NULL)
    EXECUTE FUNCTION lth_pvr.exchange_orders_intent_invariant();
