-- The extension's objects, its two roles and what each role may do.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS ipflow;
SELECT plan(203);

SELECT has_schema('ipflow');
SELECT has_table('ipflow', 'topics', 'table ipflow.topics');
SELECT has_table('ipflow', 'ip_partitions', 'table ipflow.ip_partitions');
SELECT has_table('ipflow', 'sender_cursor', 'table ipflow.sender_cursor');
SELECT has_function('ipflow', 'load_config', ARRAY['jsonb']);
SELECT has_function('ipflow', 'partition_for', ARRAY['inet', 'integer']);
SELECT has_function('ipflow', 'map_ips_to_partitions', ARRAY['inet[]', 'integer']);
SELECT has_function('ipflow', 'preloaded', ARRAY[]::text[]);
SELECT has_function('ipflow', 'kafka_bootstrap', ARRAY[]::text[]);
SELECT has_function('ipflow', 'features', ARRAY[]::text[]);
SELECT has_table('ipflow', 'events', 'table ipflow.events');
SELECT has_table('ipflow', 'ips', 'table ipflow.ips');
SELECT has_table('ipflow', 'rejects', 'table ipflow.rejects');
SELECT has_view('ipflow', 'ip_stats', 'view ipflow.ip_stats');
SELECT has_view('ipflow', 'stats', 'view ipflow.stats');
SELECT columns_are('ipflow', 'stats', ARRAY['kind', 'worker', 'pid', 'state', 'partitions', 'messages',
    'inserted', 'duplicates', 'rejected', 'batches', 'aggregates', 'last_batch_size', 'last_batch_ms',
    'lag', 'lag_by_partition', 'last_error', 'last_error_at', 'started_at', 'mirror', 'mirror_lag', 'mirrored']);
SELECT has_table('ipflow', 'history', 'table ipflow.history');
SELECT has_table('ipflow', 'mirror_progress', 'table ipflow.mirror_progress');
SELECT has_function('ipflow', 'init', ARRAY[]::text[]);
SELECT has_function('ipflow', 'dump', ARRAY['text']);
SELECT has_function('ipflow', 'redis_series', ARRAY['inet', 'text', 'timestamp with time zone', 'timestamp with time zone']);
-- the generator and the sender
SELECT has_table('ipflow', 'real_events', 'table ipflow.real_events');
SELECT has_table('ipflow', 'profiles', 'table ipflow.profiles');
SELECT has_table('ipflow', 'generated_anomalies', 'table ipflow.generated_anomalies');
SELECT has_table('ipflow', 'sender_state', 'table ipflow.sender_state');
SELECT has_view('ipflow', 'sender', 'view ipflow.sender');
SELECT columns_are('ipflow', 'sender', ARRAY['state', 'pid', 'stream', 'topic', 'n_ips', 'start', 'hours',
    'seed', 'options', 'events_per_second', 'seconds_per_hour', 'sent', 'cursor', 'rate', 'last_error',
    'last_error_at', 'started_at', 'updated_at', 'finished_at']);
SELECT has_function('ipflow', 'load_csv', ARRAY['text', 'regclass']);
SELECT has_function('ipflow', 'learn_profiles', ARRAY['text']);
SELECT has_function('ipflow', 'generate_events',
    ARRAY['integer', 'timestamp with time zone', 'integer', 'bigint', 'jsonb']);
SELECT has_function('ipflow', 'send', ARRAY['text', 'text']);
SELECT has_function('ipflow', 'send',
    ARRAY['integer', 'timestamp with time zone', 'integer', 'bigint', 'jsonb', 'text']);
SELECT ok(EXISTS (SELECT FROM pg_proc WHERE oid = 'ipflow.send_json_dir(text, int, bigint, text)'::regprocedure
                                        AND prokind = 'p'), 'procedure ipflow.send_json_dir');
SELECT has_function('ipflow', 'start_sender', ARRAY['integer', 'timestamp with time zone', 'bigint', 'jsonb',
    'integer', 'double precision', 'double precision', 'text']);
