-- Owns: appending one row to the event log (every received payload, and what it changed; the one
-- exception, an open-orders item already confirmed by the same WebSocket read, is in
-- reconcile_open_orders).
-- Internal: called by the recording functions, never by the worker directly. kind and outcome are
-- closed vocabularies (CHECK constraints on order_events; db/functions/README.md says how to add one).
-- plpgsql, not SQL: PostgreSQL 15 plans a non-inlinable SQL function's INSERT again on every call
-- (~35 µs), while plpgsql keeps the plan for the session; this runs once per recorded payload.
CREATE OR REPLACE FUNCTION lth_pvr.log_order_event(
    p_exchange_order_id uuid,
    p_exchange_account_id uuid,
    p_source text,
    p_kind text,
    p_outcome text,
    p_old_status text,
    p_new_status text,
    p_exchange_time timestamptz,
    p_detail text,
    p_payload jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO lth_pvr.order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                      old_status, new_status, exchange_time, received_at, detail, payload)
    VALUES (p_exchange_order_id, p_exchange_account_id, p_source, p_kind,
            p_outcome, p_old_status, p_new_status, p_exchange_time, p_now, left(p_detail, 1000),
            coalesce(p_payload, '{}'::jsonb));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.log_order_event(uuid, uuid, text, text, text, text, text, timestamptz, text, jsonb, timestamptz) FROM PUBLIC;
