-- Owns: the table of legal status transitions (a repeat of the same status is not a transition).
--   pending   -> placing | cancelled (cancelled only via request_cancel)
--   placing   -> submitted | filled | cancelled | failed (cancelled by request_cancel too, while its
--                request has not left)
--   submitted -> filled | cancelled | failed
--   filled, cancelled, failed -> nothing (terminal); nothing ever goes back to pending
CREATE OR REPLACE FUNCTION lth_pvr.status_transition_is_legal(p_old text, p_new text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (p_old, p_new) IN (
        ('pending', 'placing'), ('pending', 'cancelled'),
        ('placing', 'submitted'), ('placing', 'filled'), ('placing', 'cancelled'), ('placing', 'failed'),
        ('submitted', 'filled'), ('submitted', 'cancelled'), ('submitted', 'failed')
    )
$$;

REVOKE ALL ON FUNCTION lth_pvr.status_transition_is_legal(text, text) FROM PUBLIC;
