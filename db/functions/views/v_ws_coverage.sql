-- Owns: the metric ws_coverage over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_ws_coverage;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_ws_coverage(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_ws_coverage AS
    SELECT * FROM lth_pvr.metric_ws_coverage(7);

REVOKE ALL ON lth_pvr.v_ws_coverage FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_ws_coverage TO valr_reader;
