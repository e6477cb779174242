-- rehearse_replacement now says why a rehearsal failed (handed_over, failure) instead of only counting
-- those that reached the hand-over: a changed return type needs the old function dropped.
DROP FUNCTION IF EXISTS lth_pvr.rehearse_replacement(int, timestamptz);
