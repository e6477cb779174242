-- lth_pvr_pending is sent when the inserting transaction commits, and only for an order still pending
-- then (db/functions/triggers/exchange_orders_notify.sql says why): a constraint trigger, deferred to the
-- commit, replaces the pending branch of the immediate insert trigger (whose WHEN the triggers file now
-- limits to submitted). Created here once: a constraint trigger cannot be CREATE OR REPLACEd, as the
-- function files' triggers are on every migrate. Its function is the notify trigger's own; a fresh
-- install reaches this migration before the function files, so a placeholder is created when the
-- function does not exist yet (the triggers file replaces it in the same migrate).
DO $do$
BEGIN
    IF to_regprocedure('lth_pvr.exchange_orders_notify()') IS NULL THEN
        CREATE FUNCTION lth_pvr.exchange_orders_notify() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RETURN NULL; END $$;
    END IF;
END
$do$;

DROP TRIGGER IF EXISTS exchange_orders_notify_pending ON lth_pvr.exchange_orders;
CREATE CONSTRAINT TRIGGER exchange_orders_notify_pending
    AFTER INSERT ON lth_pvr.exchange_orders
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'pending')
    EXECUTE FUNCTION lth_pvr.exchange_orders_notify();
