-- Owns: waking the worker (AFTER triggers; payloads carry ids, the worker re-reads state):
--   lth_pvr_pending    an order inserted as pending and still pending when its transaction commits
--                      (the deferred constraint trigger exchange_orders_notify_pending, migration
--                      20260110_pending_notify_at_commit)      payload: exchange_account_id
--                      A fallback's replacement handed over in the transaction that inserted it
--                      (hand_over_replacements) is claimed by then: no NOTIFY, which would only wake
--                      the runner to claim nothing and run a whole tick beside the next Cancelled's
--                      recording. One not handed over (another worker's account, a refused key, VALR's
--                      word by REST) is still pending at commit and wakes the runner as before.
--   lth_pvr_submitted  an order inserted as, or becomes, submitted   payload: exchange_account_id
--   lth_pvr_cancel     cancel_requested_at set on an open order      payload: exchange_order_id
-- lth_pvr_poll is sent once per call by mark_poll_due (the safety net, request_poll, …), and
-- lth_pvr_recorded by record_batch. PostgreSQL folds identical notifications of one transaction.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_notify()
RETURNS trigger
LANGUAGE plpgsql
-- SECURITY DEFINER: the deferred trigger fires at COMMIT, outside the SECURITY DEFINER function that
-- inserted the row, as whoever commits (valr_worker, a valr_operator member) — who may not read the table.
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF TG_NAME = 'exchange_orders_notify_pending' THEN  -- deferred: the row as the transaction leaves it
        IF EXISTS (SELECT 1 FROM exchange_orders o
                    WHERE o.exchange_order_id = NEW.exchange_order_id AND o.status = 'pending') THEN
            PERFORM pg_notify('lth_pvr_pending', NEW.exchange_account_id::text);
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.status = 'submitted' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'submitted') THEN
        PERFORM pg_notify('lth_pvr_submitted', NEW.exchange_account_id::text);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL
       AND NEW.status IN ('placing', 'submitted') THEN
        PERFORM pg_notify('lth_pvr_cancel', NEW.exchange_order_id::text);
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_notify() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_notify_insert
    AFTER INSERT ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (NEW.status = 'submitted')
    EXECUTE FUNCTION lth_pvr.exchange_orders_notify();

CREATE OR REPLACE TRIGGER exchange_orders_notify_update
    AFTER UPDATE OF status, cancel_requested_at ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (
        (NEW.status = 'submitted' AND OLD.status IS DISTINCT FROM 'submitted')
        OR (NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL))
    EXECUTE FUNCTION lth_pvr.exchange_orders_notify();
