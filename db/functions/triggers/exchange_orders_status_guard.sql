-- Owns: the transition table for every UPDATE, including one typed in psql: a status change that
-- status_transition_is_legal refuses (back to pending, out of a terminal status, …) is an error.
-- The recording functions never attempt one: they log an illegal transition and skip it.
-- A legal change is still refused (status_must_change_through_functions) unless one of our functions
-- made it (allow_status_change): a status typed by hand would bypass the rules and the safety net.
-- One exception: placing -> pending for an order unclaimed with no request pending (claimed_by and
-- placement_sent_at cleared) — record_auth_refused (VALR refused the key, so nothing was accepted)
-- and place_again (nothing sent, or VALR does not know it after the grace: placed again).
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_status_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    -- Two ways out of the table: placing -> pending (record_auth_refused, place_again: unclaimed),
    -- and an inferred failure revived on VALR's word (revive_order stamps revived_at).
    IF NOT lth_pvr.status_transition_is_legal(OLD.status, NEW.status)
       AND NOT (OLD.status = 'placing' AND NEW.status = 'pending'
                AND NEW.claimed_by IS NULL AND NEW.placement_sent_at IS NULL)
       AND NOT (lth_pvr.revival_is_legal(OLD.status, NEW.status, OLD.failed_inferred_at)
                AND NEW.revived_at IS DISTINCT FROM OLD.revived_at) THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.exchange_order_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition_must_be_legal',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'status';
    END IF;
    IF current_setting('lth_pvr.status_change', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'order %: a status changes only through the lth_pvr functions (VALR''s word, '
                        'request_cancel), never by UPDATE: it would bypass the transition rules and the safety net',
                        OLD.exchange_order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_must_change_through_functions',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'status';
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_status_guard() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_status_guard
    BEFORE UPDATE OF status ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION lth_pvr.exchange_orders_status_guard();
