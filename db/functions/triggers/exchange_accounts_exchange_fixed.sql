-- Owns: an account's exchange being fixed once the account has orders or ledger rows
-- (`account_exchange_must_not_change`). Its orders' ids, fills and transactions are that exchange's
-- (deduped per exchange: exchange_of_row) and its pairs are that exchange's symbols: moving the
-- account to another exchange would read its history as another exchange's. Refused for every writer,
-- a superuser's UPDATE included; an account without history may still be corrected.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_accounts_exchange_fixed()
RETURNS trigger
LANGUAGE plpgsql
-- As its owner: whoever may correct an account need not read its orders and transactions.
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF NEW.exchange IS DISTINCT FROM OLD.exchange
       AND (EXISTS (SELECT 1 FROM lth_pvr.exchange_orders o WHERE o.exchange_account_id = OLD.exchange_account_id)
            OR EXISTS (SELECT 1 FROM lth_pvr.account_transactions t
                        WHERE t.exchange_account_id = OLD.exchange_account_id)) THEN
        RAISE EXCEPTION 'account % has orders on %: its exchange cannot change to %', OLD.exchange_account_id,
                        OLD.exchange, NEW.exchange
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_exchange_must_not_change',
                  TABLE = 'exchange_accounts', SCHEMA = 'lth_pvr', COLUMN = 'exchange';
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_accounts_exchange_fixed() FROM PUBLIC;

CREATE OR REPLACE TRIGGER exchange_accounts_exchange_fixed
    BEFORE UPDATE OF exchange ON lth_pvr.exchange_accounts
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.exchange_accounts_exchange_fixed();
