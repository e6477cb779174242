-- Owns: why the safety net might not tick, said at once rather than after two missed ticks:
--   launcher  'running' | 'stopped' | 'unknown' — pg_cron's launcher in pg_stat_activity (backend_type
--             'pg_cron launcher', whatever database it serves); 'unknown' when this function's owner
--             cannot see other roles' backends (neither superuser nor pg_read_all_stats)
--   job       'scheduled' | 'missing' | 'inactive' | 'failing' | 'unknown' — this database's safety-net
--             job (command lth_pvr.safety_net_tick) in cron.job, when pg_cron lives in this database;
--             'failing' when its last run in cron.job_run_details failed; 'unknown' when pg_cron lives
--             in another database (cron.database_name), whose cron.job cannot be read from here
--   detail    the case in words, naming cron.database_name
-- Read by alerts (pg_cron_stopped, safety_net_job_missing, safety_net_late's detail).
CREATE OR REPLACE FUNCTION lth_pvr.pg_cron_state()
RETURNS TABLE (launcher text, job text, detail text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_cron_db text := current_setting('cron.database_name', true);
    v_sees    boolean := (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user)
                         OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER');
    v_loaded  boolean;
    v_active  boolean;
    v_status  text;
    v_message text;
BEGIN
    BEGIN
        v_loaded := current_setting('shared_preload_libraries') ~ '(^|[\s,''"])pg_cron($|[\s,''"])';
    EXCEPTION WHEN insufficient_privilege THEN
        v_loaded := v_cron_db IS NOT NULL;  -- the setting exists only once pg_cron is loaded
    END;
    launcher := CASE WHEN NOT v_sees THEN 'unknown'
                     WHEN EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_type = 'pg_cron launcher')
                     THEN 'running' ELSE 'stopped' END;
    IF launcher = 'stopped' THEN
        detail := CASE WHEN NOT v_loaded OR v_cron_db IS NULL
                       THEN 'pg_cron is not loaded: shared_preload_libraries lacks pg_cron'
                       ELSE format('pg_cron is loaded but its launcher is not running (cron.database_name = %s): '
                                   'the extension is not created there, or no background worker was free', v_cron_db)
                  END;
    END IF;

    IF to_regclass('cron.job') IS NULL THEN
        job := CASE WHEN v_cron_db = current_database() THEN 'missing' ELSE 'unknown' END;
        IF job = 'missing' THEN
            detail := coalesce(detail || '; ', '') || 'the pg_cron extension is not created in this database';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    EXECUTE $q$SELECT bool_or(j.active) FROM cron.job j
                WHERE j.command ILIKE '%lth_pvr.safety_net_tick%' AND j.database = current_database()$q$
       INTO v_active;
    job := CASE WHEN v_active IS NULL THEN 'missing'
                WHEN NOT v_active THEN 'inactive'
                ELSE 'scheduled' END;
    IF job = 'scheduled' THEN
        EXECUTE $q$SELECT d.status, d.return_message FROM cron.job_run_details d
                     JOIN cron.job j USING (jobid)
                    WHERE j.command ILIKE '%lth_pvr.safety_net_tick%' AND j.database = current_database()
                    ORDER BY d.start_time DESC NULLS LAST LIMIT 1$q$ INTO v_status, v_message;
        IF v_status = 'failed' THEN
            job := 'failing';
            detail := coalesce(detail || '; ', '') || format('its last run failed: %s', left(v_message, 200));
        END IF;
    ELSE
        detail := coalesce(detail || '; ', '') || CASE job WHEN 'missing' THEN 'no safety-net job in cron.job'
                                                          ELSE 'the safety-net job is inactive in cron.job' END;
    END IF;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.pg_cron_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.pg_cron_state() TO valr_reader;