SELECT has_function('ipflow', 'start_sender', ARRAY[]::text[]);
SELECT has_function('ipflow', 'stop_sender', ARRAY[]::text[]);
SELECT is(ipflow.features(), ARRAY['unq_dst_ip', 'allow', 'drop', 'frequency', 'pkts_sent', 'pkts_received',
    'bytesin', 'bytesout', 'unq_dst_port'], 'the nine features in array order');
SELECT ok((SELECT count(*) FROM ipflow.stats WHERE kind = 'launcher') = 1, 'ipflow.stats shows the launcher');
SELECT has_role('ipflow_admin');
SELECT has_role('ipflow_reader');
SELECT is_member_of('ipflow_reader', 'ipflow_admin');
SELECT ok(ipflow.preloaded(), 'the harness preloads ipflow');

-- views for dashboards
SELECT has_view('ipflow', 'v_forecast_vs_actual', 'view ipflow.v_forecast_vs_actual');
SELECT columns_are('ipflow', 'v_forecast_vs_actual', ARRAY['ds', 'src_ip', 'feature', 'actual', 'yhat',
    'yhat_lower', 'yhat_upper', 'trained_at']);
SELECT has_view('ipflow', 'v_anomalies', 'view ipflow.v_anomalies');
SELECT columns_are('ipflow', 'v_anomalies', ARRAY['ts', 'src_ip', 'feature', 'value', 'expected', 'lower',
    'upper', 'score', 'source', 'direction', 'detected_at', 'detection_delay_s']);
SELECT has_view('ipflow', 'v_ip_activity', 'view ipflow.v_ip_activity');
SELECT columns_are('ipflow', 'v_ip_activity', ARRAY['bucket', 'src_ip', 'feature', 'events', 'total', 'mean', 'max']);
SELECT has_view('ipflow', 'v_ingest_stats', 'view ipflow.v_ingest_stats');
SELECT columns_are('ipflow', 'v_ingest_stats', ARRAY['minute', 'kafka_partition', 'events', 'events_per_second',
    'ips', 'delay_avg_s', 'delay_max_s', 'backlog']);

