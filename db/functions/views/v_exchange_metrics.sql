-- Owns: the metrics per exchange over the last 7 days, for plain psql: SELECT * FROM lth_pvr.v_exchange_metrics;
-- (operators pick another window with SELECT * FROM lth_pvr.metric_exchanges(<days>)).
CREATE OR REPLACE VIEW lth_pvr.v_exchange_metrics AS
    SELECT * FROM lth_pvr.metric_exchanges(7);

REVOKE ALL ON lth_pvr.v_exchange_metrics FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_exchange_metrics TO valr_reader;
