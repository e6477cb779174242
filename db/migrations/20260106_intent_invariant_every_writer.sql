-- The intent invariant for every writer (issue 21, items 1, 2, 12): every order row of an intent is
-- checked (db/functions/triggers/exchange_orders_intent_invariant.sql), against what the intent asked
-- (intent_asked_qty, its first order's qty) and what its orders executed or may still execute
-- (intent_executes_at_most); a person places what an intent lacks with place_intent_remainder.
--
-- chain_root_qty gives way to intent_asked_qty (the first order of the intent, not of one chain: a
-- plain INSERT of another order names no chain); intent_executed_qty loses its p_except argument (it
-- is now what executed, for the alert intent_over_executed).
DROP FUNCTION IF EXISTS lth_pvr.chain_root_qty(uuid);
DROP FUNCTION IF EXISTS lth_pvr.intent_executed_qty(uuid, uuid);

-- place_intent_remainder's event row: kind `remainder` (a person asked for what an intent lacks),
-- outcome `remainder_placed`.
ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_kind_must_be_known,
    ADD CONSTRAINT order_event_kind_must_be_known CHECK (kind IN (
        'order_status', 'open_order', 'open_orders', 'trade', 'order_processed', 'failed_cancel_order',
        'frame', 'unknown_frame', 'poll', 'placement', 'lookup', 'claim', 'cancel_request', 'cancel',
        'insert', 'fallback', 'placement_retry', 'fill_correction', 'remainder'
    )),
    DROP CONSTRAINT order_event_outcome_must_be_known,
    ADD CONSTRAINT order_event_outcome_must_be_known CHECK (outcome IN (
        'applied', 'unchanged', 'illegal_transition', 'unknown_status', 'not_ours', 'malformed',
        'recorded', 'duplicate', 'overfill', 'unmatched', 'conflict', 'not_found',
        'not_found_within_grace', 'lost_placement', 'error', 'ignored', 'cancel_failed', 'requested',
        'cancelled_before_placement', 'pair_unchecked', 'fallback_requested', 'replaced', 'replacement',
        'filled_first', 'below_minimum', 'remainder_unknown', 'replacement_refused', 'nothing_left',
        'sent', 'not_sent', 'corrected', 'removed', 'remainder_placed'
    ));
