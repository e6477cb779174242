-- Operators: the open orders (pending, placing, submitted), with their subaccount and age.
-- Age counts from submission once the order reached VALR (errata 8: the spec's "older than"
-- needs an age column), from creation before that. `valr-monitor status` groups this by
-- subaccount and age; `valr_reader` may read it, the table stays private.
CREATE OR REPLACE VIEW lth_pvr.v_open_orders AS
SELECT o.exchange_order_id,
       o.exchange_account_id,
       a.subaccount_id,
       a.label,
       o.pair,
       o.side,
       o.price,
       o.qty,
       o.filled_qty,
       o.status,
       o.created_at,
       o.submitted_at,
       now() - coalesce(o.submitted_at, o.created_at) AS age,
       o.ws_monitored_at,
       o.last_polled_at,
       o.poll_count,
       o.requires_polling,
       o.poll_due_at,
       o.cancel_requested_at,
       o.ext_order_id,
       o.intent_id,
       o.exchange
  FROM lth_pvr.exchange_orders o
  JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
 WHERE lth_pvr.is_open(o.status);

COMMENT ON VIEW lth_pvr.v_open_orders IS
    'Open orders (pending, placing, submitted) with subaccount, label and age (from submitted_at, else created_at).';

GRANT SELECT ON lth_pvr.v_open_orders TO valr_reader;
