-- Owns: when a placement VALR does not know counts as lost: placement_grace_seconds after the request
-- left (placement_sent_at) or, when it never left, after the claim. Before then the request may
-- still be in flight; a request that waited for its socket or the rate budget is not judged lost
-- before it was even sent.
-- Internal; settle_lost_placement and list_unresolved_placements use it. SQL, so it is inlined.
CREATE OR REPLACE FUNCTION lth_pvr.placement_grace_ends_at(
    p_placement_sent_at timestamptz,
    p_claimed_at timestamptz
)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(p_placement_sent_at, p_claimed_at)
           + make_interval(secs => lth_pvr.setting('placement_grace_seconds'))
$$;

REVOKE ALL ON FUNCTION lth_pvr.placement_grace_ends_at(timestamptz, timestamptz) FROM PUBLIC;