-- what the catalog grants
SELECT function_privs_are('ipflow', 'load_config', ARRAY['jsonb'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot import configs');
SELECT function_privs_are('ipflow', 'load_config', ARRAY['jsonb'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can import configs');
SELECT function_privs_are('ipflow', 'map_ips_to_partitions', ARRAY['inet[]', 'integer'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot change the map');
SELECT function_privs_are('ipflow', 'partition_for', ARRAY['inet', 'integer'], 'ipflow_reader',
    ARRAY['EXECUTE'], 'the reader can ask for a partition');
SELECT function_privs_are('ipflow', 'init', ARRAY[]::text[], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot run init');
SELECT function_privs_are('ipflow', 'dump', ARRAY['text'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot dump');
SELECT function_privs_are('ipflow', 'dump', ARRAY['text'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can dump');
SELECT function_privs_are('ipflow', 'redis_series',
    ARRAY['inet', 'text', 'timestamp with time zone', 'timestamp with time zone'], 'ipflow_reader',
    ARRAY['EXECUTE'], 'the reader can read series from Redis');
SELECT table_privs_are('ipflow', 'history', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'topics', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'ip_partitions', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'topics', 'ipflow_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
SELECT table_privs_are('ipflow', 'topics', 'public', ARRAY[]::text[], 'PUBLIC cannot read topics');
SELECT table_privs_are('ipflow', 'events', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'events', 'ipflow_admin', ARRAY['SELECT'], 'only the workers write events');
SELECT table_privs_are('ipflow', 'rejects', 'ipflow_admin', ARRAY['SELECT', 'DELETE'], 'the admin may clear rejects');
SELECT table_privs_are('ipflow', 'events', 'public', ARRAY[]::text[], 'PUBLIC cannot read events');
SELECT function_privs_are('ipflow', 'load_csv', ARRAY['text', 'regclass'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot load files');
SELECT function_privs_are('ipflow', 'load_csv', ARRAY['text', 'regclass'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can load files (with pg_read_server_files)');
SELECT function_privs_are('ipflow', 'learn_profiles', ARRAY['text'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot learn profiles');
SELECT function_privs_are('ipflow', 'learn_profiles', ARRAY['text'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can learn profiles');
SELECT function_privs_are('ipflow', 'generate_events',
    ARRAY['integer', 'timestamp with time zone', 'integer', 'bigint', 'jsonb'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot generate (it records ground truth)');
SELECT function_privs_are('ipflow', 'generate_events',
    ARRAY['integer', 'timestamp with time zone', 'integer', 'bigint', 'jsonb'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can generate');
SELECT function_privs_are('ipflow', 'send', ARRAY['text', 'text'], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot send');
SELECT function_privs_are('ipflow', 'send', ARRAY['text', 'text'], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can send a query');
SELECT function_privs_are('ipflow', 'send',
    ARRAY['integer', 'timestamp with time zone', 'integer', 'bigint', 'jsonb', 'text'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can send generated events');
SELECT function_privs_are('ipflow', 'send_json_dir', ARRAY['text', 'integer', 'bigint', 'text'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot send files');
SELECT function_privs_are('ipflow', 'send_json_dir', ARRAY['text', 'integer', 'bigint', 'text'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can send files (with pg_read_server_files)');
SELECT function_privs_are('ipflow', 'start_sender', ARRAY[]::text[], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot start the sender');
SELECT function_privs_are('ipflow', 'start_sender', ARRAY[]::text[], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can start the sender');
SELECT function_privs_are('ipflow', 'stop_sender', ARRAY[]::text[], 'ipflow_reader', ARRAY[]::text[],
    'the reader cannot stop the sender');
SELECT function_privs_are('ipflow', 'stop_sender', ARRAY[]::text[], 'ipflow_admin', ARRAY['EXECUTE'],
    'the admin can stop the sender');
SELECT table_privs_are('ipflow', 'profiles', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'profiles', 'ipflow_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
SELECT table_privs_are('ipflow', 'generated_anomalies', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'generated_anomalies', 'ipflow_admin',
    ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'], 'the admin may clear the ground truth');
SELECT table_privs_are('ipflow', 'real_events', 'ipflow_admin',
    ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']);
SELECT table_privs_are('ipflow', 'sender', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'profiles', 'public', ARRAY[]::text[], 'PUBLIC cannot read profiles');
SELECT table_privs_are('ipflow', v, 'ipflow_reader', ARRAY['SELECT'], 'the reader may read ' || v)
  FROM unnest(ARRAY['v_forecast_vs_actual', 'v_anomalies', 'v_ip_activity', 'v_ingest_stats']) AS v;

-- boosted trees: the admin trains, imports and exports; the reader predicts
SELECT has_table('ipflow', 'gbt_models', 'table ipflow.gbt_models');
SELECT has_function('ipflow', 'gbt_train', ARRAY['text', 'text', 'text', 'jsonb']);
SELECT has_function('ipflow', 'gbt_predict', ARRAY['text', 'jsonb']);
SELECT has_function('ipflow', 'gbt_predict', ARRAY['text', 'text', 'text[]']);
SELECT has_function('ipflow', 'gbt_export', ARRAY['text', 'text']);
SELECT has_function('ipflow', 'gbt_import', ARRAY['text', 'text']);
SELECT function_privs_are('ipflow', 'gbt_train', ARRAY['text', 'text', 'text', 'jsonb'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot train');
SELECT function_privs_are('ipflow', 'gbt_train', ARRAY['text', 'text', 'text', 'jsonb'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can train');
SELECT function_privs_are('ipflow', 'gbt_predict', ARRAY['text', 'jsonb'], 'ipflow_reader',
    ARRAY['EXECUTE'], 'the reader can predict a row');
SELECT function_privs_are('ipflow', 'gbt_predict', ARRAY['text', 'text', 'text[]'], 'ipflow_reader',
    ARRAY['EXECUTE'], 'the reader can predict a query');
SELECT function_privs_are('ipflow', 'gbt_predict', ARRAY['text', 'jsonb'], 'public',
    ARRAY[]::text[], 'PUBLIC cannot predict');
SELECT function_privs_are('ipflow', 'gbt_export', ARRAY['text', 'text'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot export');
SELECT function_privs_are('ipflow', 'gbt_export', ARRAY['text', 'text'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can call export');
SELECT function_privs_are('ipflow', 'gbt_import', ARRAY['text', 'text'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot import');
SELECT function_privs_are('ipflow', 'gbt_import', ARRAY['text', 'text'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can call import');
SELECT table_privs_are('ipflow', 'gbt_models', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'gbt_models', 'ipflow_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
SELECT table_privs_are('ipflow', 'gbt_models', 'public', ARRAY[]::text[], 'PUBLIC cannot read models');
-- schedules: the admin schedules, the reader sees the jobs; the dump job's
-- role writes history (test/pgtap/schedules.sql tests them in action)
SELECT has_function('ipflow', 'schedule_jobs', ARRAY['text', 'text', 'text', 'text', 'text']);
SELECT has_function('ipflow', 'unschedule_jobs', ARRAY[]::text[]);
SELECT has_view('ipflow', 'jobs', 'view ipflow.jobs');
SELECT function_privs_are('ipflow', 'schedule_jobs', ARRAY['text', 'text', 'text', 'text', 'text'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can schedule');
SELECT function_privs_are('ipflow', 'schedule_jobs', ARRAY['text', 'text', 'text', 'text', 'text'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot schedule');
SELECT function_privs_are('ipflow', 'unschedule_jobs', ARRAY[]::text[], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can unschedule');
SELECT function_privs_are('ipflow', 'unschedule_jobs', ARRAY[]::text[], 'public',
    ARRAY[]::text[], 'PUBLIC cannot unschedule');
SELECT table_privs_are('ipflow', 'jobs', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'jobs', 'public', ARRAY[]::text[], 'PUBLIC cannot read ipflow.jobs');

SELECT function_privs_are('ipflow', 'cron_check', ARRAY[]::text[], 'ipflow_admin',
    ARRAY[]::text[], 'cron_check is internal');
SELECT table_privs_are('ipflow', 'history', 'ipflow_admin', ARRAY['SELECT', 'INSERT', 'UPDATE'],
    'the admin (the dump job''s role) can write history');
-- charts: the reader draws them
SELECT has_function('ipflow', 'plot_svg', ARRAY['inet', 'text', 'timestamp with time zone', 'timestamp with time zone']);
SELECT function_privs_are('ipflow', 'plot_svg', ARRAY['inet', 'text', 'timestamp with time zone',
    'timestamp with time zone'], 'ipflow_reader', ARRAY['EXECUTE'], 'the reader can draw charts');
SELECT function_privs_are('ipflow', 'plot_svg', ARRAY['inet', 'text', 'timestamp with time zone',
    'timestamp with time zone'], 'public', ARRAY[]::text[], 'PUBLIC cannot draw charts');
SELECT lives_ok($$SELECT ipflow.gbt_train('pgtap_model', 'SELECT x::float8 AS a, 2.0 * x AS y FROM generate_series(1, 20) AS x',
    'y', '{"split": {"test_fraction": 0}}')$$, 'a superuser can train');
SELECT current_setting('data_directory') || '/pgtap_model.json' AS model_file \gset

-- forecasting: the admin trains, the reader forecasts on the fly and reads
SELECT has_table('ipflow', 'models', 'table ipflow.models');
SELECT has_table('ipflow', 'forecasts', 'table ipflow.forecasts');
SELECT has_function('ipflow', 'forecast', ARRAY['inet', 'text', 'integer', 'jsonb']);
SELECT has_function('ipflow', 'backtest', ARRAY['inet', 'text', 'integer', 'integer', 'jsonb', 'double precision']);
SELECT has_function('ipflow', 'train', ARRAY['text', 'integer', 'jsonb']);
SELECT function_privs_are('ipflow', 'train', ARRAY['text', 'integer', 'jsonb'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot train forecasts');
SELECT function_privs_are('ipflow', 'train', ARRAY['text', 'integer', 'jsonb'], 'public',
    ARRAY[]::text[], 'PUBLIC cannot train forecasts');
SELECT function_privs_are('ipflow', 'forecast', ARRAY['inet', 'text', 'integer', 'jsonb'], 'ipflow_reader',
    ARRAY['EXECUTE'], 'the reader can forecast');
SELECT function_privs_are('ipflow', 'forecast', ARRAY['inet', 'text', 'integer', 'jsonb'], 'public',
    ARRAY[]::text[], 'PUBLIC cannot forecast');
SELECT table_privs_are('ipflow', 'forecasts', 'ipflow_reader', ARRAY['SELECT']);
SELECT table_privs_are('ipflow', 'forecasts', 'ipflow_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
SELECT table_privs_are('ipflow', 'models', 'public', ARRAY[]::text[], 'PUBLIC cannot read forecast models');
-- a series the roles below forecast and train (this transaction is rolled back)
INSERT INTO ipflow.ips (src_ip, events, first_ts, last_ts, feature_count)
VALUES ('192.0.2.90', 100, '2022-01-03', '2022-01-07', array_fill(100::bigint, ARRAY[9]));
INSERT INTO ipflow.history (src_ip, feature, ds, value)
SELECT '192.0.2.90', 'allow', ts, 10 + x % 5
  FROM generate_series(1, 100) AS x, LATERAL (SELECT '2022-01-03'::timestamptz + x * interval '1 hour' AS ts) t;

-- what each role can actually do
SET ROLE ipflow_reader;
SELECT throws_ok($$SELECT * FROM ipflow.load_config('{}')$$, '42501', NULL,
    'the reader is refused load_config');
SELECT throws_ok($$INSERT INTO ipflow.topics VALUES ('x', 1, 1)$$, '42501', NULL,
    'the reader cannot write topics');
SELECT lives_ok($$SELECT ipflow.partition_for('192.0.2.1', 3)$$, 'the reader can compute partitions');
SELECT lives_ok($$SELECT count(*) FROM ipflow.topics$$, 'the reader can read topics');
SELECT lives_ok($$SELECT count(*) FROM ipflow.stats$$, 'the reader can read ipflow.stats');
SELECT lives_ok($$SELECT count(*) FROM ipflow.ip_stats$$, 'the reader can read ipflow.ip_stats');
SELECT throws_ok($$DELETE FROM ipflow.events$$, '42501', NULL, 'the reader cannot delete events');
SELECT throws_ok($$SELECT current_setting('ipflow.redis_password')$$, '42501', NULL,
    'the reader cannot read the Redis password');
SELECT throws_ok($$SELECT current_setting('ipflow.kafka_sasl_password')$$, '42501', NULL,
    'the reader cannot read the SASL password');
SELECT is((SELECT count(*) FROM pg_settings WHERE name LIKE 'ipflow.%password'), 0::bigint,
    'no password appears in pg_settings');
SELECT throws_ok($$SELECT ipflow.gbt_train('m', 'SELECT 1 AS a, 2 AS y', 'y')$$, '42501', NULL,
    'the reader is refused gbt_train');
SELECT is(round(ipflow.gbt_predict('pgtap_model', '{"a": 10}'::jsonb)::numeric), 20::numeric,
    'the reader can predict a row');
SELECT is((SELECT count(*) FROM ipflow.gbt_predict('pgtap_model', 'SELECT 1.0 AS a UNION ALL SELECT 2.0')), 2::bigint,
    'the reader can predict a query');
SELECT lives_ok($$SELECT name, params, metrics FROM ipflow.gbt_models$$, 'the reader can read the models');
SELECT throws_ok($$DELETE FROM ipflow.gbt_models$$, '42501', NULL, 'the reader cannot delete models');
SELECT throws_ok(format($$SELECT ipflow.gbt_export('pgtap_model', %L)$$, :'model_file'), '42501', NULL,
    'the reader is refused gbt_export');
SELECT throws_ok(format($$SELECT ipflow.gbt_import(%L)$$, :'model_file'), '42501', NULL,
    'the reader is refused gbt_import');
SELECT throws_ok($$SELECT * FROM ipflow.generate_events(1, now(), 1, 1)$$, '42501', NULL,
    'the reader is refused generate_events');
SELECT throws_ok($$SELECT ipflow.stop_sender()$$, '42501', NULL, 'the reader is refused stop_sender');
SELECT lives_ok($$SELECT count(*) FROM ipflow.profiles$$, 'the reader can read profiles');
SELECT lives_ok($$SELECT count(*) FROM ipflow.generated_anomalies$$, 'the reader can read the ground truth');
SELECT lives_ok($$SELECT count(*) FROM ipflow.sender$$, 'the reader can read ipflow.sender');
SELECT is((SELECT count(*) FROM ipflow.forecast('192.0.2.90', 'allow', 4)), 4::bigint,
    'the reader can forecast on the fly');
SELECT throws_ok($$SELECT * FROM ipflow.train('allow')$$, '42501', NULL, 'the reader is refused train');
SELECT throws_ok($$DELETE FROM ipflow.forecasts$$, '42501', NULL, 'the reader cannot delete forecasts');
SELECT lives_ok(format('SELECT count(*) FROM ipflow.%I', v), 'the reader can query ipflow.' || v)
  FROM unnest(ARRAY['v_forecast_vs_actual', 'v_anomalies', 'v_ip_activity', 'v_ingest_stats']) AS v;
SELECT lives_ok($$SELECT ipflow.plot_svg('192.0.2.1', 'allow')$$, 'the reader can draw a chart');
SELECT lives_ok($$SELECT count(*) FROM ipflow.jobs$$, 'the reader can read ipflow.jobs');
RESET ROLE;

SET ROLE ipflow_admin;
SELECT lives_ok($$SELECT * FROM ipflow.load_config(
    '{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":1}],
      "dag_configs":{"last_processed_file":"1.json"},"source_partition_map":{"192.0.2.1":2}}')$$,
    'the admin can import a config');
SELECT is(ipflow.partition_for('192.0.2.1'), 2, 'the admin''s import took effect');
SELECT lives_ok($$SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['192.0.2.9']::inet[])$$,
    'the admin can change the map');
SELECT throws_ok($$SELECT current_setting('ipflow.redis_password')$$, '42501', NULL,
    'the admin cannot read secrets either');
SELECT throws_ok($$SELECT pg_reload_conf()$$, '42501', NULL,
    'the admin cannot reload server settings');
SELECT lives_ok($$SELECT * FROM ipflow.learn_profiles($q$
    SELECT '192.0.2.77'::inet AS src_ip, ts, 2 AS unq_dst_ip, 5 AS allow, 1 AS "drop", 6 AS frequency,
           9 AS pkts_sent, 7 AS pkts_received, 900 AS bytesin, 700 AS bytesout, 1 AS unq_dst_port
      FROM generate_series('2022-01-03 08:00+00'::timestamptz, '2022-01-07 18:00+00', '1 hour') AS ts$q$)$$,
    'the admin can learn a profile');
SELECT lives_ok($$SELECT count(*) FROM ipflow.generate_events(3, '2022-01-03', 48, 5,
    '{"profiles": ["192.0.2.77"], "anomaly_rate": 0.5}')$$, 'the admin can generate');
SELECT lives_ok($$DELETE FROM ipflow.generated_anomalies WHERE seed = 5$$, 'the admin can clear the ground truth');
SELECT lives_ok($$SELECT ipflow.stop_sender()$$, 'the admin can stop the sender');
SET ipflow.train_workers = 0;
SELECT ok((SELECT models >= 1 FROM ipflow.train('allow', 4)), 'the admin can train forecasts');
SELECT is((SELECT count(*) FROM ipflow.forecasts WHERE src_ip = '192.0.2.90'), 4::bigint,
    'the admin''s training stored the forecast');
RESET ipflow.train_workers;
SELECT throws_ok($$SELECT ipflow.load_csv('/nonexistent.csv')$$, '42501', NULL,
    'the admin needs pg_read_server_files to load a file');
SELECT throws_ok($$CALL ipflow.send_json_dir('/nonexistent')$$, '42501', NULL,
    'the admin needs pg_read_server_files to send files');
SELECT lives_ok($$SELECT ipflow.gbt_train('admin_model', 'SELECT x::float8 AS a, 3.0 * x AS y FROM generate_series(1, 20) AS x',
    'y', '{"split": {"test_fraction": 0}}')$$, 'the admin can train');
SELECT throws_ok(format($$SELECT ipflow.gbt_export('admin_model', %L)$$, :'model_file'), '42501',
    'permission denied to write a model file', 'the admin needs pg_write_server_files to export');
SELECT throws_ok(format($$SELECT ipflow.gbt_import(%L)$$, :'model_file'), '42501',
    'permission denied to read a model file', 'the admin needs pg_read_server_files to import');
RESET ROLE;

GRANT pg_write_server_files, pg_read_server_files TO ipflow_admin;
SET ROLE ipflow_admin;
SELECT lives_ok(format($$SELECT ipflow.gbt_export('admin_model', %L)$$, :'model_file'),
    'with pg_write_server_files the admin can export');
SELECT is(ipflow.gbt_import(:'model_file', 'admin_copy'), 'admin_copy',
    'with pg_read_server_files the admin can import');
RESET ROLE;

SELECT is(current_setting('ipflow.redis_password'), '', 'a superuser can read the (empty) secret');

-- anomaly detection: the reader scores and evaluates, the admin detects
SELECT has_function('ipflow', 'anomaly_scores',
    ARRAY['timestamp with time zone[]', 'double precision[]', 'jsonb']);
SELECT has_function('ipflow', 'evaluate_anomalies',
    ARRAY['timestamp with time zone', 'timestamp with time zone', 'text']);
SELECT has_function('ipflow', 'detect', ARRAY['text', 'timestamp with time zone']);
SELECT has_column('ipflow', 'ips', 'detector', 'ipflow.ips keeps the streaming detector''s state');
SELECT function_privs_are('ipflow', 'anomaly_scores',
    ARRAY['timestamp with time zone[]', 'double precision[]', 'jsonb'], 'ipflow_reader', ARRAY['EXECUTE'],
    'the reader can score a series');
SELECT function_privs_are('ipflow', 'anomaly_scores',
    ARRAY['timestamp with time zone[]', 'double precision[]', 'jsonb'], 'public', ARRAY[]::text[],
    'PUBLIC cannot score');
SELECT function_privs_are('ipflow', 'evaluate_anomalies',
    ARRAY['timestamp with time zone', 'timestamp with time zone', 'text'], 'ipflow_reader', ARRAY['EXECUTE'],
    'the reader can evaluate');
SELECT function_privs_are('ipflow', 'evaluate_anomalies',
    ARRAY['timestamp with time zone', 'timestamp with time zone', 'text'], 'public', ARRAY[]::text[],
    'PUBLIC cannot evaluate');
SELECT function_privs_are('ipflow', 'detect', ARRAY['text', 'timestamp with time zone'], 'ipflow_reader',
    ARRAY[]::text[], 'the reader cannot detect (it writes anomalies)');
SELECT function_privs_are('ipflow', 'detect', ARRAY['text', 'timestamp with time zone'], 'ipflow_admin',
    ARRAY['EXECUTE'], 'the admin can detect');
SET ROLE ipflow_reader;
SELECT lives_ok($$SELECT count(*) FROM ipflow.anomaly_scores(ARRAY[now()], ARRAY[1.0::float8])$$,
    'the reader scores a series');
SELECT lives_ok($$SELECT count(*) FROM ipflow.evaluate_anomalies(now() - interval '1 day', now())$$,
    'the reader evaluates');
SELECT throws_ok($$SELECT ipflow.detect()$$, '42501', NULL, 'the reader is refused detect');
RESET ROLE;
SET ROLE ipflow_admin;
SELECT lives_ok($$SELECT ipflow.detect('bytesin', now())$$, 'the admin detects');
SELECT throws_ok($$SELECT ipflow.detect('bytesin; DROP TABLE ipflow.events')$$, '22023',
    'unknown feature "bytesin; DROP TABLE ipflow.events"', 'a feature name is validated, not interpolated');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
