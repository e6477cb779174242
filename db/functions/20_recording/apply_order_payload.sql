-- Owns: applying one VALR order object to one of our orders — read and validated by read_order_payload
-- (the status mapping, originalQuantity), the transition table (status_transition_is_legal) and the
-- event log row. Monotonic: a terminal status is never overwritten; an illegal transition is logged and
-- skipped, never raised. The one place the general path produces `unchanged`, decided by
-- payload_is_unchanged and written by order_after_unchanged: the pieces record_frames (the fast path)
-- batches. A status change goes through its one function: submit_order (placing -> submitted) or
-- finish_order (a final status). An open-orders item (p_kind `open_order`) settles a reconciliation the
-- order owed; on the WebSocket, an item whose order an earlier frame of the same read already confirmed
-- (open_item_already_confirmed) is neither refreshed nor logged.
-- Internal; reached through record_order_update, record_poll, reconcile_open_orders, record_batch.
--
-- Payload shapes: ORDER_STATUS_UPDATE.data / status endpoint (`orderStatusType`, `orderUpdatedAt`)
-- and open-orders items (`status`, `updatedAt`); ccxt's unified order, translated (exchange_payload). p_exchange_order_id, when given (a poll of a known
-- order), skips matching; a payload about another order is then `not_ours`.
-- Returns the order's status before and after the call (new_status = old_status when skipped).
CREATE OR REPLACE FUNCTION lth_pvr.apply_order_payload(
    p_exchange_account_id uuid,
    p_source text,
    p_kind text,
    p_payload jsonb,
    p_exchange_order_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, old_status text, new_status text, outcome text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_order       lth_pvr.exchange_orders%ROWTYPE;
    v_id          uuid;
    v_valr_id     text;
    v_cid         uuid;
    v_read        record;              -- read_order_payload: status, originalQuantity, refusal
    v_new         text;
    v_time        timestamptz;
    v_orig        numeric;
    v_reason      text;
    v_outcome     text;
    v_detail      text;
    -- An open-orders item: the order is listed, so its status is reconciled.
    v_listed      boolean := p_kind = 'open_order';
BEGIN
    p_payload := lth_pvr.exchange_payload(p_payload);  -- ccxt's unified order: in VALR's words
    IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' THEN
        PERFORM lth_pvr.log_order_event(p_exchange_order_id, p_exchange_account_id, p_source, p_kind,
            'malformed', NULL, NULL, NULL, 'payload is not a JSON object', p_payload, p_now);
        RETURN QUERY SELECT p_exchange_order_id, NULL::text, NULL::text, 'malformed'::text;
        RETURN;
    END IF;

    v_valr_id := lth_pvr.json_text(p_payload->'orderId');
    v_cid := lth_pvr.json_uuid(p_payload->'customerOrderId');
    v_read := lth_pvr.read_order_payload(p_payload);
    v_time := lth_pvr.payload_exchange_time(p_kind, p_payload);
    -- "", "None" and null all mean "no reason".
    v_reason := NULLIF(NULLIF(btrim(coalesce(lth_pvr.json_text(p_payload->'failedReason'),
                                             lth_pvr.json_text(p_payload->'failureReason'))), ''), 'None');

    v_new := v_read.new_status;
    v_orig := v_read.original_qty;

    v_id := coalesce(p_exchange_order_id, lth_pvr.match_order(p_exchange_account_id, p_payload, false));
    IF v_id IS NOT NULL THEN
        SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = v_id FOR UPDATE;
        -- Matched by customerOrderId, but while we waited for the lock the placement answer gave the
        -- order another VALR id: this payload is about another order with the same customerOrderId.
        IF NOT FOUND OR (p_exchange_order_id IS NULL AND v_valr_id IS NOT NULL
                         AND v_order.ext_order_id IS NOT NULL AND v_order.ext_order_id <> v_valr_id) THEN
            v_id := NULL;
        END IF;
    END IF;
    -- A poll's answer must be about the polled order.
    IF v_id IS NOT NULL AND p_exchange_order_id IS NOT NULL AND (
           (v_valr_id IS NOT NULL AND v_order.ext_order_id IS NOT NULL AND v_valr_id <> v_order.ext_order_id)
        OR (v_valr_id IS NOT NULL AND v_order.ext_order_id IS NULL AND EXISTS (
                SELECT 1 FROM lth_pvr.exchange_orders x
                 WHERE x.ext_order_id = v_valr_id AND x.exchange = v_order.exchange))
        OR (v_cid IS NOT NULL AND v_cid <> v_order.customer_order_id)) THEN
        PERFORM lth_pvr.log_order_event(v_id, p_exchange_account_id, p_source, p_kind, 'not_ours',
            v_order.status, NULL, v_time, 'the payload is about another order', p_payload, p_now);
        RETURN QUERY SELECT v_id, v_order.status, v_order.status, 'not_ours'::text;
        RETURN;
    END IF;
    IF v_id IS NULL THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, p_kind, 'not_ours',
            NULL, v_new, v_time, NULL, p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, NULL::text, NULL::text, 'not_ours'::text;
        RETURN;
    END IF;

    -- Refused (unknown status, a malformed originalQuantity): logged with the reason, nothing applied.
    v_outcome := v_read.refusal;
    v_detail := v_read.detail;

    IF lth_pvr.payload_is_unchanged(p_payload, v_order) THEN
        -- Same status: the exchange confirmed it; refresh what it told us, not updated_at.
        v_outcome := 'unchanged';
        IF v_listed AND p_source = 'ws' AND lth_pvr.open_item_already_confirmed(p_payload, v_order, p_now) THEN
            -- VALR lists every open order right after each order's own event: raw and the event
            -- log already hold its word from this moment. No refresh, no event row.
            RETURN QUERY SELECT v_id, v_order.status, v_order.status, v_outcome;
            RETURN;
        END IF;
        UPDATE lth_pvr.exchange_orders o
           SET (raw, exchange_confirmed_at, original_qty, ws_monitored_at, reconcile_due_at) =
               (SELECT n.raw, n.exchange_confirmed_at, n.original_qty, n.ws_monitored_at, n.reconcile_due_at
                  FROM lth_pvr.order_after_unchanged(o, p_payload, v_listed, p_source, p_now) AS n)
         WHERE o.exchange_order_id = v_id;
    ELSIF v_outcome IS NULL AND NOT lth_pvr.status_transition_is_legal(v_order.status, v_new)
          AND NOT lth_pvr.revival_is_legal(v_order.status, v_new, v_order.failed_inferred_at) THEN
        v_outcome := 'illegal_transition';
        v_detail := format('%s -> %s (%s) is not a legal transition', v_order.status, v_new, v_read.status_text);
    ELSIF v_outcome IS NULL AND v_new <> 'failed' AND coalesce(v_order.ext_order_id, v_valr_id) IS NULL THEN
        v_outcome := 'malformed';
        v_detail := format('orderId missing: cannot mark the order %s without VALR''s id', v_new);
    ELSIF v_outcome IS NULL THEN
        v_outcome := 'applied';
        IF v_order.status = 'failed' THEN  -- an inferred failure VALR's word contradicts
            v_detail := lth_pvr.revive_order(v_id, v_valr_id, p_now);
        END IF;
        UPDATE lth_pvr.exchange_orders o
           SET updated_at = p_now,
               exchange_confirmed_at = p_now,
               raw = o.raw || jsonb_build_object('valr', p_payload),
               original_qty = coalesce(v_orig, o.original_qty),
               ext_order_id = coalesce(o.ext_order_id, v_valr_id),
               submitted_at = CASE WHEN v_new <> 'failed' THEN coalesce(o.submitted_at, p_now) ELSE o.submitted_at END,
               ws_monitored_at = lth_pvr.ws_monitored_after(o.ws_monitored_at, p_source, p_now),
               -- Listed: its status is reconciled; no further look-up is owed for it.
               reconcile_due_at = CASE WHEN v_listed THEN NULL ELSE o.reconcile_due_at END
         WHERE o.exchange_order_id = v_id;
        -- The status itself: the one function of each state change.
        IF v_new = 'submitted' THEN
            PERFORM lth_pvr.submit_order(v_id, v_valr_id, p_source, v_listed, p_now);
        ELSE
            PERFORM lth_pvr.finish_order(v_id, v_new, p_source, v_reason, p_now);
        END IF;
    END IF;

    PERFORM lth_pvr.log_order_event(v_id, v_order.exchange_account_id, p_source, p_kind, v_outcome,
        v_order.status, coalesce(v_new, v_order.status), v_time, v_detail, p_payload, p_now);
    RETURN QUERY SELECT v_id, v_order.status,
        CASE WHEN v_outcome = 'applied' THEN v_new ELSE v_order.status END, v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.apply_order_payload(uuid, text, text, jsonb, uuid, timestamptz) FROM PUBLIC;
