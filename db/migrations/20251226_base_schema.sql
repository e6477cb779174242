-- Base schema for valr-order-monitor, in the spec's schema `lth_pvr`.
--
-- Read top to bottom: accounts, orders (with every status and the transition that reaches it),
-- fills, the append-only event log, WebSocket sessions, workers and their subaccount leases,
-- safety-net runs, pair precision, and the operator-tunable settings.
-- The spec's own WebSocket-tracking columns (ws_monitored_at, last_polled_at, poll_count,
-- requires_polling) arrive in the next migration, under the spec's file name. Every later change
-- before the first release is folded in here; db/schema.sql is what all migrations build
-- (tests/test_schema_snapshot.py keeps the two equal).

CREATE SCHEMA IF NOT EXISTS lth_pvr;

-- ---------------------------------------------------------------------------------------------
-- Exchange accounts: one VALR subaccount per customer ('' = the primary account).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.exchange_accounts (
    exchange_account_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subaccount_id       text NOT NULL DEFAULT ''
        CONSTRAINT subaccount_id_must_be_alphanumeric CHECK (subaccount_id ~ '^[0-9A-Za-z-]{0,64}$'),
    label               text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subaccount_id_must_be_unique UNIQUE (subaccount_id)
);

COMMENT ON TABLE lth_pvr.exchange_accounts IS
    'VALR (sub)accounts. subaccount_id is VALR''s id, sent as X-VALR-SUB-ACCOUNT-ID; '''' is the primary account.';

-- ---------------------------------------------------------------------------------------------
-- Pair precision: VALR truncates quantities finer than the pair allows, silently. We refuse them.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.pairs (
    pair                text PRIMARY KEY,
    base_decimal_places int NOT NULL CHECK (base_decimal_places BETWEEN 0 AND 18),
    tick_size           numeric NOT NULL CHECK (tick_size > 0),
    min_base_amount     numeric NOT NULL DEFAULT 0
);

-- From VALR's GET /v1/public/pairs for the common ZAR pairs.
INSERT INTO lth_pvr.pairs (pair, base_decimal_places, tick_size, min_base_amount) VALUES
    ('BTCZAR', 8, 1, 0.0001),
    ('ETHZAR', 8, 1, 0.001),
    ('XRPZAR', 6, 0.01, 1),
    ('SOLZAR', 8, 1, 0.01),
    ('USDTZAR', 2, 0.01, 1),
    ('USDCZAR', 2, 0.01, 1);

-- ---------------------------------------------------------------------------------------------
-- Orders. A person inserts (exchange_account_id, intent_id, pair, side, price, qty) in psql;
-- the database moves the order through its life, the worker only reports what VALR said.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.exchange_orders (
    exchange_order_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    exchange_account_id uuid NOT NULL
        CONSTRAINT exchange_account_must_exist REFERENCES lth_pvr.exchange_accounts,
    -- Sent to VALR as customerOrderId: a placement whose answer was lost is looked up by it.
    intent_id           uuid NOT NULL,
    pair                text NOT NULL
        CONSTRAINT pair_must_be_uppercase_symbol CHECK (pair ~ '^[A-Z0-9]{5,20}$'),
    side                text NOT NULL
        CONSTRAINT side_must_be_buy_or_sell CHECK (side IN ('BUY', 'SELL')),
    price               numeric NOT NULL
        CONSTRAINT price_must_be_positive CHECK (price > 0),
    qty                 numeric NOT NULL
        CONSTRAINT qty_must_be_positive CHECK (qty > 0),
    post_only           boolean NOT NULL DEFAULT false,
    time_in_force       text NOT NULL DEFAULT 'GTC'
        CONSTRAINT time_in_force_must_be_gtc_fok_or_ioc CHECK (time_in_force IN ('GTC', 'FOK', 'IOC')),
    status              text NOT NULL DEFAULT 'pending'
        CONSTRAINT status_must_be_known CHECK (status IN (
            'pending',    -- inserted by a person or a strategy; the worker will place it
            'placing',    -- pending -> placing: claimed by a worker, committed BEFORE the POST;
                          --   the marker that a request may have reached VALR (never back to pending)
            'submitted',  -- placing -> submitted: VALR accepted it (open, partially filled included);
                          --   or inserted directly as submitted when another system placed it
            'filled',     -- submitted|placing -> filled: VALR says Filled
            'cancelled',  -- submitted|placing -> cancelled: Cancelled, Expired, or
                          --   "Partially Filled and Cancelled Due To Slippage" (fills kept)
            'failed'      -- placing|submitted -> failed: VALR refused it, or it never arrived there
        )),
    ext_order_id        text
        CONSTRAINT ext_order_id_must_be_unique UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    claimed_at          timestamptz,        -- pending -> placing
    claimed_by          text,               -- worker id that claimed it
    -- When the placement request actually left (begin_placement, committed before the POST). NULL
    -- on a `placing` order: it never left, so VALR cannot know it. The lost-placement grace counts
    -- from here (else from the claim): a request that waited for its socket or the rate budget is
    -- not judged lost before it was even sent.
    placement_sent_at   timestamptz,
    submitted_at        timestamptz,
    -- Moves only when status or fills change, never for poll bookkeeping.
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- When it reached its final status (trigger exchange_orders_finished_at), kept apart from
    -- updated_at, which a late fill still moves. claim_missing_fills selects finished orders by it.
    finished_at         timestamptz,
    -- Last time the exchange confirmed this order's state (WebSocket event or REST answer).
    exchange_confirmed_at timestamptz,
    original_qty        numeric,            -- VALR's originalQuantity, when known
    filled_qty          numeric NOT NULL DEFAULT 0,   -- sum(qty) of order_fills
    -- sum(price * qty) of order_fills, kept incrementally by each recorded fill, so that
    -- avg_price = filled_value / filled_qty stays exactly what the sum gives.
    filled_value        numeric NOT NULL DEFAULT 0,
    avg_price           numeric,                      -- filled_value / filled_qty
    failed_reason       text,
    raw                 jsonb NOT NULL DEFAULT '{}',  -- latest VALR payload under the key 'valr'
    -- Safety-net bookkeeping (never moves updated_at).
    poll_due_at         timestamptz,        -- marked due by the cron job or request_poll
    poll_claimed_at     timestamptz,
    poll_claimed_by     text,
    poll_failures       int NOT NULL DEFAULT 0,       -- "not found" / transport errors, counted apart
    -- Cancellation from SQL: the status moves only on VALR's word.
    cancel_requested_at timestamptz,
    cancel_sent_at      timestamptz,
    -- One REST reconciliation is owed (inserted as submitted, or placed before its socket was up).
    reconcile_due_at    timestamptz,
    -- Fills of a finished order are fetched again while VALR reports more executed quantity than we
    -- hold (a NEW_ACCOUNT_TRADE lost with nobody retrying): when a worker last claimed it for that.
    fills_checked_at    timestamptz,
    -- cancelled without an id: cancelled from SQL before it was ever placed.
    CONSTRAINT placed_order_must_have_ext_order_id
        CHECK (status IN ('pending', 'placing', 'failed', 'cancelled') OR ext_order_id IS NOT NULL),
    CONSTRAINT filled_qty_must_not_be_negative CHECK (filled_qty >= 0)
);

-- VALR refuses a second open order with the same customerOrderId.
CREATE UNIQUE INDEX one_open_order_per_intent
    ON lth_pvr.exchange_orders (intent_id)
    WHERE status IN ('pending', 'placing', 'submitted');

CREATE INDEX exchange_orders_pending_idx
    ON lth_pvr.exchange_orders (created_at) WHERE status = 'pending';
CREATE INDEX exchange_orders_placing_idx
    ON lth_pvr.exchange_orders (claimed_at) WHERE status = 'placing';
CREATE INDEX exchange_orders_account_open_idx
    ON lth_pvr.exchange_orders (exchange_account_id) WHERE status IN ('pending', 'placing', 'submitted');
CREATE INDEX exchange_orders_submitted_at_idx
    ON lth_pvr.exchange_orders (submitted_at);
CREATE INDEX exchange_orders_poll_due_idx
    ON lth_pvr.exchange_orders (poll_due_at) WHERE poll_due_at IS NOT NULL;
CREATE INDEX exchange_orders_cancel_idx
    ON lth_pvr.exchange_orders (cancel_requested_at)
    WHERE cancel_requested_at IS NOT NULL AND cancel_sent_at IS NULL;
CREATE INDEX exchange_orders_reconcile_idx
    ON lth_pvr.exchange_orders (reconcile_due_at) WHERE reconcile_due_at IS NOT NULL;
-- Events and fills racing the placement answer are matched by customerOrderId = intent_id, also
-- for orders that are no longer open (one_open_order_per_intent covers open orders only).
CREATE INDEX exchange_orders_intent_idx ON lth_pvr.exchange_orders (intent_id);
-- claim_missing_fills' candidates. Keyed on columns that change once per order (status,
-- finished_at), not on updated_at or filled_qty: a fill then updates the order row in place (a HOT
-- update) instead of adding an entry to every index of the table.
CREATE INDEX exchange_orders_finished_idx
    ON lth_pvr.exchange_orders (finished_at)
    WHERE status IN ('filled', 'cancelled');

-- ---------------------------------------------------------------------------------------------
-- Fills: one row per VALR trade; the trade id is the fill's identity (dedupe in the database).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.order_fills (
    fill_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trade_id            text NOT NULL CONSTRAINT trade_id_must_be_unique UNIQUE,
    exchange_order_id   uuid NOT NULL REFERENCES lth_pvr.exchange_orders,
    price               numeric NOT NULL CONSTRAINT fill_price_must_be_positive CHECK (price > 0),
    qty                 numeric NOT NULL CONSTRAINT fill_qty_must_be_positive CHECK (qty > 0),
    fee                 numeric NOT NULL DEFAULT 0,
    fee_currency        text,
    traded_at           timestamptz NOT NULL,
    sequence_id         numeric,            -- VALR's sequenceId exceeds 2^53: never a float
    source              text NOT NULL CHECK (source IN ('ws', 'poll', 'placement')),
    recorded_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX order_fills_order_idx ON lth_pvr.order_fills (exchange_order_id);

-- ---------------------------------------------------------------------------------------------
-- Event log: every payload received, and what it changed. Append-only; the only deletion is
-- retention pruning (lth_pvr.prune_event_log).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.order_events (
    event_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange_order_id   uuid,               -- NULL when the event matched none of our orders
    exchange_account_id uuid,
    source              text NOT NULL CHECK (source IN ('ws', 'poll', 'placement', 'operator', 'system')),
    kind                text NOT NULL,      -- what was received: a closed vocabulary (20260102_order_event_vocabularies)
    outcome             text NOT NULL,      -- what it did: a closed vocabulary (same migration)
    old_status          text,
    new_status          text,
    exchange_time       timestamptz,        -- when VALR says it happened
    received_at         timestamptz NOT NULL DEFAULT now(),
    detail              text,
    payload             jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX order_events_order_idx ON lth_pvr.order_events (exchange_order_id, event_id);
CREATE INDEX order_events_received_idx ON lth_pvr.order_events (received_at);

-- ---------------------------------------------------------------------------------------------
-- WebSocket sessions: one row per account-socket connection.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.ws_sessions (
    session_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    worker_id           text NOT NULL,
    opened_at           timestamptz NOT NULL DEFAULT now(),
    authenticated_at    timestamptz,
    closed_at           timestamptz,
    close_reason        text,
    closed_with_error   boolean NOT NULL DEFAULT false,
    events              bigint NOT NULL DEFAULT 0
);

CREATE INDEX ws_sessions_open_idx ON lth_pvr.ws_sessions (exchange_account_id) WHERE closed_at IS NULL;
CREATE INDEX ws_sessions_opened_idx ON lth_pvr.ws_sessions (opened_at);

-- ---------------------------------------------------------------------------------------------
-- Workers and subaccount leases. A lease row with an expiry (not an advisory lock, which dies
-- with its connection while the socket it guarded lives on) makes one worker own a subaccount.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.workers (
    worker_id           text PRIMARY KEY,
    host                text NOT NULL DEFAULT '',
    pid                 int,
    started_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    stopped_at          timestamptz
);

CREATE TABLE lth_pvr.subaccount_leases (
    exchange_account_id uuid PRIMARY KEY REFERENCES lth_pvr.exchange_accounts,
    worker_id           text NOT NULL,
    acquired_at         timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL
);

CREATE INDEX subaccount_leases_worker_idx ON lth_pvr.subaccount_leases (worker_id);

-- ---------------------------------------------------------------------------------------------
-- Safety-net runs: one row per cron tick, so the last run is visible without a `cron` grant.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.safety_net_runs (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ran_at              timestamptz NOT NULL DEFAULT now(),
    orders_due          int NOT NULL,
    notified            boolean NOT NULL
);

CREATE INDEX safety_net_runs_ran_idx ON lth_pvr.safety_net_runs (ran_at);

-- ---------------------------------------------------------------------------------------------
-- Settings: alert thresholds (the spec's values) and knobs operators tune with SQL.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE lth_pvr.settings (
    name                text PRIMARY KEY,
    value               numeric NOT NULL,
    description         text NOT NULL
);

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('ws_coverage_min_pct',         80,  'critical: WebSocket coverage below this % (7 days): WebSocket setup failing'),
    ('avg_polls_per_order_max',     10,  'critical: average polls per order above this (7 days): excessive polling'),
    ('stuck_order_minutes',         60,  'critical: submitted orders not confirmed by the exchange for this long'),
    ('polls_per_day_max',           200, 'warning: REST polls in the last 24 h above this (2x the expected 100)'),
    ('ws_failure_pct_max',          10,  'warning: WebSocket sessions closed with an error, % of opened, 24 h'),
    ('pending_unplaced_minutes',    5,   'critical: pending orders not placed within this many minutes'),
    ('placing_unresolved_minutes',  2,   'critical: placing orders whose outcome is unknown for this long'),
    ('worker_heartbeat_seconds',    90,  'critical: no worker heartbeat seen within this many seconds'),
    ('poll_recent_minutes',         2,   'the safety net skips orders polled within this many minutes'),
    ('placement_grace_seconds',     120, 'a lost placement VALR still does not know after this becomes failed'),
    ('event_log_retention_days',    90,  'order_events older than this are pruned daily'),
    -- VALR answers a placement with 202 ("accepted, not yet placed"): a list taken in the next
    -- moment may not show the order yet; the next list or the safety net covers the rest.
    ('open_list_grace_seconds',     5,   'an open-orders list calls a submitted order missing only if it was submitted this long before'),
    ('order_created_skew_seconds',  2,   'match_order: a customerOrderId match is refused when VALR created that order more than this before our claim (clock skew allowance)'),
    ('reconcile_fallback_seconds',  30,  'claim_due_polls hands out an order owed a reconciliation only after this long (the socket reconciles first)'),
    ('poll_claim_seconds',          120, 'a claimed REST look-up (claim_due_polls, reconcile_open_orders, session_authenticated) is handed out again after this long without a recorded poll'),
    ('fills_check_seconds',         120, 'claim_missing_fills hands out the same finished order at most this often');
