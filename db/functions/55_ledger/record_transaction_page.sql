-- Owns: one page of GET /v1/account/transactionhistory (newest first) and the catch-up cursor, in
-- one transaction: the page's transactions are committed with what the cursor learns, never apart.
-- The worker reads back from the newest transaction (p_before_id NULL: the first page) page by page
-- (`beforeId` = the last id of the page before: by id, so transactions sharing a timestamp across
-- a page boundary are read exactly once) and stops when this says `done`.
--   source 'rest' (the catch-up): the first page's newest item is the top of this catch-up
--     (catching_up_to_*). `done` when the page holds the cursor's transaction (`held_reached`) or is
--     shorter than p_limit (the end of the history): only then does the cursor move, to the top —
--     every transaction between them is now held (held_through moves too). An interrupted catch-up
--     (error, crash) leaves the cursor where it was: the next one reads back to it again
--     (duplicates are `duplicate`).
--   source 'rescan' (the cursor-free re-scan of the last ledger_rescan_days, pages by beforeId too):
--     `done` on a short page; the cursor is not touched; rows it inserts were missed by the socket
--     and the catch-up (source 'rescan': alert ledger_late_transactions); stamps rescanned_at when done.
-- A done catch-up ends the sync (finish_ledger_sync: synced_at, the claim and the request it answered).
CREATE OR REPLACE FUNCTION lth_pvr.record_transaction_page(
    p_exchange_account_id uuid,
    p_items jsonb,
    p_limit int,
    p_before_id text DEFAULT NULL,
    p_source text DEFAULT 'rest',
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (received int, recorded int, malformed int, held_reached boolean, done boolean, next_before_id text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c      lth_pvr.ledger_cursors;
    v_n    int;
    v_last text;
BEGIN
    IF p_source NOT IN ('rest', 'rescan') THEN
        RAISE EXCEPTION 'record_transaction_page: source must be rest or rescan, not %', p_source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_items) <> 'array' THEN
        RAISE EXCEPTION 'record_transaction_page: the page must be a JSON array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    c := lth_pvr.ledger_cursor(p_exchange_account_id);
    v_n := jsonb_array_length(p_items);
    v_last := lth_pvr.json_text(p_items->(v_n - 1)->'id');

    SELECT count(*) FILTER (WHERE t.outcome = 'recorded'), count(*) FILTER (WHERE t.outcome = 'malformed')
      INTO recorded, malformed
      FROM lth_pvr.record_transactions(p_exchange_account_id, p_source, p_items, p_now) t;
    received := v_n;
    held_reached := p_source = 'rest' AND c.newest_transaction_id IS NOT NULL
                    AND jsonb_path_exists(p_items, '$[*] ? (@.id == $id)', jsonb_build_object('id', c.newest_transaction_id));
    -- A page whose last item has no readable id cannot be paged past: done, and the cursor stays.
    done := held_reached OR v_n < p_limit OR v_last IS NULL;
    next_before_id := CASE WHEN NOT done THEN v_last END;

    IF p_source = 'rescan' THEN
        IF done THEN
            UPDATE lth_pvr.ledger_cursors SET rescanned_at = p_now WHERE exchange_account_id = p_exchange_account_id;
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_before_id IS NULL AND v_n > 0 THEN
        c.catching_up_to_id := lth_pvr.json_text(p_items->0->'id');
        c.catching_up_to_at := lth_pvr.json_time(p_items->0->'eventAt');
    END IF;
    IF done AND (held_reached OR v_n < p_limit) THEN
        UPDATE lth_pvr.ledger_cursors
           SET newest_transaction_id = coalesce(c.catching_up_to_id, c.newest_transaction_id),
               newest_event_at = coalesce(c.catching_up_to_at, c.newest_event_at),
               -- What the read proved for the across-subaccount window: up to its top, and up to
               -- ledger_window_end of the claim (the read began after it: nothing older was missing).
               held_through = greatest(held_through, coalesce(c.catching_up_to_at, c.newest_event_at),
                                       lth_pvr.ledger_window_end(sync_claimed_at)),
               catching_up_to_id = NULL, catching_up_to_at = NULL
         WHERE exchange_account_id = p_exchange_account_id;
        PERFORM lth_pvr.finish_ledger_sync(p_exchange_account_id, false, p_now);
    ELSE
        UPDATE lth_pvr.ledger_cursors
           SET catching_up_to_id = c.catching_up_to_id, catching_up_to_at = c.catching_up_to_at
         WHERE exchange_account_id = p_exchange_account_id;
    END IF;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_transaction_page(uuid, jsonb, int, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_transaction_page(uuid, jsonb, int, text, text, timestamptz) TO valr_worker;
