-- Owns: **the audit's balance check and the opening balance rule**. Per account and currency of the
-- run: VALR's balance (`balances`, read over REST by the audit just before the history) is compared
-- only once settled — its updatedAt at least audit_settle_seconds old and no transaction of the
-- currency stamped more than audit_settle_seconds after it (else counted `unsettled`, not compared):
-- then every transaction stamped up to updatedAt + audit_settle_seconds is in it and none after.
-- No checkpoint yet: the settled balance becomes it (opening = total, as_of = updatedAt + settle).
-- Otherwise the expected balance is the opening plus creditValue − debitValue of every transaction of
-- the currency stamped after as_of up to the balance's own bound (the fee is inside those values, as
-- in VALR's samples). Equal: the checkpoint moves forward to this balance (the next audit adds only
-- what came since). Different: a `balance_mismatch` naming the currency, both amounts and those
-- transactions; the checkpoint stays until a person resolves it (resolve_audit_finding re-opens it).
CREATE OR REPLACE FUNCTION lth_pvr.audit_balances(p_audit_run_id bigint, p_now timestamptz DEFAULT now())
RETURNS TABLE (compared int, unsettled int, checkpoints_set int)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_run    lth_pvr.audit_runs;
    v_settle interval := make_interval(secs => lth_pvr.setting('audit_settle_seconds'));
BEGIN
    SELECT * INTO STRICT v_run FROM lth_pvr.audit_runs r WHERE r.audit_run_id = p_audit_run_id;
    RETURN QUERY
    WITH checked AS (
        SELECT b.exchange_account_id, b.currency, b.total, b.updated_at + v_settle AS bound,
               b.updated_at <= p_now - v_settle AND NOT EXISTS (
                   SELECT 1 FROM lth_pvr.account_transactions t
                    WHERE t.exchange_account_id = b.exchange_account_id
                      AND b.currency IN (t.debit_currency, t.credit_currency)
                      AND t.event_at > b.updated_at + v_settle) AS settled,
               k.exchange_account_id IS NOT NULL AS has_checkpoint,
               k.opening_balance + coalesce(m.moved, 0) AS expected, coalesce(m.ids, '{}') AS ids
          FROM lth_pvr.balances b
          LEFT JOIN lth_pvr.ledger_checkpoints k
            ON k.exchange_account_id = b.exchange_account_id AND k.currency = b.currency
          LEFT JOIN LATERAL (
              SELECT sum(CASE WHEN t.credit_currency = b.currency THEN t.credit_value ELSE 0 END
                         - CASE WHEN t.debit_currency = b.currency THEN t.debit_value ELSE 0 END) AS moved,
                     array_agg(t.transaction_id ORDER BY t.event_at, t.transaction_id) AS ids
                FROM lth_pvr.account_transactions t
               WHERE t.exchange_account_id = b.exchange_account_id
                 AND b.currency IN (t.debit_currency, t.credit_currency)
                 AND t.event_at > k.as_of AND t.event_at <= b.updated_at + v_settle
          ) m ON true
         WHERE b.exchange_account_id IN (SELECT r.exchange_account_id FROM lth_pvr.audit_accounts(p_audit_run_id) r)
    ), opened AS (
        INSERT INTO lth_pvr.ledger_checkpoints (exchange_account_id, currency, opening_balance, as_of, set_at,
                                                audit_run_id)
        SELECT c.exchange_account_id, c.currency, c.total, c.bound, p_now, p_audit_run_id
          FROM checked c
         WHERE c.settled AND NOT c.has_checkpoint
        RETURNING 1
    ), found AS (
        INSERT INTO lth_pvr.audit_findings (audit_run_id, kind, exchange_account_id, currency, transaction_ids,
                                            valr_balance, our_balance, found_at)
        SELECT p_audit_run_id, 'balance_mismatch', c.exchange_account_id, c.currency, c.ids, c.total,
               c.expected, p_now
          FROM checked c
         WHERE c.settled AND c.has_checkpoint AND c.total <> c.expected
        RETURNING 1
    ), moved AS (
        UPDATE lth_pvr.ledger_checkpoints k
           SET opening_balance = c.total, as_of = c.bound, set_at = p_now, audit_run_id = p_audit_run_id
          FROM checked c
         WHERE c.settled AND c.has_checkpoint AND c.total = c.expected AND c.bound > k.as_of
           AND k.exchange_account_id = c.exchange_account_id AND k.currency = c.currency
        RETURNING 1
    )
    SELECT (count(*) FILTER (WHERE c.settled AND c.has_checkpoint))::int,
           (count(*) FILTER (WHERE NOT c.settled))::int,
           (SELECT count(*) FROM opened)::int
      FROM checked c;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_balances(bigint, timestamptz) FROM PUBLIC;
