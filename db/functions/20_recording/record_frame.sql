-- Owns: dispatching one account-WebSocket frame to the function that owns its transition.
--   ORDER_STATUS_UPDATE -> record_order_update     NEW_ACCOUNT_TRADE -> record_fill
--   OPEN_ORDERS_UPDATE  -> reconcile_open_orders   (one row per listed order, plus `missing` rows)
--   ORDER_PROCESSED     -> success=false is VALR's word that the order failed; else logged `ignored`
--   FAILED_CANCEL_ORDER -> `cancel_failed`: record_cancel_failed counts it and the cancel stays owed
--                          (sent again after cancel_retry_seconds); the status moves only on VALR's word
--   BALANCE_UPDATE, NEW_ACCOUNT_HISTORY_RECORD, NEW_PENDING_RECEIVE (the ledger's:
--   record_batch records them through record_ledger_frames), AUTHENTICATED, PONG, SUBSCRIBED -> `ignored`, not logged
--   any other type -> logged `ignored`; no type at all -> logged `malformed`
-- Event kinds: frame_event_kind (status updates and list items keep apply_order_payload's kinds).
-- Internal; record_batch calls it.
CREATE OR REPLACE FUNCTION lth_pvr.record_frame(
    p_exchange_account_id uuid,
    p_frame_index int,
    p_frame jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (frame_index int, frame_type text, exchange_order_id uuid, outcome text, new_status text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_type text;
    v_data jsonb;
    v_id   uuid;
BEGIN
    IF jsonb_typeof(p_frame) = 'object' AND jsonb_typeof(p_frame->'type') = 'string' THEN
        v_type := left(p_frame->>'type', 100);
        v_data := p_frame->'data';
    END IF;

    IF v_type = 'ORDER_STATUS_UPDATE' THEN
        RETURN QUERY SELECT p_frame_index, v_type, u.exchange_order_id, u.outcome, u.new_status
          FROM lth_pvr.apply_order_payload(p_exchange_account_id, 'ws', 'order_status', v_data, NULL, p_now) u;
    ELSIF v_type = 'NEW_ACCOUNT_TRADE' THEN
        RETURN QUERY SELECT p_frame_index, v_type, f.exchange_order_id, f.outcome, NULL::text
          FROM lth_pvr.record_fill(p_exchange_account_id, 'ws', v_data, p_now) f;
    ELSIF v_type = 'OPEN_ORDERS_UPDATE' THEN
        RETURN QUERY SELECT p_frame_index, v_type, r.exchange_order_id, r.outcome, NULL::text
          FROM lth_pvr.reconcile_open_orders(p_exchange_account_id, 'ws', v_data, p_now) r;
    ELSIF v_type = 'ORDER_PROCESSED' AND jsonb_typeof(v_data) = 'object'
          AND (v_data->'success' = 'false'::jsonb OR v_data->'success' = '"false"'::jsonb) THEN
        -- Refused after the 202: the same as an ORDER_STATUS_UPDATE "Failed".
        RETURN QUERY SELECT p_frame_index, v_type, u.exchange_order_id, u.outcome, u.new_status
          FROM lth_pvr.apply_order_payload(p_exchange_account_id, 'ws', lth_pvr.frame_event_kind(v_type),
                   v_data || '{"orderStatusType": "Failed"}'::jsonb, NULL, p_now) u;
    ELSIF v_type IN ('ORDER_PROCESSED', 'FAILED_CANCEL_ORDER') THEN
        IF jsonb_typeof(v_data) = 'object' THEN
            v_id := lth_pvr.match_order(p_exchange_account_id, v_data, false);
        END IF;
        IF v_type = 'FAILED_CANCEL_ORDER' AND v_id IS NOT NULL THEN
            PERFORM lth_pvr.record_cancel_failed(v_id, 'ws',
                'VALR refused the cancel: ' || coalesce(left(v_data->>'message', 400), 'no message'), p_frame, p_now);
        ELSE
        PERFORM lth_pvr.log_order_event(v_id, p_exchange_account_id, 'ws', lth_pvr.frame_event_kind(v_type),
            CASE v_type WHEN 'FAILED_CANCEL_ORDER' THEN 'cancel_failed' ELSE 'ignored' END,
            NULL, NULL, NULL, CASE WHEN jsonb_typeof(v_data) = 'object' THEN left(v_data->>'message', 500) END,
            p_frame, p_now);
        END IF;
        RETURN QUERY SELECT p_frame_index, v_type, v_id,
            CASE v_type WHEN 'FAILED_CANCEL_ORDER' THEN 'cancel_failed' ELSE 'ignored' END, NULL::text;
    ELSIF v_type IN ('BALANCE_UPDATE', 'NEW_ACCOUNT_HISTORY_RECORD', 'NEW_PENDING_RECEIVE', 'AUTHENTICATED', 'PONG', 'SUBSCRIBED') THEN
        RETURN QUERY SELECT p_frame_index, v_type, NULL::uuid, 'ignored'::text, NULL::text;
    ELSE
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, 'ws', lth_pvr.frame_event_kind(v_type),
            CASE WHEN v_type IS NULL THEN 'malformed' ELSE 'ignored' END,
            NULL, NULL, NULL, CASE WHEN v_type IS NULL THEN 'frame without a type' END, p_frame, p_now);
        RETURN QUERY SELECT p_frame_index, v_type, NULL::uuid,
            CASE WHEN v_type IS NULL THEN 'malformed' ELSE 'ignored' END, NULL::text;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_frame(uuid, int, jsonb, timestamptz) FROM PUBLIC;
