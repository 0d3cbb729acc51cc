-- ipflow's pg_cron jobs: refused without pg_cron or a login role, registered,
-- replaced and removed, ipflow.jobs showing their latest runs, and who may
-- do what.  The harness's database is cron.database_name; everything is
-- rolled back.  (A job actually fired: test/integration/schedules.sh.)
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS ipflow;
SELECT plan(42);
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_cron;
ALTER ROLE ipflow_admin NOLOGIN;

SELECT has_function('ipflow', 'schedule_jobs', ARRAY['text', 'text', 'text', 'text', 'text']);
SELECT has_function('ipflow', 'unschedule_jobs', ARRAY[]::text[]);
SELECT has_view('ipflow', 'jobs', 'view ipflow.jobs');
SELECT columns_are('ipflow', 'jobs', ARRAY['jobname', 'jobid', 'schedule', 'command', 'database', 'username',
    'active', 'last_status', 'last_start', 'last_end', 'last_duration', 'last_message', 'last_success',
    'runs', 'failed_runs']);
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'ipflow.schedule_jobs(text, text, text, text, text)'::regprocedure),
    true, 'schedule_jobs runs as its superuser owner (pg_cron demands one to schedule for another role)');
SELECT ok((SELECT proconfig FROM pg_proc WHERE oid = 'ipflow.schedule_jobs(text, text, text, text, text)'::regprocedure)
    @> ARRAY['search_path=pg_catalog, pg_temp'], 'schedule_jobs pins its search_path');
SELECT ok((SELECT proconfig FROM pg_proc WHERE oid = 'ipflow.job_runs()'::regprocedure)
    @> ARRAY['search_path=pg_catalog, pg_temp'], 'job_runs pins its search_path');

-- without pg_cron in the database
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs()$$, '55000',
    'pg_cron is not installed in database "' || current_database() || '"', 'schedule_jobs needs pg_cron installed');
SELECT throws_ok($$SELECT ipflow.unschedule_jobs()$$, '55000',
    'pg_cron is not installed in database "' || current_database() || '"', 'unschedule_jobs needs pg_cron installed');
SELECT is((SELECT count(*) FROM ipflow.jobs), 0::bigint, 'ipflow.jobs is empty without pg_cron');

CREATE EXTENSION pg_cron;
-- the run-as role must be able to log in, in both of pg_cron's modes
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs()$$, '55000',
    'role "ipflow_admin" cannot log in, so pg_cron cannot run jobs as it', 'a NOLOGIN run-as role is refused');
ALTER ROLE ipflow_admin LOGIN;

-- registration
SELECT results_eq($$SELECT jobname, schedule, command, run_as FROM ipflow.schedule_jobs()$$,
    $$VALUES ('ipflow-dump', '*/20 * * * *', 'SELECT ipflow.dump()', 'ipflow_admin'),
             ('ipflow-train', '5 * * * *', 'SELECT * FROM ipflow.train()', 'ipflow_admin'),
             ('ipflow-detect', '15 * * * *', 'SELECT ipflow.detect()', 'ipflow_admin'),
             ('ipflow-gbt', '30 2 * * *',
              'SELECT ipflow.gbt_train(''unq_dst_ip'', ''SELECT * FROM ipflow.events'', ''unq_dst_ip'')', 'ipflow_admin')$$,
    'schedule_jobs() returns the four jobs with their defaults');
SELECT results_eq($$SELECT jobname::text COLLATE "default", schedule, username, database, active FROM cron.job ORDER BY jobid$$,
    $$SELECT j, s, 'ipflow_admin'::text, current_database()::text COLLATE "default", true
        FROM unnest(ARRAY['ipflow-dump', 'ipflow-train', 'ipflow-detect', 'ipflow-gbt'],
                    ARRAY['*/20 * * * *', '5 * * * *', '15 * * * *', '30 2 * * *']) AS u(j, s)$$,
    'pg_cron holds the four jobs, run as ipflow_admin in this database');
SELECT jobid AS dump_id FROM cron.job WHERE jobname = 'ipflow-dump' \gset

-- replacement: same job for the same role, a NULL schedule removes a job
SELECT is((SELECT count(*) FROM ipflow.schedule_jobs(dump => '*/5 * * * *', gbt => NULL)), 3::bigint,
    'scheduling again with gbt => NULL returns three jobs');
SELECT results_eq($$SELECT jobname::text COLLATE "default", schedule FROM cron.job ORDER BY jobid$$,
    $$VALUES ('ipflow-dump', '*/5 * * * *'), ('ipflow-train', '5 * * * *'), ('ipflow-detect', '15 * * * *')$$,
    'the dump job''s schedule changed in place and the gbt job is gone');
SELECT is((SELECT jobid FROM cron.job WHERE jobname = 'ipflow-dump'), :dump_id::bigint,
    'a replaced job keeps its id (and so its run history)');
CREATE ROLE ipflow_test_cron LOGIN IN ROLE ipflow_admin;
SELECT is((SELECT count(*) FROM ipflow.schedule_jobs(train => NULL, username => 'ipflow_test_cron')), 3::bigint,
    'the jobs can run as a login role granted ipflow_admin');
SELECT results_eq($$SELECT jobname::text COLLATE "default", username FROM cron.job ORDER BY jobname$$,
    $$VALUES ('ipflow-detect', 'ipflow_test_cron'), ('ipflow-dump', 'ipflow_test_cron'), ('ipflow-gbt', 'ipflow_test_cron')$$,
    'another run-as role replaces the jobs of the first: one job per name');

-- ipflow.jobs: each job with its latest run (runs written by hand here)
INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message,
                                  start_time, end_time)
