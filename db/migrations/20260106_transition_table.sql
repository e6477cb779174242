-- Issue 22, section 1: the life of an order as one table. Every legal status move is a row, the
-- exceptions included (placed again, an API key refused, an inferred failure revived), each with the
-- one function allowed to make it (`via`). The status guard (exchange_orders_status_guard) consults it
-- for every UPDATE of a status: a move with no row is illegal (status_transition_must_be_legal); a
-- move made without a function's permit is refused (status_must_change_through_functions); a move
-- made by another function than its row's `via` is refused by name
-- (status_transition_must_go_via_its_function). The permit carries the function's name:
-- allow_status_change(p_via text) replaces allow_status_change(boolean).
CREATE TABLE lth_pvr.transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    via         text NOT NULL,
    only_when   text,
    comment     text NOT NULL,
    PRIMARY KEY (from_status, to_status, via),
    CONSTRAINT transition_statuses_must_be_known CHECK (
        from_status IN ('pending', 'placing', 'submitted', 'filled', 'cancelled', 'failed')
        AND to_status IN ('pending', 'placing', 'submitted', 'filled', 'cancelled', 'failed')),
    CONSTRAINT transition_must_change_the_status CHECK (from_status <> to_status),
    -- The conditions the status guard checks on the row; each word is a CASE branch of the guard.
    CONSTRAINT transition_condition_must_be_known CHECK (only_when IN ('unclaimed_and_unsent', 'inferred_failure'))
);
COMMENT ON TABLE lth_pvr.transitions IS
    'every legal status move of an order and the one function allowed to make it; the status guard consults it';
COMMENT ON COLUMN lth_pvr.transitions.via IS
    'the function that makes the move (its permit, allow_status_change, carries this name)';
COMMENT ON COLUMN lth_pvr.transitions.only_when IS
    'NULL: an ordinary move (status_transition_is_legal); else the exception''s condition the guard checks on the row';

INSERT INTO lth_pvr.transitions (from_status, to_status, via, only_when, comment) VALUES
    ('pending', 'placing', 'claim_pending_orders', NULL,
     'the worker''s claim (a leased account; not while its key or clock is refused)'),
    ('pending', 'cancelled', 'finish_order', NULL,
     'request_cancel of an order never sent'),
    ('placing', 'submitted', 'submit_order', NULL,
     'VALR''s 202 (record_placement) or its word arriving first (apply_order_payload)'),
    ('placing', 'filled', 'finish_order', NULL,
     'VALR''s word before its 202 was recorded (a market order)'),
    ('placing', 'cancelled', 'finish_order', NULL,
     'VALR''s word before its 202 was recorded; request_cancel of a claim whose request has not left'),
    ('placing', 'failed', 'finish_order', NULL,
     'VALR refused the placement (record_placement, record_placement_refused, retry_placement) or does not know it after the grace and every placing again (settle_lost_placement)'),
    ('submitted', 'filled', 'finish_order', NULL,
     'VALR''s word: an update, an open-orders list, a poll'),
    ('submitted', 'cancelled', 'finish_order', NULL,
     'VALR''s word: an update, an open-orders list, a poll'),
    ('submitted', 'failed', 'finish_order', NULL,
     'VALR''s word: a Failed status, ORDER_PROCESSED success=false'),
    ('placing', 'pending', 'place_again', 'unclaimed_and_unsent',
     'placed again, the same row: a claim never sent (requeue_unsent_placements) or a request VALR does not know after the grace (settle_lost_placement)'),
    ('placing', 'pending', 'record_auth_refused', 'unclaimed_and_unsent',
     'VALR refused the worker''s API key: it accepted nothing'),
    ('failed', 'submitted', 'revive_order', 'inferred_failure',
     'an inferred failure (failed_inferred_at) VALR''s word contradicts; then it moves on as a submitted order');

-- The permit now names the function (the guard compares it with the row's `via`).
DROP FUNCTION IF EXISTS lth_pvr.allow_status_change(boolean);
