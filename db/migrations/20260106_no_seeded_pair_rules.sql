-- Never seed pair rules stricter than VALR's (issue 21, item 17). The base schema seeded six ZAR
-- pairs with numbers VALR has since loosened (USDCZAR's tick 0.01 where VALR fills at 19.3017;
-- BTCZAR's minimum 0.0001 where VALR accepts 0.00001), so a fresh install refused orders VALR takes
-- until its first refresh. A table never refreshed from VALR now holds no rules at all: an order for
-- any pair is accepted with the `pair_unchecked` warning row until the worker's first refresh (at
-- its start; `valr-monitor pairs` on demand) fills the table with VALR's own answers.
-- An install already refreshed keeps what VALR told it.
DELETE FROM lth_pvr.pairs p
 WHERE p.refreshed_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM lth_pvr.pair_refreshes);
