-- Operators: submitted orders nobody has heard about for longer than the `stuck_order_minutes`
-- setting (the spec's "requires_polling=true older than 1 hour"), the same rule as the
-- stuck_orders alert of lth_pvr.alerts(): silence counts from the exchange's last word on the order
-- (WebSocket event or REST answer), else from submission (errata 8: an age needs a column). A
-- resting limit order is not stuck: the safety net re-confirms it every ten minutes; one that stays
-- silent means neither the socket nor the polls reach it. Pending and placing orders have their own
-- (shorter) alerts. The threshold is read from the settings table, not lth_pvr.setting(): functions
-- in a view are checked against the reader, and valr_reader may not execute that one.
CREATE OR REPLACE VIEW lth_pvr.v_stuck_orders AS
SELECT o.exchange_order_id,
       o.exchange_account_id,
       a.subaccount_id,
       a.label,
       o.pair,
       o.side,
       o.status,
       -- Kept from the first version of this view (CREATE OR REPLACE cannot drop a column).
       'not confirmed by the exchange'::text AS reason,
       o.created_at,
       o.submitted_at,
       o.exchange_confirmed_at,
       now() - coalesce(o.exchange_confirmed_at, o.submitted_at) AS silent_for,
       o.ws_monitored_at,
       o.last_polled_at,
       o.poll_count,
       o.poll_failures,
       o.exchange
  FROM lth_pvr.exchange_orders o
  JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
 CROSS JOIN (SELECT make_interval(mins => s.value::int) AS threshold
               FROM lth_pvr.settings s
              WHERE s.name = 'stuck_order_minutes') t
 WHERE lth_pvr.order_is_stuck(o.status, o.requires_polling, o.exchange_confirmed_at, o.submitted_at, t.threshold, now());

COMMENT ON VIEW lth_pvr.v_stuck_orders IS
    'Submitted orders not confirmed by the exchange for longer than settings.stuck_order_minutes.';

GRANT SELECT ON lth_pvr.v_stuck_orders TO valr_reader;
