-- order_events.kind and order_events.outcome: closed vocabularies, the words the functions write.
-- To add a word (a new kind of event, a new outcome), write a new migration that replaces the
-- constraint with this list plus the word — copy the current list from db/schema.sql — and add a
-- line to the vocabulary tables of db/functions/README.md. A CHECK rather than a lookup table with
-- a foreign key: every recorded payload inserts an event row, and a foreign key would lock the
-- lookup row (FOR KEY SHARE) from every inserting transaction at once.
ALTER TABLE lth_pvr.order_events
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
        'cancel'                -- a cancel attempt that failed (record_cancel_failed)
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
        'cancelled_before_placement'   -- pending -> cancelled from SQL (nothing was sent)
    ));
