-- Owns: the metric final_status_source over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_final_status_source;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_final_status_source(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_final_status_source AS
    SELECT * FROM lth_pvr.metric_final_status_source(7);

REVOKE ALL ON lth_pvr.v_final_status_source FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_final_status_source TO valr_reader;
