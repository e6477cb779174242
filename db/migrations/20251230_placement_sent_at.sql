-- When a placement request actually left (set by begin_placement, committed before the POST).
-- NULL on a `placing` order: the request never left, so VALR cannot know the order. The lost-
-- placement grace period counts from here, not from the claim: a request that waited for its
-- socket or the rate budget is not judged lost before it was even sent.
ALTER TABLE lth_pvr.exchange_orders ADD COLUMN placement_sent_at timestamptz;
