-- Owns: handing out REST look-ups: submitted orders marked due by the safety net or request_poll
-- (reason `poll`, at once) or owed a reconciliation (reason `reconcile`), of accounts leased
-- (unexpired) by the worker, not claimed within poll_claim_seconds (a worker that died mid-poll is
-- retried). A reconciliation is first the socket's job: the session that authenticates lists the
-- account's open orders (reconcile_open_orders clears the mark), so a `reconcile` order is handed
-- out only once it has been owed for reconcile_fallback_seconds — the fallback when no socket did
-- it, not a second call.
-- FOR UPDATE SKIP LOCKED; sets poll_claimed_at/by. record_poll clears the marks.
-- p_busy: accounts whose look-up is still running in this worker. Their orders are not claimed: the
-- worker runs one look-up per account at a time, and an order claimed while it waits would be handed
-- out again only after poll_claim_seconds (120 s); left unclaimed, the next tick after the running
-- look-up hands it out.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.claim_due_polls(
    p_worker_id text,
    p_limit int DEFAULT 500,
    p_now timestamptz DEFAULT now(),
    p_busy uuid[] DEFAULT '{}'
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, ext_order_id text,
               intent_id uuid, pair text, submitted_at timestamptz, reason text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH candidates AS (
        SELECT o.exchange_order_id
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.worker_leases(p_worker_id, p_now) l
            ON l.exchange_account_id = o.exchange_account_id
         WHERE (o.poll_due_at IS NOT NULL
                OR o.reconcile_due_at <= (SELECT p_now - make_interval(secs => lth_pvr.setting('reconcile_fallback_seconds'))))
           AND o.status = 'submitted'
           AND o.exchange_account_id <> ALL (coalesce(p_busy, '{}'))
           AND (o.poll_claimed_at IS NULL
                OR o.poll_claimed_at < (SELECT p_now - make_interval(secs => lth_pvr.setting('poll_claim_seconds'))))
         ORDER BY coalesce(o.poll_due_at, o.reconcile_due_at), o.exchange_order_id
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED
    ), claimed AS (
        UPDATE lth_pvr.exchange_orders o
           SET poll_claimed_at = p_now, poll_claimed_by = p_worker_id
          FROM candidates c
         WHERE o.exchange_order_id = c.exchange_order_id
        RETURNING o.*
    )
    SELECT c.exchange_order_id, c.exchange_account_id, a.subaccount_id, c.ext_order_id, c.intent_id,
           c.pair, c.submitted_at, CASE WHEN c.poll_due_at IS NOT NULL THEN 'poll' ELSE 'reconcile' END
      FROM claimed c
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = c.exchange_account_id
     ORDER BY coalesce(c.poll_due_at, c.reconcile_due_at), c.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_due_polls(text, int, timestamptz, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_due_polls(text, int, timestamptz, uuid[]) TO valr_worker;
