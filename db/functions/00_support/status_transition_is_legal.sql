-- Owns: whether VALR's word may move an order from p_old to p_new: a row of lth_pvr.transitions
-- without a condition (the ordinary moves; a repeat of the same status is not a transition). The
-- exceptions (only_when: placed again, a key refused, a revival) are not VALR's status words: the
-- status guard checks them on the row, revival_is_legal says when VALR's word revives.
-- PL/pgSQL, not SQL: a sub-select keeps a SQL function from being inlined, so it was parsed and
-- planned again on every call; PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION lth_pvr.status_transition_is_legal(p_old text, p_new text)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM lth_pvr.transitions t
                    WHERE t.from_status = p_old AND t.to_status = p_new AND t.only_when IS NULL);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.status_transition_is_legal(text, text) FROM PUBLIC;
