-- Owns: an account's catch-up cursor row, created when missing, locked (FOR UPDATE) for the
-- caller's transaction: one catch-up of an account at a time writes it. Internal.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_cursor(p_exchange_account_id uuid)
RETURNS lth_pvr.ledger_cursors
LANGUAGE plpgsql
AS $$
DECLARE
    c lth_pvr.ledger_cursors;
BEGIN
    INSERT INTO lth_pvr.ledger_cursors (exchange_account_id) VALUES (p_exchange_account_id)
    ON CONFLICT (exchange_account_id) DO NOTHING;
    SELECT * INTO c FROM lth_pvr.ledger_cursors WHERE exchange_account_id = p_exchange_account_id FOR UPDATE;
    RETURN c;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_cursor(uuid) FROM PUBLIC;
