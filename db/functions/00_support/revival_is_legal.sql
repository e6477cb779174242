-- Owns: whether VALR's word p_new takes an order out of `failed`: only an order WE made failed because
-- VALR did not know it after the placement grace (failed_inferred_at set: record_placement_not_found,
-- record_poll's lost placement), through the table's revival row (failed -> submitted, only_when
-- `inferred_failure`, via revive_order), then on to what VALR says by an ordinary move (a 202, a frame,
-- an open-orders list, a lookup: submitted, filled or cancelled). An order failed on VALR's own word (a
-- refusal, a Failed status) never comes back.
CREATE OR REPLACE FUNCTION lth_pvr.revival_is_legal(p_old text, p_new text, p_failed_inferred_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_old = 'failed' AND p_new <> 'failed' AND p_failed_inferred_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM lth_pvr.transitions t
                    WHERE t.from_status = 'failed' AND t.only_when = 'inferred_failure'
                      AND (t.to_status = p_new OR lth_pvr.status_transition_is_legal(t.to_status, p_new)))
$$;

REVOKE ALL ON FUNCTION lth_pvr.revival_is_legal(text, text, timestamptz) FROM PUBLIC;
