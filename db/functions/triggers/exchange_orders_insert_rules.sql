-- Owns: what may be inserted into exchange_orders (BEFORE INSERT).
--   * only `pending` (the worker places it) or `submitted` (placed by another system: needs its
--     ext_order_id; submitted_at defaults to now(); one REST reconciliation is owed);
--   * qty must fit the pair's base_decimal_places and price must be a multiple of its tick_size
--     when the pair is in lth_pvr.pairs: VALR truncates silently, we refuse;
--   * a pending order (the worker will place it) must also suit VALR's pair rules as last refreshed:
--     the pair known and active, qty within [min_base_amount, max_base_amount], qty × price within
--     [min_quote_amount, max_quote_amount] (a market order's value at the last price seen, when one is
--     known: market_order_price), its order type (LIMIT, LIMIT_POST_ONLY, MARKET) among the pair's
--     order types when known.
--     A pair unknown to a table never refreshed from VALR is accepted with a warning row in
--     order_events (outcome `pair_unchecked`); once refreshed, an unknown pair is refused. An order inserted as
--     `submitted` is already on VALR: only the precision rules apply (refusing it would hide it).
--   * customer_order_id (sent as customerOrderId) is the intent_id, or for a replacement
--     (replaces_order_id) the order's own id: never chosen by the inserter;
--   * a pending limit order's fallback (fallback_after, fallback_price_move) when not given: its
--     account's, else the global settings fallback_after_seconds / fallback_price_move (0 = off); an
--     explicit 0 on the order means "no fallback" and is stored as NULL (fallback_defaults); a price
--     fallback's confirmation (fallback_price_confirm_ms) likewise: the order's, its account's, the
--     setting. An order registered as `submitted` inherits no fallback: only its own row may ask for one.
--   * no non-finite qty or price ('Infinity', 'NaN': numeric takes both, and both pass "> 0"), checked
--     first (qty_must_be_finite, price_must_be_finite; the table's CHECKs of the same names back them),
--     and no absurd size: price × qty at most settings.order_value_max (order_value_must_be_plausible).
-- Errors are constraint-style (check_violation, named rule) so psql users see which rule failed.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_insert_rules()
RETURNS trigger
LANGUAGE plpgsql
-- As its owner: a valr_operator member inserts orders, and the rules this calls (pair rules, fallback
-- defaults, the event log) are not theirs to call.
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_pair lth_pvr.pairs%ROWTYPE;
BEGIN
    IF NEW.status NOT IN ('pending', 'submitted') THEN
        RAISE EXCEPTION 'status % cannot be inserted: insert orders as pending (or submitted when placed elsewhere)', NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_must_be_inserted_pending_or_submitted',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'status';
    END IF;
    IF NOT NEW.qty < 'Infinity' THEN
        RAISE EXCEPTION 'qty % is not a finite number', NEW.qty
            USING ERRCODE = 'check_violation', CONSTRAINT = 'qty_must_be_finite',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'qty';
    END IF;
    IF NOT NEW.price < 'Infinity' THEN
        RAISE EXCEPTION 'price % is not a finite number', NEW.price
            USING ERRCODE = 'check_violation', CONSTRAINT = 'price_must_be_finite',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'price';
    END IF;
    IF NEW.qty * NEW.price > lth_pvr.setting('order_value_max') THEN
        RAISE EXCEPTION 'price x qty = % is absurd (over settings.order_value_max %)', NEW.qty * NEW.price,
                        lth_pvr.setting('order_value_max')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_value_must_be_plausible',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'qty';
    END IF;
    IF NEW.status = 'submitted' THEN
        IF NEW.ext_order_id IS NULL THEN
            RAISE EXCEPTION 'an order inserted as submitted needs its VALR ext_order_id'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'submitted_order_must_have_ext_order_id',
                      TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'ext_order_id';
        END IF;
        NEW.submitted_at := coalesce(NEW.submitted_at, now());
        NEW.reconcile_due_at := now();
    END IF;

    NEW.customer_order_id := CASE WHEN NEW.replaces_order_id IS NULL THEN NEW.intent_id ELSE NEW.exchange_order_id END;
    SELECT d.fallback_after, d.fallback_price_move, d.fallback_price_confirm_ms
      INTO NEW.fallback_after, NEW.fallback_price_move, NEW.fallback_price_confirm_ms
      FROM lth_pvr.fallback_defaults(NEW) d;

    -- The pair of the order's exchange (NEW.exchange: set from the account by exchange_orders_exchange).
    SELECT * INTO v_pair FROM lth_pvr.pairs p WHERE p.exchange = NEW.exchange AND p.pair = NEW.pair;
    IF FOUND THEN
        IF NEW.qty IS NOT NULL AND trunc(NEW.qty, v_pair.base_decimal_places) <> NEW.qty THEN
            RAISE EXCEPTION 'qty % does not fit % (at most % decimal places)', NEW.qty, NEW.pair, v_pair.base_decimal_places
                USING ERRCODE = 'check_violation', CONSTRAINT = 'qty_must_fit_pair_precision',
                      TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'qty';
        END IF;
        IF NEW.price IS NOT NULL AND mod(NEW.price, v_pair.tick_size) <> 0 THEN
            RAISE EXCEPTION 'price % does not fit % (must be a multiple of tick size %)', NEW.price, NEW.pair, v_pair.tick_size
                USING ERRCODE = 'check_violation', CONSTRAINT = 'price_must_fit_pair_tick_size',
                      TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'price';
        END IF;
    END IF;
    IF NEW.status = 'pending' THEN
        PERFORM lth_pvr.check_pair_rules(NEW, v_pair);
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_insert_rules() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_insert_rules
    BEFORE INSERT ON lth_pvr.exchange_orders
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_orders_insert_rules();
