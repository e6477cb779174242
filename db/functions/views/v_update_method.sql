-- Owns: the metric update_method over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_update_method;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_update_method(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_update_method AS
    SELECT * FROM lth_pvr.metric_update_method(7);

REVOKE ALL ON lth_pvr.v_update_method FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_update_method TO valr_reader;
