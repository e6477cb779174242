-- Many open orders in one subaccount (issue 14 item 4). VALR sends the full open-orders list after
-- every change; the worker now drops a list that a newer one of the same read supersedes
-- (worker/valr/framequeue.py) and tells record_batch how many it dropped: they count as received
-- (events) and are kept apart (superseded), never recorded.
ALTER TABLE lth_pvr.ws_sessions ADD COLUMN superseded bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN lth_pvr.ws_sessions.superseded IS
    'OPEN_ORDERS_UPDATE frames received but not recorded: a newer list of the same read superseded them (counted in events too).';

-- record_batch gains p_superseded; open_list_is_unchanged takes the items' positions.
DROP FUNCTION IF EXISTS lth_pvr.record_batch(bigint, jsonb, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.open_list_is_unchanged(jsonb, lth_pvr.exchange_orders[], text[]);
