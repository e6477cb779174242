-- Owns: when an order's fallback may still fire: VALR holds it (submitted), no fallback fired yet and
-- no cancel asked (a cancel a person or strategy asked for wins; the fallback's own cancel is its
-- firing). Both triggers (request_due_fallbacks, price_fallback_crossing), request_fallback's last
-- check, next_fallback_due and the prices_stale alert read it. SQL, so it is inlined: with
-- `fallback_after IS NOT NULL` it is the partial index exchange_orders_fallback_age_idx's predicate.
CREATE OR REPLACE FUNCTION lth_pvr.fallback_armed(
    p_status text, p_fallback_requested_at timestamptz, p_cancel_requested_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_status = 'submitted' AND p_fallback_requested_at IS NULL AND p_cancel_requested_at IS NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.fallback_armed(text, timestamptz, timestamptz) FROM PUBLIC;
