-- Operators: the WebSocket sessions still open, the worker that owns each, and that worker's
-- last heartbeat. A session whose worker has stopped or gone quiet is a socket nobody watches.
CREATE OR REPLACE VIEW lth_pvr.v_active_sessions AS
SELECT s.session_id,
       s.exchange_account_id,
       a.subaccount_id,
       a.label,
       s.worker_id,
       w.host AS worker_host,
       w.pid AS worker_pid,
       w.last_seen_at AS worker_last_seen_at,
       w.stopped_at AS worker_stopped_at,
       s.opened_at,
       s.authenticated_at,
       s.events,
       now() - s.opened_at AS open_for,
       a.exchange
  FROM lth_pvr.ws_sessions s
  JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
  LEFT JOIN lth_pvr.workers w USING (worker_id)
 WHERE s.closed_at IS NULL;

COMMENT ON VIEW lth_pvr.v_active_sessions IS
    'Open WebSocket sessions with subaccount, owning worker and its last heartbeat.';

GRANT SELECT ON lth_pvr.v_active_sessions TO valr_reader;
