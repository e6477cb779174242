-- Owns: asking the worker to read an account's transaction history and balances over REST now
-- (NULL: every account): stamps ledger_cursors.sync_requested_at and sends NOTIFY
-- lth_pvr_ledger_sync (the account's id, or `*`); claim_ledger_syncs hands the work out. Returns the
-- accounts asked: 0 for an account whose ledger is not read per account (ledger_read_per_account: a
-- VALR account with its own key), ignored rather than refused, so a strategy asking for every account
-- it knows is never stopped by one. An account on Binance, Kraken or Coinbase is asked: its reads go
-- through ccxt. Called by a strategy or a person (valr_operator), by the worker after every (re)connect
-- of a VALR account's socket (a ccxt account's connect reads its balance only: its socket carries no
-- history to lose), and by ledger_sync_tick (pg_cron) for the accounts due.
CREATE OR REPLACE FUNCTION lth_pvr.request_ledger_sync(
    p_exchange_account_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_n int;
BEGIN
    INSERT INTO lth_pvr.ledger_cursors AS c (exchange_account_id, sync_requested_at)
    SELECT a.exchange_account_id, p_now FROM lth_pvr.exchange_accounts a
     WHERE (p_exchange_account_id IS NULL OR a.exchange_account_id = p_exchange_account_id)
       AND lth_pvr.ledger_read_per_account(a.exchange, a.credential_ref)  -- a VALR account with its own key: ignored (0)
    ON CONFLICT (exchange_account_id) DO UPDATE
       SET sync_requested_at = coalesce(least(c.sync_requested_at, excluded.sync_requested_at), excluded.sync_requested_at);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN
        PERFORM pg_notify('lth_pvr_ledger_sync', coalesce(p_exchange_account_id::text, '*'));
    END IF;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_ledger_sync(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_ledger_sync(uuid, timestamptz) TO valr_worker, valr_operator;
