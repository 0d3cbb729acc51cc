-- pg_regress's database is not cron.database_name: ipflow's schedule
-- functions refuse and say what to do, and ipflow.jobs is empty.  (The
-- database names differ between setups, so they are replaced.)
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
    hint text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN replace(replace(format(E'%s: %s\nDETAIL: %s\nHINT: %s', state, message, detail, hint),
                           current_database(), '<database>'),
                   current_setting('cron.database_name'), '<cron database>');
END
$$;
SELECT current_setting('cron.database_name') <> current_database() AS not_the_cron_database;
SELECT pg_temp.error_of('SELECT * FROM ipflow.schedule_jobs()');
SELECT pg_temp.error_of('SELECT ipflow.unschedule_jobs()');
SELECT count(*) FROM ipflow.jobs;
SELECT ipflow.job_names();
