-- Least privilege.
--   valr_worker: EXECUTE on the worker-facing functions only (granted in each function's file);
--                no table privileges: every write goes through a SECURITY DEFINER function.
--   valr_reader: SELECT on the views only (granted in each view's file).
-- Roles are cluster-wide and NOLOGIN: grant them to login roles (see README).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'valr_worker') THEN
        CREATE ROLE valr_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'valr_reader') THEN
        CREATE ROLE valr_reader NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA lth_pvr FROM PUBLIC;
GRANT USAGE ON SCHEMA lth_pvr TO valr_worker, valr_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA lth_pvr FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lth_pvr FROM PUBLIC;

-- PostgreSQL grants EXECUTE to PUBLIC on every new function by default: not in this schema.
ALTER DEFAULT PRIVILEGES IN SCHEMA lth_pvr REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
