-- Owns: the orders a new price fires (the hook of the limit → market fallback). Called by
-- record_market_prices with the pairs it just recorded, in the same transaction, so the cancel can go
-- out at once. Until the fallback rules exist nothing fires: this returns no rows. The fallback adds
-- here its price trigger (adverse moves only, fresh prices only) and returns the orders to cancel.
CREATE OR REPLACE FUNCTION lth_pvr.price_triggered_orders(p_pairs text[], p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, pair text, side text,
               price numeric, price_seen numeric, trigger text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT o.exchange_order_id, o.exchange_account_id, a.subaccount_id, o.pair, o.side, o.price,
           NULL::numeric, NULL::text
      FROM lth_pvr.exchange_orders o
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
     WHERE false  -- no trigger yet: see the header
       AND o.pair = ANY (p_pairs)
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_triggered_orders(text[], timestamptz) FROM PUBLIC;
