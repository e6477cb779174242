-- Owns: the `exchange` column of every table keyed on an exchange's own ids (exchange_orders'
-- ext_order_id, order_fills' trade_id, account_transactions' transaction_id): always the account's
-- exchange (an order fill's: its order's, and its id_scope: trade_id_scope), whatever the writer says —
-- a worker, a strategy's INSERT, a superuser's UPDATE. The ids are unique per (exchange, id): an
-- exchange's ids are unique within it only, so the same trade id on Binance and Kraken is two fills and
-- the same one twice is one (on Binance, per symbol).
-- A row whose account or order does not exist keeps what it says: its foreign key refuses it by name.
-- Named to fire before the tables' other BEFORE triggers (alphabetical), which read the exchange.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_of_row()
RETURNS trigger
LANGUAGE plpgsql
-- As its owner: a valr_operator member inserts orders and may not read every account.
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'order_fills' THEN
        SELECT coalesce(o.exchange, NEW.exchange), coalesce(lth_pvr.trade_id_scope(o.exchange, o.pair), NEW.id_scope)
          INTO NEW.exchange, NEW.id_scope
          FROM (SELECT 1) one
          LEFT JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = NEW.exchange_order_id;
    ELSE
        NEW.exchange := coalesce((SELECT a.exchange FROM lth_pvr.exchange_accounts a
                                   WHERE a.exchange_account_id = NEW.exchange_account_id), NEW.exchange);
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_of_row() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_orders_exchange
    BEFORE INSERT OR UPDATE OF exchange, exchange_account_id ON lth_pvr.exchange_orders
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_of_row();

CREATE OR REPLACE TRIGGER order_fills_exchange
    BEFORE INSERT OR UPDATE OF exchange, id_scope, exchange_order_id ON lth_pvr.order_fills
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_of_row();

CREATE OR REPLACE TRIGGER account_transactions_exchange
    BEFORE INSERT OR UPDATE OF exchange, exchange_account_id ON lth_pvr.account_transactions
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_of_row();
