-- Owns: account_transactions being append-only (VALR's transactions are history: UPDATE, DELETE and
-- TRUNCATE refused from every writer, `account_transactions_must_be_append_only`), and a balance
-- never going back in time (`balance_must_not_be_older`: an UPDATE whose updated_at — VALR's
-- updatedAt — is older than the row's is refused; write_balances never sends one).
CREATE OR REPLACE FUNCTION lth_pvr.account_transactions_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'account_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'account_transactions_must_be_append_only',
              TABLE = 'account_transactions', SCHEMA = 'lth_pvr';
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.account_transactions_append_only() FROM PUBLIC;

CREATE OR REPLACE TRIGGER account_transactions_append_only
    BEFORE UPDATE OR DELETE ON lth_pvr.account_transactions
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.account_transactions_append_only();

CREATE OR REPLACE TRIGGER account_transactions_no_truncate
    BEFORE TRUNCATE ON lth_pvr.account_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION lth_pvr.account_transactions_append_only();

CREATE OR REPLACE FUNCTION lth_pvr.balances_never_older()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF NEW.updated_at < OLD.updated_at THEN
        RAISE EXCEPTION 'balance of % %: VALR''s snapshot of % is older than the one held (%)',
                        OLD.exchange_account_id, OLD.currency, NEW.updated_at, OLD.updated_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_must_not_be_older',
                  TABLE = 'balances', SCHEMA = 'lth_pvr';
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.balances_never_older() FROM PUBLIC;

CREATE OR REPLACE TRIGGER balances_never_older
    BEFORE UPDATE ON lth_pvr.balances
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.balances_never_older();
