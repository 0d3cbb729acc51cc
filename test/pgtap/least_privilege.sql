-- Least privilege, checked over the whole catalog: what a role can do is a
-- closed list, so a new function or table that is granted by mistake fails
-- here.  privileges.sql checks each right in action.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS ipflow;
SELECT plan(34);

CREATE TEMP VIEW ext_functions AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.prosecdef, p.proconfig
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ipflow';
CREATE TEMP VIEW ext_relations AS
SELECT c.oid, c.oid::regclass::text AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'ipflow'
 WHERE c.relkind IN ('r', 'v', 'p', 'm');
GRANT SELECT ON ext_functions, ext_relations TO PUBLIC;

-- nobody reaches ipflow without one of its roles
SELECT is(has_schema_privilege('public', 'ipflow', 'USAGE'), false, 'PUBLIC has no USAGE on schema ipflow');
CREATE ROLE pgtap_nobody;
SET ROLE pgtap_nobody;
SELECT throws_ok($$SELECT ipflow.partition_for('192.0.2.1', 3)$$, '42501', NULL,
    'a role without grants cannot call ipflow functions');
SELECT throws_ok($$SELECT count(*) FROM ipflow.events$$, '42501', NULL, 'nor read events');
SELECT throws_ok($$SELECT count(*) FROM ipflow.stats$$, '42501', NULL, 'nor read ipflow.stats');
RESET ROLE;

-- the reader: read-only functions, no writes anywhere
SELECT set_eq($$SELECT signature FROM ext_functions WHERE has_function_privilege('ipflow_reader', oid, 'EXECUTE')$$,
    ARRAY['ipflow.anomaly_scores(timestamp with time zone[],double precision[],jsonb)',
          'ipflow.backtest(inet,text,integer,integer,jsonb,double precision)',
          'ipflow.evaluate_anomalies(timestamp with time zone,timestamp with time zone,text)',
          'ipflow.features()',
          'ipflow.forecast(inet,text,integer,jsonb)',
          'ipflow.gbt_predict(text,jsonb)',
          'ipflow.gbt_predict(text,text,text[])',
          'ipflow.job_names()',
          'ipflow.job_runs()',
          'ipflow.kafka_bootstrap()',
          'ipflow.partition_for(inet,integer)',
          'ipflow.plot_svg(inet,text,timestamp with time zone,timestamp with time zone)',
          'ipflow.preloaded()',
          'ipflow.redis_series(inet,text,timestamp with time zone,timestamp with time zone)',
          'ipflow.sender_status()',
          'ipflow.worker_stats()'],
    'the reader executes exactly the functions that read');
