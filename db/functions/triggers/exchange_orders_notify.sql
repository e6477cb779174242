-- Owns: waking the worker (AFTER triggers; payloads carry ids, the worker re-reads state):
--   lth_pvr_pending    an order inserted as pending          payload: exchange_account_id
--   lth_pvr_submitted  an order inserted as, or becomes, submitted   payload: exchange_account_id
--   lth_pvr_cancel     cancel_requested_at set on an open order      payload: exchange_order_id
-- lth_pvr_poll is sent once per call by mark_poll_due (the safety net, request_poll, …), and
-- lth_pvr_recorded by record_batch. PostgreSQL folds identical notifications of one transaction.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status = 'pending' THEN
        PERFORM pg_notify('lth_pvr_pending', NEW.exchange_account_id::text);
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
    FOR EACH ROW WHEN (NEW.status IN ('pending', 'submitted'))
    EXECUTE FUNCTION lth_pvr.exchange_orders_notify();

CREATE OR REPLACE TRIGGER exchange_orders_notify_update
    AFTER UPDATE OF status, cancel_requested_at ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (
        (NEW.status = 'submitted' AND OLD.status IS DISTINCT FROM 'submitted')
        OR (NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL))
    EXECUTE FUNCTION lth_pvr.exchange_orders_notify();
