-- Owns: which worker owns which subaccount (its socket, placements, polls and cancels). A lease row
-- with an expiry, not an advisory lock (which dies with its connection while the socket lives on).
-- Accounts with work: those with an open order — every account when the worker keeps persistent
-- sessions (record_persistent_sessions: --max-session 0, each account's socket open, orders or not).
--   1. drops this worker's leases of accounts with no work left (it closes those sockets);
--   2. renews the rest for p_ttl_seconds; a lease renewed after it had expired starts a new tenure
--      (acquired_at = p_now, watch_ended_at cleared): its worker closed those sockets meanwhile
--      (lease_unrenewable), so account_work has it recover the subaccount;
--   3. hands back leases beyond its fair share ceil(accounts_with_work / live_workers), newest
--      first, so a worker that joins gets work at its next call;
--   4. takes unowned or expired leases of accounts with work (oldest open order first) up to it.
-- Live workers = worker_is_live within p_ttl_seconds, the caller always included.
-- Dead workers are retired first (retire_lost_workers).
-- Serialised by a transaction advisory lock: the fair share is a property of all leases together.
-- Returns every lease the worker now holds; `taken` when its tenure began in this call.
CREATE OR REPLACE FUNCTION lth_pvr.acquire_leases(
    p_worker_id text,
    p_ttl_seconds int,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_account_id uuid, subaccount_id text, expires_at timestamptz, open_orders int,
               taken boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_ttl   interval := make_interval(secs => p_ttl_seconds);
    v_live  int;
    v_work  int;
    v_share int;
    v_held  int;
    v_all   boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lth_pvr.acquire_leases'));
    PERFORM lth_pvr.retire_lost_workers(p_now);

    SELECT count(*) + 1 INTO v_live
      FROM lth_pvr.workers w
     WHERE w.worker_id <> p_worker_id AND lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, v_ttl, p_now);
    SELECT coalesce(w.persistent_sessions, false) INTO v_all FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id;
    v_all := coalesce(v_all, false);
    IF v_all THEN
        SELECT count(*) INTO v_work FROM lth_pvr.exchange_accounts;
    ELSE
        SELECT count(DISTINCT o.exchange_account_id) INTO v_work
          FROM lth_pvr.exchange_orders o WHERE lth_pvr.is_open(o.status);
    END IF;
    v_share := ceil(v_work::numeric / v_live);

    DELETE FROM lth_pvr.subaccount_leases l
     WHERE l.worker_id = p_worker_id AND NOT v_all
       AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders o
                        WHERE o.exchange_account_id = l.exchange_account_id
                          AND lth_pvr.is_open(o.status));

    UPDATE lth_pvr.subaccount_leases l
       SET expires_at = p_now + v_ttl,
           acquired_at = CASE WHEN l.expires_at <= p_now THEN p_now ELSE l.acquired_at END,
           watch_ended_at = CASE WHEN l.expires_at <= p_now THEN NULL ELSE l.watch_ended_at END
     WHERE l.worker_id = p_worker_id;
    GET DIAGNOSTICS v_held = ROW_COUNT;

    IF v_held > v_share THEN
        DELETE FROM lth_pvr.subaccount_leases l
         WHERE l.worker_id = p_worker_id
           AND l.exchange_account_id IN (
               SELECT x.exchange_account_id FROM lth_pvr.subaccount_leases x
                WHERE x.worker_id = p_worker_id
                ORDER BY x.acquired_at DESC, x.exchange_account_id DESC
                LIMIT v_held - v_share);
        v_held := v_share;
    END IF;

    IF v_held < v_share THEN
        INSERT INTO lth_pvr.subaccount_leases AS l (exchange_account_id, worker_id, acquired_at, expires_at)
        SELECT a.exchange_account_id, p_worker_id, p_now, p_now + v_ttl
          FROM (SELECT o.exchange_account_id, min(o.created_at) AS oldest
                  FROM lth_pvr.exchange_orders o
                 WHERE lth_pvr.is_open(o.status)
                 GROUP BY o.exchange_account_id
                 UNION ALL
                SELECT x.exchange_account_id, NULL FROM lth_pvr.exchange_accounts x
                 WHERE v_all AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders o
                                              WHERE o.exchange_account_id = x.exchange_account_id
                                                AND lth_pvr.is_open(o.status))) a
         WHERE NOT EXISTS (SELECT 1 FROM lth_pvr.live_leases(p_now) x
                            WHERE x.exchange_account_id = a.exchange_account_id)
         ORDER BY a.oldest NULLS LAST, a.exchange_account_id
         LIMIT v_share - v_held
        ON CONFLICT (exchange_account_id) DO UPDATE
           SET worker_id = EXCLUDED.worker_id, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at,
               watch_ended_at = NULL
         WHERE l.expires_at <= p_now;
    END IF;

    RETURN QUERY
        SELECT l.exchange_account_id, a.subaccount_id, l.expires_at,
               (SELECT count(*)::int FROM lth_pvr.exchange_orders o
                 WHERE o.exchange_account_id = l.exchange_account_id
                   AND lth_pvr.is_open(o.status)),
               l.acquired_at = p_now
          FROM lth_pvr.subaccount_leases l
          JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = l.exchange_account_id
         WHERE l.worker_id = p_worker_id
         ORDER BY l.acquired_at, l.exchange_account_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.acquire_leases(text, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.acquire_leases(text, int, timestamptz) TO valr_worker;
