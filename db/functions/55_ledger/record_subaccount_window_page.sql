-- Owns: one page of GET /v1/account/transactionhistory/subaccounts (VALR: the transactions of every
-- subaccount within startTime..endTime, both inclusive, newest first, skip/limit over all of them,
-- grouped per subaccount `{id, label, transactions}`) and what a complete window proves, in one
-- transaction. Each group's transactions are recorded for the account with that subaccount id
-- (record_transactions, p_source 'rest' or 'rescan'); a group of a subaccount we do not hold is
-- counted (`unknown`), never recorded. The window is fixed in the past (ledger_window_end), so the
-- skip pages do not shift: a page shorter than p_limit ends it (`done`); else `next_skip`.
-- Complete means: every transaction of every subaccount within the window is now held. Only then, and
-- only for the batch's accounts (p_exchange_account_ids) whose held_through reached p_window_start
-- (nothing between them unread):
--   'rest':   held_through moves to p_window_end; the per-account cursor (newest_transaction_id) to
--             the account's newest transaction within it when newer; synced_at stamped, the claim,
--             the request and the error cleared (as a done record_transaction_page).
--   'rescan': rescanned_at stamped (rows it inserts were missed: alert ledger_late_transactions).
-- An interrupted window moves nothing: the next batch reads it again (duplicates are `duplicate`).
CREATE OR REPLACE FUNCTION lth_pvr.record_subaccount_window_page(
    p_exchange_account_ids uuid[],
    p_items jsonb,
    p_limit int,
    p_skip int,
    p_window_start timestamptz,
    p_window_end timestamptz,
    p_source text DEFAULT 'rest',
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (received int, recorded int, malformed int, unknown int, done boolean, next_skip int)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_source NOT IN ('rest', 'rescan') THEN
        RAISE EXCEPTION 'record_subaccount_window_page: source must be rest or rescan, not %', p_source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_items) <> 'array' THEN
        RAISE EXCEPTION 'record_subaccount_window_page: the page must be a JSON array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT coalesce(sum(g.n), 0), coalesce(sum(g.n) FILTER (WHERE g.account IS NULL), 0)
      INTO received, unknown
      FROM (SELECT CASE WHEN jsonb_typeof(e.item->'transactions') = 'array'
                        THEN jsonb_array_length(e.item->'transactions') ELSE 0 END AS n,
                   (SELECT a.exchange_account_id FROM lth_pvr.exchange_accounts a
                     WHERE a.subaccount_id = lth_pvr.json_text(e.item->'id') AND a.subaccount_id <> ''
                       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)) AS account
              FROM jsonb_array_elements(p_items) e(item)) g;
    SELECT count(*) FILTER (WHERE t.outcome = 'recorded'), count(*) FILTER (WHERE t.outcome = 'malformed')
      INTO recorded, malformed
      FROM jsonb_array_elements(p_items) e(item)
      JOIN lth_pvr.exchange_accounts a
        ON a.subaccount_id = lth_pvr.json_text(e.item->'id') AND a.subaccount_id <> ''
       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref),
           LATERAL lth_pvr.record_transactions(a.exchange_account_id, p_source, e.item->'transactions', p_now) t;
    done := received < p_limit;
    next_skip := CASE WHEN NOT done THEN p_skip + received END;
    IF done AND p_source = 'rest' THEN
        UPDATE lth_pvr.ledger_cursors c
           SET held_through = greatest(c.held_through, p_window_end),
               newest_transaction_id = coalesce(n.transaction_id, c.newest_transaction_id),
               newest_event_at = coalesce(n.event_at, c.newest_event_at),
               synced_at = p_now,
               sync_requested_at = CASE WHEN c.sync_requested_at <= c.sync_claimed_at THEN NULL
                                        ELSE c.sync_requested_at END,
               sync_claimed_at = NULL, sync_claimed_by = NULL, sync_failed_at = NULL, sync_error = NULL
          FROM lth_pvr.ledger_cursors c0
          LEFT JOIN LATERAL (
                SELECT t.transaction_id, t.event_at FROM lth_pvr.account_transactions t
                 WHERE t.exchange_account_id = c0.exchange_account_id AND t.event_at <= p_window_end
                   AND t.event_at > coalesce(c0.newest_event_at, '-infinity')
                 ORDER BY t.event_at DESC, t.transaction_id DESC LIMIT 1) n ON true
         WHERE c.exchange_account_id = c0.exchange_account_id
           AND c.exchange_account_id = ANY (p_exchange_account_ids) AND c.held_through >= p_window_start;
    ELSIF done THEN
        UPDATE lth_pvr.ledger_cursors c SET rescanned_at = p_now
         WHERE c.exchange_account_id = ANY (p_exchange_account_ids);
    END IF;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_subaccount_window_page(uuid[], jsonb, int, int, timestamptz, timestamptz, text, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_subaccount_window_page(uuid[], jsonb, int, int, timestamptz, timestamptz, text, timestamptz)
    TO valr_worker;
