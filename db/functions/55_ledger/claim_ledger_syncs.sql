-- Owns: handing out the ledger syncs due (ledger_sync_due) to a worker: stamps the claim and returns
-- what the REST catch-up needs — the account, its subaccount id, the newest transaction held with
-- every older one (the catch-up reads back to it) and whether the cursor-free re-scan of the last
-- ledger_rescan_days is due (never done, or over ledger_rescan_hours ago). p_exchange_account_ids
-- limits it to those accounts (NULL: any account: accounts without a socket are synced too). Every
-- account gets a cursor row here first. SKIP LOCKED: two workers never claim the same account.
CREATE OR REPLACE FUNCTION lth_pvr.claim_ledger_syncs(
    p_worker_id text,
    p_exchange_account_ids uuid[] DEFAULT NULL,
    p_limit int DEFAULT 100,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_account_id uuid, subaccount_id text, newest_transaction_id text, rescan_due boolean,
               rescan_since timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO lth_pvr.ledger_cursors (exchange_account_id)
    SELECT a.exchange_account_id FROM lth_pvr.exchange_accounts a
     WHERE (p_exchange_account_ids IS NULL OR a.exchange_account_id = ANY (p_exchange_account_ids))
       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)  -- VALR's reads: its accounts only
    ON CONFLICT DO NOTHING;
    RETURN QUERY
    WITH due AS (
        SELECT c.exchange_account_id FROM lth_pvr.ledger_cursors c
         WHERE (p_exchange_account_ids IS NULL OR c.exchange_account_id = ANY (p_exchange_account_ids))
           AND lth_pvr.ledger_sync_due(c, p_now)
         ORDER BY c.sync_requested_at NULLS LAST, c.synced_at NULLS FIRST, c.exchange_account_id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE lth_pvr.ledger_cursors c
       SET sync_claimed_at = p_now, sync_claimed_by = p_worker_id
      FROM due, lth_pvr.exchange_accounts a
     WHERE c.exchange_account_id = due.exchange_account_id AND a.exchange_account_id = c.exchange_account_id
       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
    RETURNING c.exchange_account_id, a.subaccount_id, c.newest_transaction_id,
              c.rescanned_at IS NULL
                  OR c.rescanned_at < p_now - make_interval(hours => lth_pvr.setting('ledger_rescan_hours')::int),
              p_now - make_interval(days => lth_pvr.setting('ledger_rescan_days')::int);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_ledger_syncs(text, uuid[], int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_ledger_syncs(text, uuid[], int, timestamptz) TO valr_worker;
