-- Owns: the audit's trade check of one run: every order of the run's account(s) that VALR's history
-- (a trade transaction stamped that UTC day) or our fills (traded that day) touched, compared whole
-- (all its trades, any day) through audit_order_totals; a finding per order that does not match
-- (audit_order_finding), naming VALR's transactions and both sides' count, quantity and fee. An
-- orderId that is none of our orders is a `missing_fill` without exchange_order_id. Returns the
-- orders compared.
CREATE OR REPLACE FUNCTION lth_pvr.audit_trades(p_audit_run_id bigint, p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_run  lth_pvr.audit_runs;
    v_from timestamptz;
    v_to   timestamptz;
    v_n    int;
BEGIN
    SELECT * INTO STRICT v_run FROM lth_pvr.audit_runs r WHERE r.audit_run_id = p_audit_run_id;
    v_from := v_run.day::timestamp AT TIME ZONE 'UTC';
    v_to := (v_run.day + 1)::timestamp AT TIME ZONE 'UTC';
    WITH accounts AS (  -- the accounts VALR's reads of this run reach: no other exchange's orders
        SELECT r.exchange_account_id FROM lth_pvr.audit_accounts(p_audit_run_id) r
    ), touched AS (
        SELECT t.exchange_account_id, t.additional_info->>'orderId' AS ext_order_id
          FROM lth_pvr.account_transactions t
          JOIN lth_pvr.transaction_types y ON y.transaction_type = t.transaction_type AND y.category = 'trade'
         WHERE t.exchange_account_id IN (SELECT exchange_account_id FROM accounts)
           AND t.event_at >= v_from AND t.event_at < v_to
           AND t.additional_info->>'orderId' IS NOT NULL
        UNION
        SELECT o.exchange_account_id, o.ext_order_id
          FROM lth_pvr.order_fills f
          JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = f.exchange_order_id
         WHERE o.exchange_account_id IN (SELECT exchange_account_id FROM accounts)
           AND f.traded_at >= v_from AND f.traded_at < v_to
           AND o.ext_order_id IS NOT NULL
    ), compared AS (
        SELECT p.exchange_account_id, c.*,
               lth_pvr.audit_order_finding(c.valr_trades, c.valr_qty, c.valr_fee,
                                           c.our_fills, c.our_qty, c.our_fee) AS kind
          FROM (SELECT exchange_account_id, array_agg(ext_order_id) AS ids FROM touched GROUP BY 1) p
         CROSS JOIN LATERAL lth_pvr.audit_order_totals(p.exchange_account_id, p.ids) c
    ), found AS (
        INSERT INTO lth_pvr.audit_findings (audit_run_id, kind, exchange_account_id, exchange_order_id,
                                            ext_order_id, transaction_ids, valr_trades, our_fills, valr_qty,
                                            our_qty, valr_fee, our_fee, found_at)
        SELECT p_audit_run_id, c.kind, c.exchange_account_id, c.exchange_order_id, c.ext_order_id,
               c.transaction_ids, c.valr_trades, c.our_fills, c.valr_qty, c.our_qty, c.valr_fee, c.our_fee, p_now
          FROM compared c
         WHERE c.kind IS NOT NULL
        RETURNING 1
    )
    SELECT count(*) INTO v_n FROM compared;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_trades(bigint, timestamptz) FROM PUBLIC;
