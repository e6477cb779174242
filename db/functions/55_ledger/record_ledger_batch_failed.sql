-- Owns: an across-subaccount sync (claim_ledger_batch) that could not finish. p_refused: VALR refused
-- the key these routes (401/403: not the primary account's key) — kept in ledger_across_refusals, so
-- claim_ledger_batch hands out nothing for ledger_across_retry_hours; the accounts' claims are
-- released and NOTIFY lth_pvr_ledger_sync `*` has the per-account syncs read them at once. Any other
-- error: each account as record_ledger_sync_failed (error kept, claim released, cursor untouched).
CREATE OR REPLACE FUNCTION lth_pvr.record_ledger_batch_failed(
    p_worker_id text,
    p_exchange_account_ids uuid[],
    p_error text,
    p_refused boolean,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF NOT p_refused THEN
        PERFORM lth_pvr.record_ledger_sync_failed(x.id, p_error, p_now) FROM unnest(p_exchange_account_ids) x(id);
        RETURN;
    END IF;
    INSERT INTO lth_pvr.ledger_across_refusals (refused_at, worker_id, error)
    VALUES (p_now, p_worker_id, left(p_error, 500))
    ON CONFLICT DO NOTHING;
    UPDATE lth_pvr.ledger_cursors c SET sync_claimed_at = NULL, sync_claimed_by = NULL
     WHERE c.exchange_account_id = ANY (p_exchange_account_ids);
    PERFORM pg_notify('lth_pvr_ledger_sync', '*');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_ledger_batch_failed(text, uuid[], text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_ledger_batch_failed(text, uuid[], text, boolean, timestamptz) TO valr_worker;
