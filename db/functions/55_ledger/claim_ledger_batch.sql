-- Owns: which accounts are synced together by the primary key's across-subaccount reads, and the
-- window they are read in. Eligible: subaccounts (the primary is not in VALR's across-subaccount
-- history) not claimed, not requested (a requested sync — the catch-up after every connect, a
-- person's — reads its account on its own, to the newest transaction), whose held_through is known and within VALR's 7-day window of its end (else the per-account catch-up
-- reads it back first); with a socket or without (its scheduled sync is the socket's safety net: in
-- the window it costs nothing more). When at least ledger_across_min_accounts of them are due by time
-- (ledger_sync_due), the batch is every eligible one — due within a ledger_sync_minutes too: the
-- window holds every subaccount's transactions anyway, and all then share one phase (one window per
-- interval, not one per due time). Nothing while VALR's refusal of these reads is younger than
-- ledger_across_retry_hours (ledger_across_refusals). Stamps the claim like claim_ledger_syncs.
-- Returns one row per account, each with the batch's window: from the oldest held_through to
-- ledger_window_end (≤ 7 days: VALR's limit) and, when any account's re-scan is due, the re-scan's
-- start (the last ledger_rescan_days, within the same 7 days). Nothing: per-account syncs only.
CREATE OR REPLACE FUNCTION lth_pvr.claim_ledger_batch(
    p_worker_id text,
    p_limit int DEFAULT 10000,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_account_id uuid, subaccount_id text, window_start timestamptz, window_end timestamptz,
               rescan_since timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_end    timestamptz := lth_pvr.ledger_window_end(p_now);
    v_ids    uuid[];
    v_start  timestamptz;
    v_rescan boolean;
    v_due    int;
BEGIN
    IF EXISTS (SELECT 1 FROM lth_pvr.ledger_across_refusals r
                WHERE r.refused_at > p_now - make_interval(hours => lth_pvr.setting('ledger_across_retry_hours')::int)) THEN
        RETURN;
    END IF;
    SELECT array_agg(b.exchange_account_id), min(b.held_through), bool_or(b.rescan_due), count(*) FILTER (WHERE b.due)
      INTO v_ids, v_start, v_rescan, v_due
      FROM (SELECT c.exchange_account_id, c.held_through, lth_pvr.ledger_sync_due(c, p_now) AS due,
                   c.rescanned_at IS NULL OR c.rescanned_at
                       < p_now - make_interval(hours => lth_pvr.setting('ledger_rescan_hours')::int) AS rescan_due
              FROM lth_pvr.ledger_cursors c
              JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = c.exchange_account_id
             WHERE a.subaccount_id <> '' AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
               AND lth_pvr.ledger_sync_due(c, p_now, make_interval(mins => lth_pvr.setting('ledger_sync_minutes')::int))
               AND c.sync_requested_at IS NULL
               AND c.held_through > v_end - interval '7 days' AND c.held_through < v_end
             ORDER BY c.synced_at NULLS FIRST, c.exchange_account_id
             LIMIT p_limit
               FOR UPDATE OF c SKIP LOCKED) b;
    IF coalesce(v_due, 0) < lth_pvr.setting('ledger_across_min_accounts') THEN
        RETURN;
    END IF;
    UPDATE lth_pvr.ledger_cursors c SET sync_claimed_at = p_now, sync_claimed_by = p_worker_id
     WHERE c.exchange_account_id = ANY (v_ids);
    RETURN QUERY
    SELECT a.exchange_account_id, a.subaccount_id, date_trunc('milliseconds', v_start), v_end,
           CASE WHEN v_rescan THEN greatest(date_trunc('milliseconds', p_now - make_interval(
                    days => lth_pvr.setting('ledger_rescan_days')::int)), v_end - interval '7 days') END
      FROM lth_pvr.exchange_accounts a
     WHERE a.exchange_account_id = ANY (v_ids)
     ORDER BY a.exchange_account_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_ledger_batch(text, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_ledger_batch(text, int, timestamptz) TO valr_worker;