SELECT jobid, nextval('cron.runid_seq'), 1, database, username, command, status, message, s, s + d
  FROM cron.job,
       (VALUES ('succeeded', '1 row', '2026-01-01 10:00+00'::timestamptz, interval '2 seconds'),
               ('failed', 'ERROR:  Redis is down', '2026-01-01 10:20+00', interval '150 ms')) AS r(status, message, s, d)
 WHERE jobname = 'ipflow-dump';
SELECT results_eq($$SELECT last_status, last_start, last_duration, last_message, last_success, runs, failed_runs
                     FROM ipflow.jobs WHERE jobname = 'ipflow-dump'$$,
    $$VALUES ('failed'::text, '2026-01-01 10:20+00'::timestamptz, interval '150 ms', 'ERROR:  Redis is down'::text,
              '2026-01-01 10:00+00'::timestamptz, 2::bigint, 1::bigint)$$,
    'ipflow.jobs shows the latest run, the last success and the counts');
SELECT results_eq($$SELECT jobname, runs, last_status FROM ipflow.jobs WHERE jobname <> 'ipflow-dump'$$,
    $$VALUES ('ipflow-detect', 0::bigint, NULL::text), ('ipflow-gbt', 0, NULL)$$,
    'a job that has not run yet has no last run');
SELECT ok(cron.schedule('not-ipflow', '* * * * *', 'SELECT 1') > 0, 'a job that is not ipflow''s');
SELECT is((SELECT count(*) FROM ipflow.jobs WHERE jobname = 'not-ipflow'), 0::bigint,
    'ipflow.jobs shows only ipflow''s jobs');

-- bad arguments
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(dump => 'every minute')$$, '22023',
    'invalid schedule for dump: "every minute"', 'a bad schedule names its job');
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(gbt => '61 * * * *')$$, '22023',
    'invalid schedule for gbt: "61 * * * *"', 'an out-of-range minute is refused');
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => NULL)$$, '22004',
    'username must not be NULL', 'a NULL run-as role is refused');
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => 'no_such_role')$$, '42704',
    'role "no_such_role" does not exist', 'an unknown run-as role is refused');
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => 'postgres')$$, '42501',
    'ipflow''s jobs do not run as a superuser ("postgres")', 'a superuser run-as role is refused');
CREATE ROLE ipflow_test_outsider LOGIN;
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => 'ipflow_test_outsider')$$, '42501',
    'role "ipflow_test_outsider" does not have the privileges of ipflow_admin',
    'a run-as role without ipflow_admin''s privileges is refused');
REVOKE CONNECT ON DATABASE ipflow_test FROM PUBLIC;
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => 'ipflow_test_cron')$$, '42501',
    'role "ipflow_test_cron" may not connect to database "' || current_database() || '"',
    'a run-as role without CONNECT is refused');
GRANT CONNECT ON DATABASE ipflow_test TO PUBLIC;
SELECT results_eq($$SELECT jobname::text COLLATE "default", schedule, username FROM cron.job WHERE jobname LIKE 'ipflow-%' ORDER BY jobname$$,
    $$VALUES ('ipflow-detect', '15 * * * *', 'ipflow_test_cron'), ('ipflow-dump', '*/20 * * * *', 'ipflow_test_cron'),
             ('ipflow-gbt', '30 2 * * *', 'ipflow_test_cron')$$,
    'refused calls changed nothing');

-- who may do what
SET ROLE ipflow_reader;
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs()$$, '42501', NULL, 'the reader is refused schedule_jobs');
SELECT throws_ok($$SELECT ipflow.unschedule_jobs()$$, '42501', NULL, 'the reader is refused unschedule_jobs');
SELECT is((SELECT count(*) FROM ipflow.jobs), 3::bigint,
    'the reader sees ipflow''s jobs, which pg_cron''s row security would hide from it');
RESET ROLE;

-- a login member of ipflow_admin schedules as ipflow_admin, not as itself,
-- and not as a role it could not become
CREATE ROLE ipflow_test_alice LOGIN IN ROLE ipflow_admin;
SET SESSION AUTHORIZATION ipflow_test_alice;
SELECT is((SELECT count(*) FROM ipflow.schedule_jobs(train => NULL, detect => NULL, gbt => NULL)), 1::bigint,
    'a member of ipflow_admin can schedule');
SELECT throws_ok($$SELECT * FROM ipflow.schedule_jobs(username => 'ipflow_test_cron')$$, '42501',
    'permission denied to schedule jobs that run as "ipflow_test_cron"',
    'nobody schedules jobs as a role they could not become');
SELECT throws_ok($$SELECT * FROM cron.job$$, '42501', NULL, 'the member cannot touch pg_cron''s tables itself');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT jobname::text COLLATE "default", username FROM cron.job WHERE jobname LIKE 'ipflow-%'$$,
    $$VALUES ('ipflow-dump', 'ipflow_admin')$$, 'the member''s jobs run as ipflow_admin');

-- removal
SET ROLE ipflow_admin;
SELECT is(ipflow.unschedule_jobs(), 1, 'unschedule_jobs removes the job');
SELECT is(ipflow.unschedule_jobs(), 0, 'and then there is none');
RESET ROLE;
SELECT is((SELECT count(*) FROM cron.job WHERE jobname LIKE 'ipflow-%'), 0::bigint, 'pg_cron has no ipflow job left');
SELECT is((SELECT count(*) FROM cron.job WHERE jobname = 'not-ipflow'), 1::bigint, 'other jobs stay');
SELECT is((SELECT count(*) FROM ipflow.jobs), 0::bigint, 'ipflow.jobs is empty');

SELECT * FROM finish();
ROLLBACK;