SELECT is_empty($$SELECT name FROM ext_relations
                   WHERE has_table_privilege('ipflow_reader', oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'the reader can change no table');

-- the admin: the jobs and the imports on top of the reader's functions
SELECT set_eq($$SELECT signature FROM ext_functions
                 WHERE has_function_privilege('ipflow_admin', oid, 'EXECUTE')
                   AND NOT has_function_privilege('ipflow_reader', oid, 'EXECUTE')$$,
    ARRAY['ipflow.detect(text,timestamp with time zone)',
          'ipflow.dump(text)',
          'ipflow.gbt_export(text,text)',
          'ipflow.gbt_import(text,text)',
          'ipflow.gbt_train(text,text,text,jsonb)',
          'ipflow.generate_events(integer,timestamp with time zone,integer,bigint,jsonb)',
          'ipflow.init()',
          'ipflow.learn_profiles(text)',
          'ipflow.load_config(jsonb)',
          'ipflow.load_csv(text,regclass)',
          'ipflow.map_ips_to_partitions(inet[],integer)',
          'ipflow.schedule_jobs(text,text,text,text,text)',
          'ipflow.send(integer,timestamp with time zone,integer,bigint,jsonb,text)',
          'ipflow.send(text,text)',
          'ipflow.send_json_dir(text,integer,bigint,text)',
          'ipflow.start_sender()',
          'ipflow.start_sender(integer,timestamp with time zone,bigint,jsonb,integer,double precision,double precision,text)',
          'ipflow.stop_sender()',
          'ipflow.train(text,integer,jsonb)',
          'ipflow.unschedule_jobs()'],
    'the admin executes exactly the reader''s functions and the jobs');
SELECT is_empty($$SELECT name FROM ext_relations
                   WHERE name IN ('ipflow.events', 'ipflow.ips', 'ipflow.mirror_progress')
                     AND has_table_privilege('ipflow_admin', oid, 'INSERT, UPDATE, DELETE, TRUNCATE')$$,
    'only the ingest workers write events, ips and the mirror''s progress');
SELECT is_empty($$SELECT name FROM ext_relations
                   WHERE has_table_privilege('ipflow_admin', oid, 'REFERENCES, TRIGGER')$$,
    'the admin cannot attach triggers or foreign keys to ipflow''s tables');

-- SECURITY DEFINER functions: search_path pinned, callable only as meant
SELECT is_empty($$SELECT signature FROM ext_functions
                   WHERE prosecdef AND NOT coalesce(proconfig::text[] && ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
    'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');
SELECT set_eq($$SELECT signature FROM ext_functions WHERE prosecdef$$,
    ARRAY['ipflow.job_runs()', 'ipflow.schedule_jobs(text,text,text,text,text)', 'ipflow.unschedule_jobs()'],
    'the SECURITY DEFINER functions are the three of the schedules');
SELECT is_empty($$SELECT signature FROM ext_functions
                   WHERE prosecdef AND signature <> 'ipflow.job_runs()'
                     AND has_function_privilege('ipflow_reader', oid, 'EXECUTE')$$,
    'the reader cannot schedule or unschedule');

-- the roles hold no power beyond their grants
SELECT is_empty($$SELECT rolname FROM pg_roles WHERE rolname IN ('ipflow_reader', 'ipflow_admin')
                   AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)$$,
    'neither role is superuser, creates roles or databases, bypasses RLS or replicates');
SELECT is(pg_has_role(r, m, 'MEMBER'), false, r || ' is not a member of ' || m)
  FROM unnest(ARRAY['ipflow_reader', 'ipflow_admin']) AS r
 CROSS JOIN unnest(ARRAY['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
                         'pg_read_all_settings']) AS m;
SELECT is(pg_has_role('ipflow_admin', 'ipflow_reader', 'MEMBER'), true, 'the admin is a reader');

-- secrets: superuser-only, not even for the admin
SET ROLE ipflow_admin;
SELECT throws_ok($$SHOW ipflow.kafka_sasl_password$$, '42501', NULL, 'the admin cannot SHOW the SASL password');
SELECT throws_ok($$SELECT count(*) FROM pg_file_settings$$, '42501', NULL,
    'nor read the settings files through pg_file_settings');
SELECT throws_ok($$SELECT pg_read_file('postgresql.auto.conf')$$, '42501', NULL,
    'nor read postgresql.auto.conf');
RESET ROLE;

-- names given as arguments are checked against closed lists, never run
SET ROLE ipflow_admin;
SELECT throws_ok($$SELECT * FROM ipflow.forecast('192.0.2.1', 'bytesin; DROP TABLE ipflow.events --', 4)$$,
    '22023', 'unknown feature "bytesin; DROP TABLE ipflow.events --"', 'forecast refuses a hostile feature name');
SELECT throws_ok($$SELECT * FROM ipflow.train('allow"; DROP TABLE ipflow.events; --')$$,
    '22023', NULL, 'train refuses it');
SELECT throws_ok($$SELECT ipflow.dump('bytesin) ; DROP TABLE ipflow.events; --')$$, '22023', NULL,
    'dump refuses it');
SELECT throws_ok($$SELECT ipflow.detect('bytesin'' --')$$, '22023', NULL, 'detect refuses it');
SELECT throws_ok($$SELECT ipflow.gbt_predict('m''; DROP TABLE ipflow.events; --', '{}'::jsonb)$$, '42704', NULL,
    'gbt_predict looks a hostile model name up and does not find it');
SELECT throws_ok($$SELECT ipflow.gbt_train('m', 'SELECT 1 AS a, 2 AS y', 'y"; DROP TABLE ipflow.events; --')$$,
    '42703', NULL, 'gbt_train refuses a label that is not a column of the query');
SELECT throws_ok($$SELECT * FROM ipflow.load_config('{"topic_configs": [{"name": "Log; DROP", "num_partitions": 1,
    "replication_factor": 1}]}')$$, '22023', NULL, 'load_config refuses a topic name Kafka would refuse');
SELECT throws_ok($$SELECT * FROM ipflow.learn_profiles('ipflow.real_events; DROP TABLE ipflow.events')$$, '42602', NULL,
    'learn_profiles refuses a source that is not a table name or a query');
RESET ROLE;
SELECT has_table('ipflow', 'events', 'ipflow.events is still there');

SELECT * FROM finish();
ROLLBACK;
