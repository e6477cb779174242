-- The timing rules that were inline literals in the functions, as settings (read through setting(),
-- which refuses a missing name: nothing defaults silently). Values unchanged.
INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('order_created_skew_seconds', 2,
     'match_order: a customerOrderId match is refused when VALR created that order more than this before our claim (clock skew allowance)'),
    ('reconcile_fallback_seconds', 30,
     'claim_due_polls hands out an order owed a reconciliation only after this long (the socket reconciles first)'),
    ('poll_claim_seconds', 120,
     'a claimed REST look-up (claim_due_polls, reconcile_open_orders, session_authenticated) is handed out again after this long without a recorded poll'),
    ('fills_check_seconds', 120,
     'claim_missing_fills hands out the same finished order at most this often');
