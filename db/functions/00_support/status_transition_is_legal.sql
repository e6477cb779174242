-- Owns: whether VALR's word may move an order from p_old to p_new: a row of lth_pvr.transitions
-- without a condition (the ordinary moves; a repeat of the same status is not a transition). The
-- exceptions (only_when: placed again, a key refused, a revival) are not VALR's status words: the
-- status guard checks them on the row, revival_is_legal says when VALR's word revives.
CREATE OR REPLACE FUNCTION lth_pvr.status_transition_is_legal(p_old text, p_new text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM lth_pvr.transitions t
                    WHERE t.from_status = p_old AND t.to_status = p_new AND t.only_when IS NULL)
$$;

REVOKE ALL ON FUNCTION lth_pvr.status_transition_is_legal(text, text) FROM PUBLIC;
