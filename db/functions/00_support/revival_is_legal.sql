-- Owns: the one way out of `failed`. An order WE made failed because VALR did not know it after the
-- placement grace (failed_inferred_at set: record_placement_not_found, record_poll's lost
-- placement) yields to VALR's positive word: when VALR shows it (a 202, a frame, an open-orders
-- list, a lookup) it becomes what VALR says — submitted, filled or cancelled. An order failed on
-- VALR's own word (a refusal, a Failed status) never comes back.
CREATE OR REPLACE FUNCTION lth_pvr.revival_is_legal(p_old text, p_new text, p_failed_inferred_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_old = 'failed' AND p_failed_inferred_at IS NOT NULL AND p_new IN ('submitted', 'filled', 'cancelled')
$$;

REVOKE ALL ON FUNCTION lth_pvr.revival_is_legal(text, text, timestamptz) FROM PUBLIC;
