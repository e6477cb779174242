-- Owns: the lth_pvr_poll NOTIFY — comma-separated exchange_order_ids, or `*` when they would not
-- fit in 7,900 bytes (PostgreSQL's limit is 8,000); the worker then asks claim_due_polls anyway.
-- Internal; mark_poll_due calls it once per call, never with an empty list.
CREATE OR REPLACE FUNCTION lth_pvr.poll_notify(p_ids uuid[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_payload text := array_to_string(p_ids, ',');
BEGIN
    PERFORM pg_notify('lth_pvr_poll', CASE WHEN octet_length(v_payload) > 7900 THEN '*' ELSE v_payload END);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.poll_notify(uuid[]) FROM PUBLIC;
