-- lth_pvr_recorded becomes opt-in, and each session counts its recorded reads.
-- Every recording call used to send lth_pvr_recorded, a channel no part of the system listens to (the
-- bench and tests did, as their instrument). PostgreSQL serializes the commits of transactions that
-- sent a NOTIFY under one lock held through the commit's WAL flush, so under a burst every recording
-- commit waited behind the others' fsyncs (docs/performance.md, figure 2 and figure 8). Off by default;
-- whoever listens turns it on (UPDATE lth_pvr.settings SET value = 1 WHERE name = 'notify_recorded').
INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('notify_recorded', 0,
     '1: each recording call (record_batch, record_exchange_events) sends NOTIFY lth_pvr_recorded at its '
     'commit; 0 (shipped): none, so recording commits do not queue behind PostgreSQL''s NOTIFY lock')
ON CONFLICT (name) DO NOTHING;

-- reads: the recording calls of a session (one a WebSocket read, or two when a read's order frames come
-- before its ledger frames); events / reads is the mean read's size. Counted by the same UPDATE that
-- counts events.
ALTER TABLE lth_pvr.ws_sessions ADD COLUMN IF NOT EXISTS reads bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN lth_pvr.ws_sessions.reads IS
    'recording calls made for this session (record_batch / record_exchange_events); events / reads = frames per read.';
