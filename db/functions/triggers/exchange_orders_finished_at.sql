-- Owns: finished_at — stamped once, when an order reaches filled, cancelled or failed, with the
-- updated_at the transition sets (every function moving a status stamps updated_at = p_now, so the
-- functions' clock argument drives it too).
CREATE OR REPLACE FUNCTION lth_pvr.exchange_orders_finished_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    NEW.finished_at := coalesce(NEW.finished_at, NEW.updated_at);
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_orders_finished_at() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_finished_at
    BEFORE UPDATE OF status ON lth_pvr.exchange_orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND lth_pvr.is_final(NEW.status))
    EXECUTE FUNCTION lth_pvr.exchange_orders_finished_at();
