-- Owns: when a worker counts as live: not stopped, and seen (heartbeat) within p_within of p_now.
-- The window is the caller's: the lease TTL for fair lease shares (acquire_leases), the
-- worker_heartbeat_seconds setting for the alerts. SQL and STABLE (timestamptz - interval is: an
-- IMMUTABLE label would keep it from being inlined).
CREATE OR REPLACE FUNCTION lth_pvr.worker_is_live(
    p_stopped_at timestamptz, p_last_seen_at timestamptz, p_within interval, p_now timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT p_stopped_at IS NULL AND p_last_seen_at >= p_now - p_within
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_is_live(timestamptz, timestamptz, interval, timestamptz) FROM PUBLIC;
