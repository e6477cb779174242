-- Owns: every frame of one WebSocket read (a JSON array), applied in order in one transaction, one
-- round trip (record_frames: the common frames set-based, the others by record_frame); counts
-- ws_sessions.events; one NOTIFY lth_pvr_recorded.
-- One bad frame must not abort the batch: validation handles hostile payloads without raising, and
-- if anything still raises, the batch is redone frame by frame, each in its own subtransaction, the
-- failing frame logged with outcome `error` (one savepoint per batch on the happy path).
CREATE OR REPLACE FUNCTION lth_pvr.record_batch(
    p_session_id bigint,
    p_frames jsonb,
    p_now timestamptz DEFAULT now()
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
    v_row     record;
    -- The result rows, one array per column, filled by element assignment (in place, linear in the
    -- batch size; concatenating a jsonb array per frame was quadratic). v_count is the length (a
    -- rolled-back attempt only resets it). Not returned until the end: the rows of an attempt that
    -- is rolled back must not reach the caller.
    v_count   int := 0;
    v_mark    int;
    v_index   int[] := '{}';
    v_type    text[] := '{}';
    v_order   uuid[] := '{}';
    v_outcome text[] := '{}';
    v_status  text[] := '{}';
    v_last    jsonb;
    v_last_id text;
BEGIN
    v_frames := CASE WHEN jsonb_typeof(p_frames) = 'array' THEN p_frames ELSE jsonb_build_array(p_frames) END;
    v_n := jsonb_array_length(v_frames);
    -- Counted first: one statement finds the session's account and counts the read.
    UPDATE lth_pvr.ws_sessions s SET events = s.events + v_n WHERE s.session_id = p_session_id
    RETURNING s.exchange_account_id INTO v_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_batch: no WebSocket session %', p_session_id
            USING ERRCODE = 'no_data_found';
    END IF;

    BEGIN
        -- The fast path: common frames recorded set-based, the rest by record_frame, in order.
        FOR v_row IN SELECT * FROM lth_pvr.record_frames(v_account, v_frames, p_now) LOOP
            v_count := v_count + 1;
            v_index[v_count] := v_row.frame_index;
            v_type[v_count] := v_row.frame_type;
            v_order[v_count] := v_row.exchange_order_id;
            v_outcome[v_count] := v_row.outcome;
            v_status[v_count] := v_row.new_status;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        -- Everything above was rolled back (not the variables): redo it frame by frame, isolating
        -- the culprit.
        v_count := 0;
        FOR i IN 0 .. v_n - 1 LOOP
            v_mark := v_count;
            BEGIN
                FOR v_row IN SELECT * FROM lth_pvr.record_frame(v_account, i, v_frames->i, p_now) LOOP
                    v_count := v_count + 1;
                    v_index[v_count] := v_row.frame_index;
                    v_type[v_count] := v_row.frame_type;
                    v_order[v_count] := v_row.exchange_order_id;
                    v_outcome[v_count] := v_row.outcome;
                    v_status[v_count] := v_row.new_status;
                END LOOP;
            EXCEPTION WHEN OTHERS THEN
                -- Rows this frame gave before failing (none in practice: record_frame's rows arrive
                -- once it has finished) go with its rollback; slots past v_count are overwritten.
                v_count := v_mark;
                PERFORM lth_pvr.log_order_event(NULL, v_account, 'ws',
                    coalesce(lth_pvr.json_text(v_frames->i->'type'), 'frame'), 'error', NULL, NULL, NULL,
                    SQLSTATE || ': ' || SQLERRM, v_frames->i, p_now);
                v_count := v_count + 1;
                v_index[v_count] := i;
                v_type[v_count] := lth_pvr.json_text(v_frames->i->'type');
                v_order[v_count] := NULL;
                v_outcome[v_count] := 'error';
                v_status[v_count] := NULL;
            END;
        END LOOP;
    END;

    v_last := v_frames->(v_n - 1);
    IF jsonb_typeof(v_last) = 'object' AND jsonb_typeof(v_last->'data') = 'object' THEN
        v_last_id := left(coalesce(
            CASE WHEN v_last->>'type' = 'NEW_ACCOUNT_TRADE' THEN lth_pvr.json_text(v_last->'data'->'id') END,
            lth_pvr.json_text(v_last->'data'->'orderId')), 100);
    END IF;
    IF v_n > 0 THEN
        PERFORM pg_notify('lth_pvr_recorded', jsonb_build_object(
            'session', p_session_id, 'frames', v_n, 'last', v_last_id)::text);
    END IF;

    -- Multi-argument unnest zips the arrays in order: the rows come back in frame order.
    RETURN QUERY
        SELECT x.frame_index, x.frame_type, x.exchange_order_id, x.outcome, x.new_status
          FROM unnest(v_index[1:v_count], v_type[1:v_count], v_order[1:v_count], v_outcome[1:v_count],
                      v_status[1:v_count])
               AS x(frame_index, frame_type, exchange_order_id, outcome, new_status);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_batch(bigint, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_batch(bigint, jsonb, timestamptz) TO valr_worker;
