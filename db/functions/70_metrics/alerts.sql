-- Owns: the alerts firing as of p_now (tests and benchmarks pass a simulated clock; v_alerts is this
-- at now()): one row per alert that fires — name, level, measured value, threshold, detail. Each alert
-- is its own function, lth_pvr.alert_<name>(p_now), in this folder, with its rule and thresholds (read
-- from lth_pvr.settings); this unites them, in this order. The spec's comparisons are strict (< 80 %,
-- > 10, older than 1 h, > 200, > 10 %): a value exactly at its threshold does not fire.
-- Add an alert: a new alert_<name>.sql beside the others and one line here, at the end. An alert reads
-- a setting as a scalar sub-select, (SELECT (SELECT lth_pvr.setting(…)) AS v) s: planned as an
-- InitPlan, it is read once per call; a bare setting() pulled up into a row filter is called per row.
-- SECURITY DEFINER: readers run it; the alert_* functions are internal, inlined into this one plan.
CREATE OR REPLACE FUNCTION lth_pvr.alerts(p_now timestamptz DEFAULT now())
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT * FROM lth_pvr.alert_ws_coverage(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_avg_polls_per_order(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_stuck_orders(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_polls_per_day(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ws_failures(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_pending_unplaced(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_placing_unresolved(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_no_live_worker(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_stale_workers(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_overfilled_orders(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_revived_orders(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_illegal_from_failed(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_clock_skew(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_cancel_unconfirmed(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_fallback_not_replaced(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_replacement_failed(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_market_slippage(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_placements_failing(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_auth_refused(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_safety_net_late(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_orders_unwatched(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_intent_over_executed(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_prices_stale(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_pg_cron_stopped(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_safety_net_job_missing(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_worker_task_failed(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_unknown_transaction_type(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_late_transactions(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_sync_failing(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_sync_late(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_mismatch(p_now)
    UNION ALL
    SELECT * FROM lth_pvr.alert_ledger_audit_failed(p_now)
$$;

REVOKE ALL ON FUNCTION lth_pvr.alerts(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.alerts(timestamptz) TO valr_reader;
