-- Limit → market fallback (issue 16): a limit order still unfilled after fallback_after, or whose
-- market moved fallback_price_move against it, is cancelled; when VALR confirms the cancel, the
-- quantity VALR says was not executed is placed at market by a replacement order of the same intent.
-- The rules live in db/functions/45_fallback/ and finish_order; this migration holds their columns.

-- Per order: the triggers (NULL = none; an insert with NULL takes the account's, else the global
-- default; 0 on insert means "explicitly none" and is stored as NULL), and what happened.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN fallback_after        interval
        CONSTRAINT fallback_after_must_be_positive CHECK (fallback_after > interval '0'),
    ADD COLUMN fallback_price_move   numeric
        CONSTRAINT fallback_price_move_must_be_positive CHECK (fallback_price_move > 0),
    ADD CONSTRAINT fallback_only_on_limit_orders
        CHECK (order_type = 'limit' OR (fallback_after IS NULL AND fallback_price_move IS NULL)),
    -- The order this one replaces (a market order placed for the original's unexecuted remainder).
    ADD COLUMN replaces_order_id     uuid
        CONSTRAINT replaced_order_must_exist REFERENCES lth_pvr.exchange_orders,
    ADD CONSTRAINT one_replacement_per_order UNIQUE (replaces_order_id),
    ADD CONSTRAINT replacement_must_be_a_market_order_without_fallback
        CHECK (replaces_order_id IS NULL
               OR (order_type = 'market' AND fallback_after IS NULL AND fallback_price_move IS NULL)),
    -- Sent to VALR as customerOrderId: the intent_id for an intent's own orders, the order's own id
    -- for a replacement (VALR needs it unique among open orders; the lost-placement look-up needs it
    -- to name one order). Set by the insert-rules trigger; the default only serves loads that skip
    -- triggers (still unique).
    ADD COLUMN customer_order_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Why a fallback was requested ('age' | 'price'), when, the price that fired it (the best ask of a
    -- BUY, bid of a SELL; for 'age' the fresh price when one was known) and the threshold it crossed.
    ADD COLUMN fallback_reason       text
        CONSTRAINT fallback_reason_must_be_age_or_price CHECK (fallback_reason IN ('age', 'price')),
    ADD COLUMN fallback_requested_at timestamptz,
    ADD COLUMN fallback_price        numeric,
    ADD COLUMN fallback_threshold    numeric,
    -- What VALR's final word made of it (written by finish_order): 'replaced', 'filled' (VALR filled it
    -- first: nothing to replace), 'below_minimum' (remainder under the pair's minimum: nothing placed),
    -- 'remainder_unknown' (VALR's payload did not say: nothing placed), 'refused' (the pair's rules
    -- refuse the replacement), 'nothing_left' (VALR says nothing remained).
    ADD COLUMN fallback_outcome      text
        CONSTRAINT fallback_outcome_must_be_known CHECK (fallback_outcome IN (
            'replaced', 'filled', 'below_minimum', 'remainder_unknown', 'refused', 'nothing_left')),
    ADD CONSTRAINT fallback_reason_needs_its_request_time
        CHECK ((fallback_reason IS NULL) = (fallback_requested_at IS NULL));

UPDATE lth_pvr.exchange_orders SET customer_order_id = intent_id;
CREATE INDEX exchange_orders_customer_order_idx ON lth_pvr.exchange_orders (customer_order_id);

-- The time trigger's candidates: open orders with an age fallback not yet requested.
CREATE INDEX exchange_orders_fallback_age_idx
    ON lth_pvr.exchange_orders (submitted_at)
    WHERE status = 'submitted' AND fallback_after IS NOT NULL AND fallback_requested_at IS NULL;
-- The price trigger's candidates.
CREATE INDEX exchange_orders_fallback_price_idx
    ON lth_pvr.exchange_orders (pair)
    WHERE status = 'submitted' AND fallback_price_move IS NOT NULL AND fallback_requested_at IS NULL;

-- Account-wide defaults (NULL = the global setting).
ALTER TABLE lth_pvr.exchange_accounts
    ADD COLUMN fallback_after      interval
        CONSTRAINT account_fallback_after_must_be_positive CHECK (fallback_after > interval '0'),
    ADD COLUMN fallback_price_move numeric
        CONSTRAINT account_fallback_price_move_must_be_positive CHECK (fallback_price_move > 0);

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('fallback_after_seconds', 0,
     'default age fallback of a limit order without its own or its account''s (0 = off)'),
    ('fallback_price_move', 0,
     'default price fallback (a fraction: 0.0025 = 0.25 %) of a limit order without its own or its account''s (0 = off)'),
    ('fallback_price_stale_seconds', 30,
     'a market price older than this never fires a price fallback'),
    ('fallback_alert_hours', 24,
     'fallback_not_replaced and market_slippage alerts name orders finished within this many hours');

-- claim_pending_orders and list_unresolved_placements now return customer_order_id.
DROP FUNCTION IF EXISTS lth_pvr.claim_pending_orders(text, uuid[], int, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.list_unresolved_placements(text, timestamptz);
-- price_triggered_orders requests the cancels it returns: no longer STABLE (same signature).

ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_kind_must_be_known,
    ADD CONSTRAINT order_event_kind_must_be_known CHECK (kind IN (
        'order_status', 'open_order', 'open_orders', 'trade', 'order_processed', 'failed_cancel_order', 'frame',
        'unknown_frame', 'poll', 'placement', 'lookup', 'claim', 'cancel_request', 'cancel', 'insert',
        'fallback')),
    DROP CONSTRAINT order_event_outcome_must_be_known,
    ADD CONSTRAINT order_event_outcome_must_be_known CHECK (outcome IN (
        'applied', 'unchanged', 'illegal_transition', 'unknown_status', 'not_ours', 'malformed', 'recorded',
        'duplicate', 'overfill', 'unmatched', 'conflict', 'not_found', 'not_found_within_grace', 'lost_placement',
        'error', 'ignored', 'cancel_failed', 'requested', 'cancelled_before_placement', 'pair_unchecked',
        'fallback_requested', 'replaced', 'replacement', 'filled_first', 'below_minimum', 'remainder_unknown',
        'replacement_refused', 'nothing_left'));
