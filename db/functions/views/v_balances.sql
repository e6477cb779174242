-- Owns: VALR's latest balance of every account and currency (available excludes what open orders
-- reserve: total = available + reserved is what the account holds), with VALR's updatedAt.
CREATE OR REPLACE VIEW lth_pvr.v_balances AS
    SELECT b.exchange_account_id, a.subaccount_id, b.currency, b.available, b.reserved, b.total,
           b.updated_at, b.recorded_at, b.source, a.exchange
      FROM lth_pvr.balances b
      JOIN lth_pvr.exchange_accounts a USING (exchange_account_id);

REVOKE ALL ON lth_pvr.v_balances FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_balances TO valr_reader;
