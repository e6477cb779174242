-- The ledger's primary-key reads across subaccounts (issue 23): accounts without an open socket are
-- kept current with one GET /v1/account/transactionhistory/subaccounts window (paged by skip) and one
-- GET /v1/account/balances/all for all of them, not two calls per subaccount (claim_ledger_batch).

-- ledger_sync_due takes p_ahead (claim_ledger_batch takes along the subaccounts due later): a new signature.
DROP FUNCTION IF EXISTS lth_pvr.ledger_sync_due(lth_pvr.ledger_cursors, timestamptz);

-- Every transaction of the account with eventAt at or before held_through is held: proved by a
-- complete across-subaccount window (record_subaccount_window_page) or a complete per-account
-- catch-up (record_transaction_page). The next window starts here.
ALTER TABLE lth_pvr.ledger_cursors ADD COLUMN held_through timestamptz;
COMMENT ON COLUMN lth_pvr.ledger_cursors.held_through IS
    'every transaction of the account with eventAt at or before this is held (a complete window or catch-up '
    'proved it): the across-subaccount window starts here; NULL: the per-account catch-up first';
-- A catch-up already done proved everything up to its newest transaction.
UPDATE lth_pvr.ledger_cursors SET held_through = newest_event_at WHERE newest_event_at IS NOT NULL;

-- VALR refuses the across-subaccount routes to a key that is not the primary account's ("Can only be
-- called using a primary account API key"): the refusal is kept and the per-account reads used until
-- ledger_across_retry_hours have passed (a key may be replaced by a primary one meanwhile).
CREATE TABLE lth_pvr.ledger_across_refusals (
    refused_at timestamptz NOT NULL,
    worker_id text NOT NULL,
    error text NOT NULL,
    CONSTRAINT ledger_across_refusals_pkey PRIMARY KEY (refused_at, worker_id)
);
COMMENT ON TABLE lth_pvr.ledger_across_refusals IS
    'VALR refused an across-subaccount read (the key is not the primary account''s): per-account reads '
    'until ledger_across_retry_hours after the newest refusal; a person may delete rows to try again now';

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('ledger_across_min_accounts', 2,
     'the across-subaccount reads are used when at least this many subaccounts are due by time'),
    ('ledger_across_retry_hours', 24,
     'after VALR refused the across-subaccount reads, the per-account reads are used this long'),
    ('ledger_window_lag_seconds', 30,
     'an across-subaccount window ends this long before now (VALR''s clock may trail ours): newer '
     'transactions are read by the next window');
