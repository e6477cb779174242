-- Owns: the staging table a pair refresh fills before write_pair_refresh stores it
-- (pg_temp.staged_pairs, shaped like lth_pvr.pairs, emptied; dropped at commit).
-- Internal; refresh_pairs (VALR) and refresh_exchange_pairs (ccxt's markets) call it.
CREATE OR REPLACE FUNCTION lth_pvr.stage_pairs()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS staged_pairs (LIKE lth_pvr.pairs) ON COMMIT DROP;
    TRUNCATE pg_temp.staged_pairs;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.stage_pairs() FROM PUBLIC;
