-- Owns: the transaction-local permit the status guard asks for, naming the function that makes the
-- move. Every function that changes an order's status (the `via` of its rows in lth_pvr.transitions)
-- turns it on with its own name right before its UPDATE and off (NULL) right after; the guard refuses
-- a move made without it (status_must_change_through_functions: a status typed by hand, UPDATE … SET
-- status in psql, even as superuser, would bypass the rules and the safety net) and a move made under
-- another function's name (status_transition_must_go_via_its_function).
-- PL/pgSQL, not SQL: a SQL function that calls the volatile set_config is never inlined, so it was
-- parsed and planned again on every call (four a fallback's Cancelled read: 0.16 ms each).
CREATE OR REPLACE FUNCTION lth_pvr.allow_status_change(p_via text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('lth_pvr.status_change', coalesce(p_via, ''), true);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.allow_status_change(text) FROM PUBLIC;
