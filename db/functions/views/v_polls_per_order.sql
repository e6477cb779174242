-- Owns: the metric polls_per_order over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_polls_per_order;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_polls_per_order(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_polls_per_order AS
    SELECT * FROM lth_pvr.metric_polls_per_order(7);

REVOKE ALL ON lth_pvr.v_polls_per_order FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_polls_per_order TO valr_reader;
