-- Owns: the metric completion_time over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_completion_time;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_completion_time(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_completion_time AS
    SELECT * FROM lth_pvr.metric_completion_time(7);

REVOKE ALL ON lth_pvr.v_completion_time FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_completion_time TO valr_reader;
