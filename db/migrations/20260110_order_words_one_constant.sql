-- exchange_orders' closed vocabularies (status, side, order_type, time_in_force, fallback_reason,
-- fallback_outcome, and the statuses an order may hold without an ext_order_id) and order_fills.source,
-- the same words, spelled as one array constant instead of a list of constants:
-- CHECK (status = ANY ('{…}'::text[])).
-- Why: as for order_events (20260110_event_words_one_constant.sql), PostgreSQL prepares a table's
-- CHECK constraints again, from their stored node trees, for every statement that writes it, and
-- `ARRAY['a'::text, …]` is stored as one constant node per word. Every fill's and every status
-- frame's read updates its order row in one statement (write_frame_effects), and the general path
-- one statement per change. A later migration adding words may spell the list either way (the last
-- one to rewrite a constraint must hold every word).
-- NOT VALID then VALIDATE: the same words, so every row passes (one scan per constraint, inside this
-- migration's transaction: writers of the two tables wait for it; docs/operations.md, Deployment notes).
ALTER TABLE lth_pvr.exchange_orders
    DROP CONSTRAINT status_must_be_known,
    ADD CONSTRAINT status_must_be_known
        CHECK (status = ANY ('{pending, placing, submitted, filled, cancelled, failed}'::text[])) NOT VALID,
    DROP CONSTRAINT placed_order_must_have_ext_order_id,
    ADD CONSTRAINT placed_order_must_have_ext_order_id
        CHECK (status = ANY ('{pending, placing, failed, cancelled}'::text[]) OR ext_order_id IS NOT NULL) NOT VALID,
    DROP CONSTRAINT side_must_be_buy_or_sell,
    ADD CONSTRAINT side_must_be_buy_or_sell CHECK (side = ANY ('{BUY, SELL}'::text[])) NOT VALID,
    DROP CONSTRAINT order_type_must_be_limit_or_market,
    ADD CONSTRAINT order_type_must_be_limit_or_market
        CHECK (order_type = ANY ('{limit, market}'::text[])) NOT VALID,
    DROP CONSTRAINT time_in_force_must_be_gtc_fok_or_ioc,
    ADD CONSTRAINT time_in_force_must_be_gtc_fok_or_ioc
        CHECK (time_in_force = ANY ('{GTC, FOK, IOC}'::text[])) NOT VALID,
    DROP CONSTRAINT fallback_reason_must_be_age_or_price,
    ADD CONSTRAINT fallback_reason_must_be_age_or_price
        CHECK (fallback_reason = ANY ('{age, price}'::text[])) NOT VALID,
    DROP CONSTRAINT fallback_outcome_must_be_known,
    ADD CONSTRAINT fallback_outcome_must_be_known CHECK (fallback_outcome = ANY ('{
        replaced, filled, below_minimum, remainder_unknown, refused, nothing_left, cancelled_by_person
    }'::text[])) NOT VALID;

ALTER TABLE lth_pvr.order_fills
    DROP CONSTRAINT order_fills_source_check,
    ADD CONSTRAINT order_fills_source_check CHECK (source = ANY ('{ws, poll, placement}'::text[])) NOT VALID;

ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT status_must_be_known;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT placed_order_must_have_ext_order_id;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT side_must_be_buy_or_sell;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT order_type_must_be_limit_or_market;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT time_in_force_must_be_gtc_fok_or_ioc;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT fallback_reason_must_be_age_or_price;
ALTER TABLE lth_pvr.exchange_orders VALIDATE CONSTRAINT fallback_outcome_must_be_known;
ALTER TABLE lth_pvr.order_fills VALIDATE CONSTRAINT order_fills_source_check;
