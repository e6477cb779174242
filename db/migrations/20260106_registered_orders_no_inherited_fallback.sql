-- Orders registered as `submitted` (placed by another system) no longer inherit a fallback (issue 21,
-- item 4: fallback_defaults gives them none — a fallback would cancel someone else's order and buy at
-- market). Open ones registered before this inherited their account's or the settings' fallback: each
-- such value, still equal to what would have been inherited and not yet fired, is taken off here. A
-- value the row asked for that happens to equal the default is taken off too: the safe side (nothing
-- is cancelled nor bought; a person may set it again). Orders this system placed (claimed_at) keep theirs.
UPDATE lth_pvr.exchange_orders o
   SET fallback_after = CASE WHEN o.fallback_after = i.fallback_after THEN NULL ELSE o.fallback_after END,
       fallback_price_move = CASE WHEN o.fallback_price_move = i.fallback_price_move THEN NULL
                                  ELSE o.fallback_price_move END
  FROM (SELECT a.exchange_account_id,
               coalesce(a.fallback_after,
                        make_interval(secs => (SELECT s.value FROM lth_pvr.settings s
                                                WHERE s.name = 'fallback_after_seconds'))) AS fallback_after,
               coalesce(a.fallback_price_move,
                        (SELECT s.value FROM lth_pvr.settings s WHERE s.name = 'fallback_price_move'))
                   AS fallback_price_move
          FROM lth_pvr.exchange_accounts a) i
 WHERE i.exchange_account_id = o.exchange_account_id
   AND o.status = 'submitted'
   AND o.claimed_at IS NULL
   AND o.replaces_order_id IS NULL
   AND o.fallback_requested_at IS NULL
   AND (o.fallback_after = i.fallback_after OR o.fallback_price_move = i.fallback_price_move);
