-- The words of issue 14's functions added to the closed vocabularies of order_events (see
-- 20260102_order_event_vocabularies.sql, with the words of 20260102_pair_rules_from_valr.sql and
-- 20260104_limit_market_fallback.sql): retry_placement's attempts, correct_fill's corrections.
ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_kind_must_be_known,
    DROP CONSTRAINT order_event_outcome_must_be_known,
    ADD CONSTRAINT order_event_kind_must_be_known CHECK (kind IN (
        'order_status',         -- an order object: ORDER_STATUS_UPDATE, or a status look-up reported as an update
        'open_order',           -- one item of an open-orders list
        'open_orders',          -- an open-orders list as a whole (only when it is not a list)
        'trade',                -- a trade (NEW_ACCOUNT_TRADE or a trade-history row)
        'order_processed',      -- ORDER_PROCESSED
        'failed_cancel_order',  -- FAILED_CANCEL_ORDER
        'frame',                -- a WebSocket frame without a type
        'unknown_frame',        -- a WebSocket frame of a type we do not handle (the type is in the payload)
        'poll',                 -- a REST look-up of one order (record_poll)
        'placement',            -- the answer to a placement request (record_placement)
        'lookup',               -- a lost placement looked up by customerOrderId, not found (record_placement_not_found)
        'claim',                -- pending -> placing by a worker (claim_pending_orders)
        'cancel_request',       -- request_cancel
        'cancel',               -- a cancel attempt that failed (record_cancel_failed)
        'insert',               -- an order inserted for a pair the rules could not check (check_pair_rules)
        'fallback',             -- a limit order's market fallback: fired, replaced, or why not (45_fallback)
        'placement_retry',      -- a placement attempt after VALR refused the last one (retry_placement)
        'fill_correction'       -- a recorded fill corrected or removed by an operator (correct_fill)
    )),
    ADD CONSTRAINT order_event_outcome_must_be_known CHECK (outcome IN (
        'applied',                     -- the status changed as the payload said
        'unchanged',                   -- the order already had that status; VALR's word refreshed
        'illegal_transition',          -- the transition table refuses it; logged, skipped
        'unknown_status',              -- a VALR status we do not know; logged, skipped
        'not_ours',                    -- about no order of ours (or another order than the polled one)
        'malformed',                   -- failed validation; logged, skipped
        'recorded',                    -- a new fill
        'duplicate',                   -- a fill already held (same trade id)
        'overfill',                    -- a new fill beyond the order quantity (kept, flagged)
        'unmatched',                   -- a trade without an orderId or customerOrderId we can match
        'conflict',                    -- a placement answer whose VALR id belongs to another order
        'not_found',                   -- a poll: VALR does not know the order (never terminal by itself)
        'not_found_within_grace',      -- a lost placement VALR does not know yet, still within its grace
        'lost_placement',              -- placing -> failed: VALR still does not know it after the grace
        'error',                       -- a poll that could not ask; a frame whose recording raised
        'ignored',                     -- a frame that changes nothing (logged for the record)
        'cancel_failed',               -- a cancel attempt that failed (record_cancel_failed; FAILED_CANCEL_ORDER)
        'requested',                   -- a cancel requested from SQL
        'cancelled_before_placement',  -- pending -> cancelled from SQL (nothing was sent)
        'pair_unchecked',              -- check_pair_rules: inserted for a pair the rules could not check
        'fallback_requested',          -- a fallback fired: its cancel requested
        'replaced',                    -- the original finished on VALR's word: its replacement inserted
        'replacement',                 -- the replacement order's own row of that decision
        'filled_first',                -- VALR filled the original before the cancel: no replacement
        'below_minimum',               -- the remainder is below the pair's minimum: no replacement
        'remainder_unknown',           -- VALR's final word gave no remaining quantity: no replacement
        'replacement_refused',         -- the pair's rules refuse the replacement: none
        'nothing_left',                -- the intent has nothing left to execute: none
        'sent',                        -- retry_placement: the retry may leave
        'not_sent',                    -- retry_placement: refused (moved on, or its grace passed)
        'corrected',                   -- correct_fill: the fill's quantity/price replaced
        'removed'                      -- correct_fill: the fill removed
    ));
