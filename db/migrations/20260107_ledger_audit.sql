-- The ledger's daily audit (issue 23): VALR's trades and balances compared with the database, per
-- account and day. Rows are written by the audit functions only (db/functions/56_audit/); the worker
-- and `valr-monitor audit` read VALR over REST, record it through the ledger's functions, then ask
-- SQL to compare.

CREATE TABLE lth_pvr.audit_runs (
    audit_run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day date NOT NULL,
    exchange_account_id uuid REFERENCES lth_pvr.exchange_accounts,
    ran_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    claimed_by text,
    started_at timestamptz,
    finished_at timestamptz,
    verdict text,
    orders_compared int,
    currencies_compared int,
    currencies_unsettled int,
    checkpoints_set int,
    findings int,
    findings_resolved int,
    error text,
    CONSTRAINT audit_ran_by_must_be_known CHECK (ran_by IN ('cli', 'cron')),
    CONSTRAINT audit_verdict_must_be_known CHECK (verdict IN ('clean', 'mismatch', 'failed')),
    CONSTRAINT audit_verdict_only_when_finished CHECK ((verdict IS NULL) = (finished_at IS NULL))
);
CREATE INDEX audit_runs_unfinished ON lth_pvr.audit_runs (requested_at) WHERE finished_at IS NULL;
COMMENT ON TABLE lth_pvr.audit_runs IS
    'one audit of one day (trades) and of the balances now, for one account or every account '
    '(exchange_account_id NULL); ran_by cli (valr-monitor audit) or cron (the daily ledger_audit job, run '
    'by a worker); verdict clean, mismatch (a finding, even one resolved since) or failed (VALR or the '
    'database could not be read: error)';

CREATE TABLE lth_pvr.audit_findings (
    finding_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit_run_id bigint NOT NULL REFERENCES lth_pvr.audit_runs,
    kind text NOT NULL,
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    exchange_order_id uuid REFERENCES lth_pvr.exchange_orders,
    ext_order_id text,
    transaction_ids text[],
    currency text,
    valr_trades int,
    our_fills int,
    valr_qty numeric,
    our_qty numeric,
    valr_fee numeric,
    our_fee numeric,
    valr_balance numeric,
    our_balance numeric,
    found_at timestamptz NOT NULL,
    resolved_at timestamptz,
    resolution text,
    resolved_by text,
    CONSTRAINT audit_finding_kind_must_be_known CHECK (kind IN
        ('missing_fill', 'unknown_fill', 'qty_mismatch', 'fee_mismatch', 'balance_mismatch')),
    CONSTRAINT audit_finding_resolution_needs_words CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX audit_findings_unresolved ON lth_pvr.audit_findings (exchange_account_id) WHERE resolved_at IS NULL;
CREATE INDEX audit_findings_run ON lth_pvr.audit_findings (audit_run_id);
COMMENT ON TABLE lth_pvr.audit_findings IS
    'what an audit found: per order (missing_fill, unknown_fill, qty_mismatch, fee_mismatch: VALR''s trade '
    'transactions of the order, their count, base quantity and fee against order_fills) or per currency '
    '(balance_mismatch: VALR''s balance against the checkpoint plus every transaction since); resolved '
    'by the audit (a missing fill fetched over REST and recorded) or by a person (resolve_audit_finding)';

-- The opening balance of the balance check, per account and currency. Set by the first audit that sees
-- the currency settled (see audit_balances): VALR's balance then, and the VALR time it holds up to.
CREATE TABLE lth_pvr.ledger_checkpoints (
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    currency text NOT NULL,
    opening_balance numeric NOT NULL,
    as_of timestamptz NOT NULL,
    set_at timestamptz NOT NULL,
    audit_run_id bigint REFERENCES lth_pvr.audit_runs,
    CONSTRAINT ledger_checkpoints_pkey PRIMARY KEY (exchange_account_id, currency)
);
COMMENT ON TABLE lth_pvr.ledger_checkpoints IS
    'the opening balance per account and currency: VALR''s total balance holding every transaction stamped '
    'up to as_of (its updatedAt plus audit_settle_seconds) and none after; the balance check adds every '
    'transaction stamped after as_of';

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('audit_hour_utc', 1,
     'the daily ledger audit (pg_cron job ledger_audit) audits yesterday from this hour (UTC) on'),
    ('audit_settle_seconds', 2,
     'a balance is compared only once its updatedAt is this old and no transaction of its currency is stamped '
     'later than this after it; a transaction stamped up to this after a balance''s updatedAt is taken as in it'),
    ('audit_claim_seconds', 600,
     'an audit requested by the daily job and claimed by a worker that never finished it is handed out again after this');
