-- The lease TTL and VALR's connection budget become settings like every other duration; the worker
-- reads them at start through lth_pvr.worker_settings() (its --lease-ttl flag, when given, wins). The safety net's cron schedule already had its setting, safety_net_tick_minutes
-- (the safety_net_late alert's interval): migrate now schedules a new poll_orders job from it.
INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('lease_ttl_seconds', 30,
     'a subaccount lease expires this long after its owner''s last renewal: a dead worker''s subaccounts are '
     'taken over after this (the worker''s --lease-ttl overrides it)'),
    ('ws_connects_per_minute', 60,
     'VALR''s budget of new account WebSocket connections per minute for the API key, shared by every worker');

UPDATE lth_pvr.settings
   SET description = 'the poll_orders cron interval (1 to 59): migrate schedules a new job every this many '
                     'minutes (an existing job keeps its schedule); safety_net_late fires with no tick within '
                     'twice this'
 WHERE name = 'safety_net_tick_minutes';
