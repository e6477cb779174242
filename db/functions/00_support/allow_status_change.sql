-- Owns: the transaction-local permit the status guard asks for. Every function that changes an
-- order's status (claim_pending_orders, record_placement, apply_order_payload, finish_order,
-- revive_order) turns it on right before its UPDATE and off right after; a status typed by hand
-- (UPDATE … SET status in psql, even as superuser) finds it off and is refused
-- (status_must_change_through_functions): it would bypass the rules and the safety net.
CREATE OR REPLACE FUNCTION lth_pvr.allow_status_change(p_allow boolean)
RETURNS void
LANGUAGE sql
AS $$
    SELECT NULL::void FROM set_config('lth_pvr.status_change', CASE WHEN p_allow THEN 'on' ELSE 'off' END, true)
$$;

REVOKE ALL ON FUNCTION lth_pvr.allow_status_change(boolean) FROM PUBLIC;
