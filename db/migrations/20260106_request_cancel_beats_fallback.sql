-- A person's cancel wins over a fallback already in flight (issue 21, item 3). When request_cancel
-- meets an order whose fallback fired (its cancel already on its way) and whose fallback is not yet
-- decided, it turns the fallback off: fallback_outcome 'cancelled_by_person', so VALR's final word
-- finishes the order and places no market replacement (finish_order replaces only while
-- fallback_outcome is NULL). request_cancel answers, and logs (kind `cancel_request`), `fallback_off`.
-- (Named to run after 20260106_placed_again.sql: the outcome list below is the whole current list.)
ALTER TABLE lth_pvr.exchange_orders
    DROP CONSTRAINT fallback_outcome_must_be_known,
    ADD CONSTRAINT fallback_outcome_must_be_known CHECK (fallback_outcome IN (
        'replaced', 'filled', 'below_minimum', 'remainder_unknown', 'refused', 'nothing_left',
        'cancelled_by_person'  -- a person cancelled the order after its fallback fired: nothing is replaced
    ));

ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_outcome_must_be_known,
    ADD CONSTRAINT order_event_outcome_must_be_known CHECK (outcome IN (
        'applied', 'unchanged', 'illegal_transition', 'unknown_status', 'not_ours', 'malformed', 'recorded',
        'duplicate', 'overfill', 'unmatched', 'conflict', 'not_found', 'not_found_within_grace', 'lost_placement',
        'error', 'ignored', 'cancel_failed', 'requested', 'cancelled_before_placement', 'pair_unchecked',
        'fallback_requested', 'replaced', 'replacement', 'filled_first', 'below_minimum', 'remainder_unknown',
        'replacement_refused', 'nothing_left', 'sent', 'not_sent', 'corrected', 'removed', 'remainder_placed',
        'placed_again',
        'fallback_off'  -- request_cancel: a person's cancel turned off the fallback whose cancel was on its way
    ));
