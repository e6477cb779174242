-- Owns: the alerts firing now, for plain psql: SELECT * FROM lth_pvr.v_alerts;
-- (tests pass a simulated clock to lth_pvr.alerts(p_now)).
CREATE OR REPLACE VIEW lth_pvr.v_alerts AS
    SELECT * FROM lth_pvr.alerts(now());

REVOKE ALL ON lth_pvr.v_alerts FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_alerts TO valr_reader;
