-- Issue 21, items 9 and 11: a placement that did not reach VALR is placed again, not failed; a market
-- order with no final word is looked up after a few seconds.
--   placement_requeues  how many times the order went back to `pending` to be placed again (place_again):
--                       a claim whose request never left, or a request VALR did not know after the grace.
--                       The second kind stops at placement_requeues_max: then the order fails as before
--                       (failed_inferred_at) and a person decides.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN placement_requeues int NOT NULL DEFAULT 0;
COMMENT ON COLUMN lth_pvr.exchange_orders.placement_requeues IS
    'times the order went back to pending to be placed again (place_again)';

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('placement_requeues_max', 3,
     'a placement VALR does not know after the grace is placed again at most this many times, then failed'),
    ('market_order_lookup_seconds', 5,
     'a submitted market order with no final word this long after VALR accepted it is looked up over REST');

-- claim_pending_orders now also returns placement_attempts (the attempts of earlier claims: the
-- worker numbers its own from there), a changed return type; fail_lost_placement became
-- settle_lost_placement (it places again before it fails).
DROP FUNCTION IF EXISTS lth_pvr.claim_pending_orders(text, uuid[], int, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.fail_lost_placement(lth_pvr.exchange_orders, text, timestamptz);

-- The outcome vocabulary again (20260106_intent_invariant_every_writer.sql), plus `placed_again`.
ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_outcome_must_be_known,
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
        'removed',                     -- correct_fill: the fill removed
        'remainder_placed',            -- place_intent_remainder: a person placed what the intent lacked
        'placed_again'                 -- placing -> pending: a request that never left (its claimer gone or
                                       --   its grace over), or one VALR still does not know after the grace
    ));
