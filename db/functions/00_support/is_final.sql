-- Owns: the final statuses: filled, cancelled, failed (the order's life is over; only an inferred
-- failure may come back, revival_is_legal). is_open is its complement over the status vocabulary
-- (tests/test_sql_one_home.py checks that the two split it). SQL and IMMUTABLE, so it is inlined.
-- valr_worker: the worker asks it of record_batch's rows (which orders finished). valr_reader
-- (valr_operator is a member): views use it, and the finished_at trigger's WHEN runs as the writer.
CREATE OR REPLACE FUNCTION lth_pvr.is_final(p_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_status IN ('filled', 'cancelled', 'failed')
$$;

REVOKE ALL ON FUNCTION lth_pvr.is_final(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.is_final(text) TO valr_worker, valr_reader;
