-- Owns no status change: the last word before an order's FIRST placement request leaves. On a
-- `placing` order whose request has not left yet and whose grace has not expired since the claim,
-- stamps placement_sent_at (committed before the POST), counts the attempt (placement_attempts
-- counts every attempt of every claim: an order placed again continues the count, see place_again)
-- and answers true. It is atomic on placement_sent_at IS NULL: of two claims of one order (a claimer
-- thought gone, and the next), one gets true.
-- Anything else answers false and nothing is sent: an order that moved on while its request
-- waited (e.g. failed after the grace period, or back to pending after an authentication refusal),
-- one whose claiming worker's key VALR has since refused, one whose request already left once, or
-- one whose grace since the claim has passed (another worker's lookup may conclude it lost at any
-- moment).
-- A later attempt goes through retry_placement.
-- PL/pgSQL, not SQL: its statement's plan is kept across calls (a SQL function with a SET clause is
-- parsed and planned again on every call; hand_over_replacements calls it in the recording statement).
CREATE OR REPLACE FUNCTION lth_pvr.begin_placement(
    p_exchange_order_id uuid,
    p_now timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    UPDATE exchange_orders o
       SET placement_sent_at = p_now, placement_attempts = o.placement_attempts + 1
     WHERE o.exchange_order_id = p_exchange_order_id
       AND o.status = 'placing'
       AND o.placement_sent_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM workers w
                        WHERE w.worker_id = o.claimed_by AND w.auth_refused_at IS NOT NULL)
       AND p_now < lth_pvr.placement_grace_ends_at(NULL, o.claimed_at);
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.begin_placement(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.begin_placement(uuid, timestamptz) TO valr_worker;
