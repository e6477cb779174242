-- Owns: lth_pvr.transitions for every UPDATE of a status, including one typed in psql. The move must
-- be a row of the table whose condition (only_when) holds on the row
--   unclaimed_and_unsent  placing -> pending: the claim undone (claimed_by, placement_sent_at cleared)
--   inferred_failure      failed -> submitted: a failure WE inferred (failed_inferred_at), revived_at stamped
-- else status_transition_must_be_legal (the recording functions never attempt one: they log an
-- illegal transition and skip it). It must be made under a function's permit (allow_status_change),
-- else status_must_change_through_functions: a status typed by hand would bypass the rules and the
-- safety net. And the permit must name the row's `via`, else status_transition_must_go_via_its_function:
-- each move has one home.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_status_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_vias   text[];
    v_permit text := nullif(current_setting('lth_pvr.status_change', true), '');
BEGIN
    SELECT array_agg(t.via ORDER BY t.via) INTO v_vias
      FROM lth_pvr.transitions t
     WHERE t.from_status = OLD.status AND t.to_status = NEW.status
       AND CASE t.only_when
               WHEN 'unclaimed_and_unsent' THEN NEW.claimed_by IS NULL AND NEW.placement_sent_at IS NULL
               WHEN 'inferred_failure' THEN OLD.failed_inferred_at IS NOT NULL
                                            AND NEW.revived_at IS DISTINCT FROM OLD.revived_at
               ELSE t.only_when IS NULL
           END;
    IF v_vias IS NULL THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.exchange_order_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition_must_be_legal',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'status';
    END IF;
    IF v_permit IS NULL THEN
        RAISE EXCEPTION 'order %: a status changes only through the lth_pvr functions (VALR''s word, '
                        'request_cancel), never by UPDATE: it would bypass the transition rules and the safety net',
                        OLD.exchange_order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_must_change_through_functions',
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr', COLUMN = 'status';
    END IF;
    IF v_permit <> ALL (v_vias) THEN
        RAISE EXCEPTION 'order %: % -> % is made by % (lth_pvr.transitions), not by %', OLD.exchange_order_id,
                        OLD.status, NEW.status, array_to_string(v_vias, ' or '), v_permit
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition_must_go_via_its_function',
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
