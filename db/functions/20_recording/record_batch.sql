-- Owns: every frame of one WebSocket read (a JSON array), applied in order in one transaction, one
-- round trip (record_frames: the common frames set-based, the others by record_frame; the ledger's
-- frames by record_ledger_frames); counts
-- ws_sessions.events and .reads; one NOTIFY lth_pvr_recorded when the setting notify_recorded is 1
-- (shipped 0: such commits queue behind PostgreSQL's NOTIFY lock, and nothing of ours listens).
-- p_superseded: open-orders lists received with these frames that the worker dropped because a newer
-- list of the same read followed (worker/valr/framequeue.py). They count as received — in
-- ws_sessions.events and in the NOTIFY's `frames` — and in ws_sessions.superseded; they are not
-- recorded (the newer list says all they said that still holds).
-- One bad frame must not abort the batch: validation handles hostile payloads without raising, and
-- if anything still raises, the batch is redone frame by frame, each in its own subtransaction, the
-- failing frame logged with outcome `error` (one savepoint per batch on the happy path).
CREATE OR REPLACE FUNCTION lth_pvr.record_batch(
    p_session_id bigint,
    p_frames jsonb,
    p_now timestamptz DEFAULT now(),
    p_superseded int DEFAULT 0
)
RETURNS TABLE (frame_index int, frame_type text, exchange_order_id uuid, outcome text, new_status text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_account uuid;
    v_frames  jsonb;
    v_n       int;
    v_last    jsonb;
    v_last_id text;
    v_dropped int;
    v_ledger  int;
BEGIN
    v_frames := CASE WHEN jsonb_typeof(p_frames) = 'array' THEN p_frames ELSE jsonb_build_array(p_frames) END;
    v_n := jsonb_array_length(v_frames);
    v_dropped := greatest(coalesce(p_superseded, 0), 0);
    -- Counted first: one statement finds the session's account and counts the read.
    UPDATE lth_pvr.ws_sessions s
       SET events = s.events + v_n + v_dropped, superseded = s.superseded + v_dropped, reads = s.reads + 1
     WHERE s.session_id = p_session_id
    RETURNING s.exchange_account_id INTO v_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_batch: no WebSocket session %', p_session_id
            USING ERRCODE = 'no_data_found';
    END IF;

    -- A PL/pgSQL set-returning function hands over its rows only once it has finished: a call that
    -- raises adds none to ours, so the rows of an attempt that is rolled back never reach the caller.
    BEGIN
        -- How many of the frames are the ledger's: objects whose type is one of its words (their types
        -- gathered, not the frames: a long read's would be copied). Strict: in lax mode a frame that
        -- is an array of such objects, or a type that is an array of such a word, would count too,
        -- and a read of them only would lose those frames' rows.
        v_ledger := jsonb_array_length(jsonb_path_query_array(v_frames,
            'strict $[*] ? (@.type == "NEW_ACCOUNT_HISTORY_RECORD" || @.type == "BALANCE_UPDATE"
                            || @.type == "NEW_PENDING_RECEIVE").type'));
        IF v_ledger = 0 THEN
            -- The fast path: common frames recorded set-based, the rest by record_frame, in order.
            RETURN QUERY SELECT * FROM lth_pvr.record_frames(v_account, v_frames, p_now);
        ELSIF v_ledger = v_n THEN
            -- The ledger's frames only (the worker's second call for a fill's read): record_frames
            -- would pass every one of them over.
            RETURN QUERY
            SELECT l.frame_index, l.frame_type, l.exchange_order_id, l.outcome, l.new_status
              FROM lth_pvr.record_ledger_frames(v_account, v_frames, p_now) l
             ORDER BY l.frame_index;
        ELSE
            -- The ledger's frames (transactions, balances, pending deposits) set-based by
            -- record_ledger_frames (no order row touched); the rows in frame order.
            RETURN QUERY
            SELECT r.frame_index, r.frame_type, r.exchange_order_id, r.outcome, r.new_status
              FROM (SELECT f.frame_index, f.frame_type, f.exchange_order_id, f.outcome, f.new_status, f.ordinality AS k
                      FROM lth_pvr.record_frames(v_account, v_frames, p_now) WITH ORDINALITY AS f
                     WHERE f.frame_type IS NULL OR f.frame_type <> ALL (lth_pvr.ledger_frame_types())
                    UNION ALL
                    SELECT l.frame_index, l.frame_type, l.exchange_order_id, l.outcome, l.new_status, 0::bigint
                      FROM lth_pvr.record_ledger_frames(v_account, v_frames, p_now) l) r
             ORDER BY r.frame_index, r.k;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        -- Everything above was rolled back: redo it frame by frame, isolating the culprit.
        FOR i IN 0 .. v_n - 1 LOOP
            BEGIN
                IF v_frames->i->>'type' = ANY (lth_pvr.ledger_frame_types()) THEN
                    RETURN QUERY SELECT i, l.frame_type, l.exchange_order_id, l.outcome, l.new_status
                                   FROM lth_pvr.record_ledger_frames(v_account, jsonb_build_array(v_frames->i), p_now) l;
                    CONTINUE;
                END IF;
                RETURN QUERY SELECT * FROM lth_pvr.record_frame(v_account, i, v_frames->i, p_now);
            EXCEPTION WHEN OTHERS THEN
                PERFORM lth_pvr.log_order_event(NULL, v_account, 'ws',
                    lth_pvr.frame_event_kind(lth_pvr.json_text(v_frames->i->'type')), 'error', NULL, NULL, NULL,
                    SQLSTATE || ': ' || SQLERRM, v_frames->i, p_now);
                RETURN QUERY SELECT i, lth_pvr.json_text(v_frames->i->'type'), NULL::uuid, 'error'::text, NULL::text;
            END;
        END LOOP;
    END;

    v_last := v_frames->(v_n - 1);
    IF jsonb_typeof(v_last) = 'object' AND jsonb_typeof(v_last->'data') = 'object' THEN
        v_last_id := left(coalesce(
            CASE WHEN v_last->>'type' = 'NEW_ACCOUNT_TRADE' THEN lth_pvr.json_text(v_last->'data'->'id') END,
            lth_pvr.json_text(v_last->'data'->'orderId')), 100);
    END IF;
    IF v_n > 0 AND lth_pvr.setting('notify_recorded') = 1 THEN
        PERFORM pg_notify('lth_pvr_recorded', jsonb_build_object(
            'session', p_session_id, 'frames', v_n + v_dropped, 'last', v_last_id)::text);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_batch(bigint, jsonb, timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_batch(bigint, jsonb, timestamptz, int) TO valr_worker;
