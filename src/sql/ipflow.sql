-- ipflow install script.  Edit this file; the Makefile builds
-- ipflow--$(EXTVERSION).sql from it.  Released versions never change: each
-- later release adds an upgrade script ipflow--OLD--NEW.sql beside it.

\echo Use "CREATE EXTENSION ipflow" to load this file. \quit

-- Roles are cluster-wide, so they may exist from an earlier install.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ipflow_reader') THEN
        CREATE ROLE ipflow_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ipflow_admin') THEN
        CREATE ROLE ipflow_admin NOLOGIN;
    END IF;
    IF NOT pg_has_role('ipflow_admin', 'ipflow_reader', 'MEMBER') THEN
        GRANT ipflow_reader TO ipflow_admin;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA @extschema@ TO ipflow_reader;

-- Kafka topics ipflow knows about (imported from config.json's topic_configs).
CREATE TABLE @extschema@.topics (
    name text PRIMARY KEY
        CHECK (name ~ '^[A-Za-z0-9._-]{1,249}$' AND name NOT IN ('.', '..')),
    num_partitions int NOT NULL CHECK (num_partitions >= 1),
    replication_factor int NOT NULL CHECK (replication_factor >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.topics IS 'Kafka topics ipflow uses, with partition count and replication factor';

-- Explicit IP -> partition map (config.json's source_partition_map); IPs not
-- listed go where Kafka's default partitioner puts them.
CREATE TABLE @extschema@.ip_partitions (
    src_ip inet PRIMARY KEY CHECK (masklen(src_ip) = CASE family(src_ip) WHEN 4 THEN 32 ELSE 128 END),
    partition int NOT NULL CHECK (partition >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ip_partitions IS 'Explicit partition of the log and aggregate topics for a source IP';

-- Where the sender left off (config.json's dag_configs.last_processed_file).
CREATE TABLE @extschema@.sender_cursor (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_processed_file text NOT NULL CHECK (last_processed_file ~ '^[0-9]{1,9}\.json$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.sender_cursor IS 'Resumable position of the sender';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.topics', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ip_partitions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sender_cursor', '');

GRANT SELECT ON @extschema@.topics, @extschema@.ip_partitions, @extschema@.sender_cursor
    TO ipflow_reader;
GRANT INSERT, UPDATE, DELETE ON @extschema@.topics, @extschema@.ip_partitions, @extschema@.sender_cursor
    TO ipflow_admin;

-- Events as ingested: one row per source IP and hour (or whatever the
-- timestamp is); a message seen again (replay, resend) is not inserted twice.
CREATE TABLE @extschema@.events (
    src_ip inet NOT NULL,
    ts timestamptz NOT NULL,
    unq_dst_ip bigint CHECK (unq_dst_ip >= 0),
    allow bigint CHECK (allow >= 0),
    "drop" bigint CHECK ("drop" >= 0),
    frequency bigint CHECK (frequency >= 0),
    pkts_sent bigint CHECK (pkts_sent >= 0),
    pkts_received bigint CHECK (pkts_received >= 0),
    bytesin bigint CHECK (bytesin >= 0),
    bytesout bigint CHECK (bytesout >= 0),
    unq_dst_port bigint CHECK (unq_dst_port >= 0),
    kafka_partition int,
    kafka_offset bigint,
    ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (src_ip, ts)
);
COMMENT ON TABLE @extschema@.events IS 'Network events consumed from the log topic, exactly once per (src_ip, ts)';

-- The nine features, in the order of every per-feature array.
CREATE FUNCTION @extschema@.features()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['unq_dst_ip', 'allow', 'drop', 'frequency', 'pkts_sent', 'pkts_received',
                   'bytesin', 'bytesout', 'unq_dst_port'] $$;
COMMENT ON FUNCTION @extschema@.features() IS 'The nine event features, in the order of per-feature arrays';

-- Every source IP seen, with its event count and, per feature (arrays in
-- the order of ipflow.features()), the running count, mean, sum of squared
-- deviations, min, max and first/last time over every event stored.
CREATE TABLE @extschema@.ips (
    src_ip inet PRIMARY KEY,
    events bigint NOT NULL DEFAULT 0,
    first_ts timestamptz NOT NULL,
    last_ts timestamptz NOT NULL,
    feature_count bigint[] NOT NULL DEFAULT array_fill(0::bigint, ARRAY[9]),
    feature_mean float8[] NOT NULL DEFAULT array_fill(0::float8, ARRAY[9]),
    feature_m2 float8[] NOT NULL DEFAULT array_fill(0::float8, ARRAY[9]),
    feature_min bigint[] NOT NULL DEFAULT array_fill(NULL::bigint, ARRAY[9]),
    feature_max bigint[] NOT NULL DEFAULT array_fill(NULL::bigint, ARRAY[9]),
    feature_first_ts timestamptz[] NOT NULL DEFAULT array_fill(NULL::timestamptz, ARRAY[9]),
    feature_last_ts timestamptz[] NOT NULL DEFAULT array_fill(NULL::timestamptz, ARRAY[9]),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ips IS 'Source IPs seen by ingestion: event counts and running per-feature aggregates';

-- The running aggregates as one row per IP and feature.
CREATE VIEW @extschema@.ip_stats AS
SELECT i.src_ip, f.feature,
       i.feature_count[f.n] AS count,
       i.feature_mean[f.n] AS mean,
       CASE WHEN i.feature_count[f.n] > 1 THEN i.feature_m2[f.n] / (i.feature_count[f.n] - 1) END AS variance,
       i.feature_min[f.n] AS min,
       i.feature_max[f.n] AS max,
       i.feature_first_ts[f.n] AS first_ts,
       i.feature_last_ts[f.n] AS last_ts,
       i.feature_m2[f.n] AS m2,
       i.updated_at
  FROM @extschema@.ips AS i
 CROSS JOIN LATERAL unnest(@extschema@.features()) WITH ORDINALITY AS f(feature, n)
 WHERE i.feature_count[f.n] > 0;
COMMENT ON VIEW @extschema@.ip_stats IS 'Running count, mean, variance, min, max per source IP and feature';

-- Messages that are not valid events, with where they came from and why.
CREATE TABLE @extschema@.rejects (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset bigint NOT NULL,
    payload bytea,
    reason text NOT NULL,
    UNIQUE (topic, kafka_partition, kafka_offset)
);
COMMENT ON TABLE @extschema@.rejects IS 'Messages that could not be ingested, with the reason';

GRANT SELECT ON @extschema@.events, @extschema@.ips, @extschema@.ip_stats, @extschema@.rejects
    TO ipflow_reader;
GRANT DELETE ON @extschema@.rejects TO ipflow_admin;

CREATE FUNCTION @extschema@.kafka_bootstrap()
RETURNS text
AS 'MODULE_PATHNAME', 'ipflow_kafka_bootstrap'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.kafka_bootstrap() IS 'Bootstrap servers in use: ipflow.kafka_brokers, or the embedded broker''s address';

CREATE FUNCTION @extschema@.worker_stats(
    OUT kind text, OUT worker int, OUT pid int, OUT state text, OUT partitions text,
    OUT messages bigint, OUT inserted bigint, OUT duplicates bigint, OUT rejected bigint,
    OUT batches bigint, OUT aggregates bigint, OUT last_batch_size bigint, OUT last_batch_ms float8,
    OUT lag bigint, OUT lag_by_partition jsonb, OUT last_error text, OUT last_error_at timestamptz,
    OUT started_at timestamptz, OUT mirror text, OUT mirror_lag bigint, OUT mirrored bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ipflow_worker_stats'
LANGUAGE C VOLATILE;

CREATE VIEW @extschema@.stats AS SELECT * FROM @extschema@.worker_stats();
COMMENT ON VIEW @extschema@.stats IS 'What each ipflow background worker is doing: state, partitions, counters, lag, last error';
GRANT SELECT ON @extschema@.stats TO ipflow_reader;

CREATE FUNCTION @extschema@.preloaded()
RETURNS boolean
AS 'MODULE_PATHNAME', 'ipflow_preloaded'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.preloaded() IS 'Whether ipflow is in shared_preload_libraries, so its background workers can run';

CREATE FUNCTION @extschema@.load_config(config jsonb)
RETURNS TABLE (kind text, name text, value jsonb)
AS 'MODULE_PATHNAME', 'ipflow_load_config'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.load_config(jsonb) IS 'Imports the original config.json: topics, sender cursor, IP partition map';

CREATE FUNCTION @extschema@.partition_for(src_ip inet, num_partitions int DEFAULT NULL)
RETURNS int
AS 'MODULE_PATHNAME', 'ipflow_partition_for'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.partition_for(inet, int) IS 'Partition of a source IP: the explicit map, else Kafka''s murmur2 default partitioner';

-- Assigns the given IPs to partitions in order, wrapping at the partition
-- count, as the original map_source_ip_to_partition_number did, and stores
-- the map.  Duplicates keep their first position.
CREATE FUNCTION @extschema@.map_ips_to_partitions(ips inet[], num_partitions int DEFAULT NULL)
RETURNS TABLE (src_ip inet, partition int)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    n int := num_partitions;
    log_partitions int;
    bad inet;
BEGIN
    IF ips IS NULL THEN
        RAISE EXCEPTION 'ips must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass an array of addresses, e.g. ARRAY(SELECT DISTINCT src_ip FROM my_logs).';
    END IF;
    IF array_position(ips, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'ips must not contain NULL (element % is NULL)', array_position(ips, NULL)
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT i INTO bad FROM unnest(ips) AS i
     WHERE masklen(i) <> CASE family(i) WHEN 4 THEN 32 ELSE 128 END LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% is a network, not a host address', bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT t.num_partitions INTO log_partitions FROM @extschema@.topics t
     WHERE t.name = current_setting('ipflow.log_topic');
    n := coalesce(n, log_partitions);
    IF n IS NULL THEN
        RAISE EXCEPTION 'the number of partitions of topic "%" is not known', current_setting('ipflow.log_topic')
            USING ERRCODE = 'undefined_object',
                  HINT = 'Load the topics with ipflow.load_config(), or pass num_partitions.';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'num_partitions must be at least 1, not %', n
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the map routes the log topic, so it must fit in it
    IF n > log_partitions THEN
        RAISE EXCEPTION 'num_partitions % is more than the % partitions of topic "%"',
                        n, log_partitions, current_setting('ipflow.log_topic')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN QUERY
    WITH ordered AS (
        SELECT u.ip, min(u.ord) AS first_seen
          FROM unnest(ips) WITH ORDINALITY AS u(ip, ord)
         GROUP BY u.ip
    ), numbered AS (
        SELECT o.ip, ((row_number() OVER (ORDER BY o.first_seen) - 1) % n)::int AS p
          FROM ordered o
    ), stored AS (
        INSERT INTO @extschema@.ip_partitions AS m (src_ip, partition)
        SELECT nb.ip, nb.p FROM numbered nb
        ON CONFLICT ON CONSTRAINT ip_partitions_pkey
        DO UPDATE SET partition = EXCLUDED.partition, updated_at = now()
        RETURNING m.src_ip, m.partition
    )
    SELECT s.src_ip, s.partition FROM stored s
      JOIN ordered o ON o.ip = s.src_ip
     ORDER BY o.first_seen;
END
$fn$;
COMMENT ON FUNCTION @extschema@.map_ips_to_partitions(inet[], int) IS 'Assigns IPs to partitions sequentially (wrapping) and stores the map';

REVOKE EXECUTE ON FUNCTION @extschema@.load_config(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.map_ips_to_partitions(inet[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.load_config(jsonb) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.map_ips_to_partitions(inet[], int) TO ipflow_admin;

-- Samples moved out of Redis by ipflow.dump(): one per IP, feature and time.
CREATE TABLE @extschema@.history (
    src_ip inet NOT NULL,
    feature text NOT NULL,
    ds timestamptz NOT NULL,
    value float8 NOT NULL,
    PRIMARY KEY (src_ip, feature, ds)
);
COMMENT ON TABLE @extschema@.history IS 'Per IP and feature samples dumped from the Redis mirror (or from events without one)';
GRANT SELECT ON @extschema@.history TO ipflow_reader;

-- How far the Redis mirror got: every event of the partition stored before
-- mirrored_until is in Redis.  Written by the ingest workers.
CREATE TABLE @extschema@.mirror_progress (
    topic text NOT NULL,
    kafka_partition int NOT NULL,
    mirrored_until timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);
COMMENT ON TABLE @extschema@.mirror_progress IS 'Per log-topic partition: events stored before mirrored_until are in the Redis mirror';
GRANT SELECT ON @extschema@.mirror_progress TO ipflow_reader;

-- The mirror catches up by time of storage: a BRIN index costs next to
-- nothing on insert, since ingested_at grows with the table.
CREATE INDEX events_ingested_at ON @extschema@.events USING brin (ingested_at);

-- Every batch rewrites the row of each IP it touches: free room on the page
-- keeps those updates HOT (no new index entry, less bloat).
ALTER TABLE @extschema@.ips SET (fillfactor = 50);

CREATE FUNCTION @extschema@.init()
RETURNS TABLE (kind text, name text, status text)
AS 'MODULE_PATHNAME', 'ipflow_init'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.init() IS 'Creates the Kafka topics of ipflow.topics and one Redis series per known IP and feature; idempotent';

CREATE FUNCTION @extschema@.dump(feature text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ipflow_dump'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.dump(text) IS 'Moves samples older than ipflow.dump_lag from Redis into ipflow.history; returns how many';

CREATE FUNCTION @extschema@.redis_series(src_ip inet, feature text,
                                         "from" timestamptz DEFAULT '-infinity',
                                         "to" timestamptz DEFAULT 'infinity')
RETURNS TABLE (ts timestamptz, value float8)
AS 'MODULE_PATHNAME', 'ipflow_redis_series'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.redis_series(inet, text, timestamptz, timestamptz) IS 'One IP and feature series as the Redis mirror holds it';

REVOKE EXECUTE ON FUNCTION @extschema@.init() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.dump(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.redis_series(inet, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.init() TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.dump(text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.redis_series(inet, text, timestamptz, timestamptz) TO ipflow_reader;

-- Gradient-boosted tree models (ipflow.gbt_train, ipflow.gbt_import): the
-- whole model in the core's file format, and for reading in SQL its stages,
-- the settings it was trained with, its metrics and feature importance.
CREATE TABLE @extschema@.gbt_models (
    name text PRIMARY KEY CHECK (name <> '' AND octet_length(name) <= 200),
    model jsonb NOT NULL,
    stages jsonb,
    params jsonb NOT NULL,
    metrics jsonb,
    feature_importance jsonb NOT NULL,
    rows bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.gbt_models IS 'Gradient-boosted tree models: stages, trees, training settings, metrics, feature importance';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gbt_models', '');
GRANT SELECT ON @extschema@.gbt_models TO ipflow_reader;
GRANT INSERT, UPDATE, DELETE ON @extschema@.gbt_models TO ipflow_admin;

CREATE FUNCTION @extschema@.gbt_train(name text, source_query text, label text, params jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ipflow_gbt_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.gbt_train(text, text, text, jsonb) IS 'Trains a boosted-trees model on the rows of a query, stores it in ipflow.gbt_models, returns its metrics';

CREATE FUNCTION @extschema@.gbt_predict(name text, "row" jsonb)
RETURNS float8
AS 'MODULE_PATHNAME', 'ipflow_gbt_predict_row'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gbt_predict(text, jsonb) IS 'Prediction of a stored model for one row given as a JSON object of inputs';

CREATE FUNCTION @extschema@.gbt_predict(name text, source_query text, key_columns text[] DEFAULT NULL)
RETURNS TABLE (n bigint, key jsonb, label float8, prediction float8)
AS 'MODULE_PATHNAME', 'ipflow_gbt_predict_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.gbt_predict(text, text, text[]) IS 'Predictions of a stored model for every row of a query, every stage applied';

CREATE FUNCTION @extschema@.gbt_export(name text, path text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ipflow_gbt_export'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.gbt_export(text, text) IS 'Writes a stored model to a JSON file on the server; returns its size';

CREATE FUNCTION @extschema@.gbt_import(path text, name text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'ipflow_gbt_import'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.gbt_import(text, text) IS 'Checks and stores the model of a JSON file on the server; returns its name';

REVOKE EXECUTE ON FUNCTION @extschema@.gbt_train(text, text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.gbt_predict(text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.gbt_predict(text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.gbt_export(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.gbt_import(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.gbt_train(text, text, text, jsonb) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.gbt_predict(text, jsonb) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.gbt_predict(text, text, text[]) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.gbt_export(text, text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.gbt_import(text, text) TO ipflow_admin;
-- The traffic generator and the sender (0.2.0).

-- Real events to learn behaviour profiles from: ipflow.load_csv() loads a
-- logs.csv here unless it is given another table.
CREATE TABLE @extschema@.real_events (
    src_ip inet NOT NULL,
    ts timestamptz NOT NULL,
    unq_dst_ip bigint CHECK (unq_dst_ip >= 0),
    allow bigint CHECK (allow >= 0),
    "drop" bigint CHECK ("drop" >= 0),
    frequency bigint CHECK (frequency >= 0),
    pkts_sent bigint CHECK (pkts_sent >= 0),
    pkts_received bigint CHECK (pkts_received >= 0),
    bytesin bigint CHECK (bytesin >= 0),
    bytesout bigint CHECK (bytesout >= 0),
    unq_dst_port bigint CHECK (unq_dst_port >= 0),
    PRIMARY KEY (src_ip, ts)
);
COMMENT ON TABLE @extschema@.real_events IS 'Real events (e.g. a logs.csv loaded by ipflow.load_csv) to learn behaviour profiles from';

-- One learned behaviour per real source IP: the generator's profile document.
CREATE TABLE @extschema@.profiles (
    name text PRIMARY KEY CHECK (name <> ''),
    source_ip inet,
    profile jsonb NOT NULL,
    rows bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
    learned_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.profiles IS 'Behaviour profiles learned by ipflow.learn_profiles (calendar, per-hour distributions, dependence, relations)';

-- Ground truth of the anomalies the generator injected: one row per
-- anomalous IP-hour, written with the events that carry it.
CREATE TABLE @extschema@.generated_anomalies (
    src_ip inet NOT NULL,
    ts timestamptz NOT NULL,
    feature text,
    kind text NOT NULL
        CHECK (kind IN ('spike', 'level_shift', 'scan_burst', 'silence', 'off_calendar')),
    expected bigint,
    value bigint,
    starts_at timestamptz NOT NULL,
    hours int NOT NULL CHECK (hours >= 1),
    seed bigint NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now(),
    profile text,
    PRIMARY KEY (src_ip, ts, seed)
);
COMMENT ON TABLE @extschema@.generated_anomalies IS 'Ground truth of the anomalies injected into generated traffic: IP, hour, feature, kind, expected and sent value';

-- The sender worker's stream and its cursor (one row).  sent counts the
-- events Kafka has acknowledged, in generation order; it is committed only
-- after their delivery, so a stopped or restarted sender resumes right
-- after them.
CREATE TABLE @extschema@.sender_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    stream bigint NOT NULL,
    enabled boolean NOT NULL,
    topic text NOT NULL CHECK (topic ~ '^[A-Za-z0-9._-]{1,249}$'),
    n_ips int NOT NULL,
    start timestamptz NOT NULL,
    hours int NOT NULL,
    seed bigint NOT NULL,
    options jsonb NOT NULL,
    profiles jsonb NOT NULL,
    events_per_second float8 CHECK (events_per_second > 0),
    seconds_per_hour float8 CHECK (seconds_per_hour >= 0),
    sent bigint NOT NULL DEFAULT 0 CHECK (sent >= 0),
    cursor_ts timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((events_per_second IS NULL) <> (seconds_per_hour IS NULL))
);
COMMENT ON TABLE @extschema@.sender_state IS 'The sender worker''s stream (arguments, frozen profiles, pace) and its cursor: events delivered so far';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.real_events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.generated_anomalies', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sender_state', '');

GRANT SELECT ON @extschema@.real_events, @extschema@.profiles, @extschema@.generated_anomalies,
    @extschema@.sender_state TO ipflow_reader;
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON @extschema@.real_events, @extschema@.generated_anomalies
    TO ipflow_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.profiles TO ipflow_admin;
GRANT INSERT, UPDATE ON @extschema@.sender_state TO ipflow_admin;

CREATE FUNCTION @extschema@.load_csv(path text, target regclass DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ipflow_load_csv'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.load_csv(text, regclass) IS 'Loads a logs.csv (src_ip,unq_dst_ip,...,timestamp) into ipflow.real_events or the given table; returns the rows loaded';

CREATE FUNCTION @extschema@.learn_profiles(source text)
RETURNS TABLE (name text, source_ip inet, rows bigint, active_hours int, relations text[])
AS 'MODULE_PATHNAME', 'ipflow_learn_profiles'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.learn_profiles(text) IS 'Learns one behaviour profile per source IP of a table or query with the event columns, into ipflow.profiles';

CREATE FUNCTION @extschema@.generate_events(n_ips int, start timestamptz, hours int, seed bigint,
                                            options jsonb DEFAULT '{}')
RETURNS TABLE (src_ip inet, ts timestamptz, unq_dst_ip bigint, allow bigint, "drop" bigint,
               frequency bigint, pkts_sent bigint, pkts_received bigint, bytesin bigint,
               bytesout bigint, unq_dst_port bigint, payload text)
AS 'MODULE_PATHNAME', 'ipflow_generate_events'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.generate_events(int, timestamptz, int, bigint, jsonb) IS 'Synthetic events of n_ips IPs over hours hours from the learned profiles, with their JSON payload; records injected anomalies in ipflow.generated_anomalies';

CREATE FUNCTION @extschema@.send(query text, topic text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ipflow_send_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.send(text, text) IS 'Produces the events of a query (event columns) as JSON to the log topic, keyed and partitioned by IP; waits for delivery; returns the count';

CREATE FUNCTION @extschema@.send(n_ips int, start timestamptz, hours int, seed bigint,
                                 options jsonb DEFAULT '{}', topic text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ipflow_send_generated'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.send(int, timestamptz, int, bigint, jsonb, text) IS 'Generates events as ipflow.generate_events does and produces them to the log topic; waits for delivery; returns the count';

CREATE PROCEDURE @extschema@.send_json_dir(path text, INOUT files int DEFAULT NULL,
                                           INOUT events bigint DEFAULT NULL,
                                           INOUT last_processed_file text DEFAULT NULL)
AS 'MODULE_PATHNAME', 'ipflow_send_json_dir'
LANGUAGE C;
COMMENT ON PROCEDURE @extschema@.send_json_dir(text, int, bigint, text) IS 'Sends the original cl_logs/N.json files after ipflow.sender_cursor in numeric order, advancing the cursor after each delivered file';

CREATE FUNCTION @extschema@.start_sender(n_ips int, start timestamptz, seed bigint,
                                         options jsonb DEFAULT '{}', hours int DEFAULT NULL,
                                         events_per_second float8 DEFAULT NULL,
                                         seconds_per_hour float8 DEFAULT NULL,
                                         topic text DEFAULT NULL)
RETURNS TABLE (stream bigint, resumed boolean, sent bigint)
AS 'MODULE_PATHNAME', 'ipflow_start_sender'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_sender(int, timestamptz, bigint, jsonb, int, float8, float8, text) IS 'Starts (or, with the same arguments, resumes) the sender worker''s stream of generated events at the given pace';

CREATE FUNCTION @extschema@.start_sender()
RETURNS TABLE (stream bigint, resumed boolean, sent bigint)
AS 'MODULE_PATHNAME', 'ipflow_resume_sender'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_sender() IS 'Resumes the sender worker''s stream at its cursor';

CREATE FUNCTION @extschema@.stop_sender()
RETURNS boolean
AS 'MODULE_PATHNAME', 'ipflow_stop_sender'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.stop_sender() IS 'Stops the sender worker after the batch it is sending; its cursor stays where delivery ended';

CREATE FUNCTION @extschema@.sender_status(OUT pid int, OUT state text, OUT stream bigint,
                                          OUT rate float8, OUT last_error text,
                                          OUT last_error_at timestamptz,
                                          OUT worker_started_at timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'ipflow_sender_status'
LANGUAGE C VOLATILE;

CREATE VIEW @extschema@.sender AS
SELECT CASE WHEN w.pid IS NOT NULL AND w.stream = s.stream THEN w.state
            WHEN s.enabled THEN 'starting'
            WHEN s.finished_at IS NOT NULL THEN 'finished'
            ELSE 'stopped' END AS state,
       CASE WHEN w.stream = s.stream THEN w.pid END AS pid,
       s.stream, s.topic, s.n_ips, s.start, s.hours, s.seed, s.options,
       s.events_per_second, s.seconds_per_hour,
       s.sent, s.cursor_ts AS cursor,
       CASE WHEN w.stream = s.stream THEN w.rate END AS rate,
       w.last_error, w.last_error_at,
       s.started_at, s.updated_at, s.finished_at
  FROM @extschema@.sender_state s
  LEFT JOIN @extschema@.sender_status() w ON true;
COMMENT ON VIEW @extschema@.sender IS 'The sender worker: state, events delivered (the cursor), pace, measured rate, last error';

REVOKE EXECUTE ON FUNCTION @extschema@.load_csv(text, regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.learn_profiles(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.generate_events(int, timestamptz, int, bigint, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.send(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.send(int, timestamptz, int, bigint, jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.send_json_dir(text, int, bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.start_sender(int, timestamptz, bigint, jsonb, int, float8, float8, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.start_sender() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.stop_sender() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.sender_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.load_csv(text, regclass) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.learn_profiles(text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.generate_events(int, timestamptz, int, bigint, jsonb) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.send(text, text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.send(int, timestamptz, int, bigint, jsonb, text) TO ipflow_admin;
GRANT EXECUTE ON PROCEDURE @extschema@.send_json_dir(text, int, bigint, text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.start_sender(int, timestamptz, bigint, jsonb, int, float8, float8, text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.start_sender() TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.stop_sender() TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.sender_status() TO ipflow_reader;
GRANT SELECT ON @extschema@.sender TO ipflow_reader;

DO $preload$
BEGIN
    IF NOT @extschema@.preloaded() THEN
        RAISE WARNING 'ipflow is not in shared_preload_libraries: its background workers will not run'
            USING HINT = 'Add ipflow to shared_preload_libraries in postgresql.conf and restart the server.';
    END IF;
END
$preload$;

-- Forecasting: one model per IP and feature, fitted by ipflow.train().
CREATE TABLE @extschema@.models (
    src_ip inet NOT NULL,
    feature text NOT NULL,
    params jsonb NOT NULL,
    model json NOT NULL,
    n_points int NOT NULL,
    history_from timestamptz NOT NULL,
    history_until timestamptz NOT NULL,
    horizon int NOT NULL,
    fit_ms float8 NOT NULL,
    sigma float8 NOT NULL,
    iterations int NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (src_ip, feature)
);
COMMENT ON TABLE @extschema@.models IS 'Forecasting models per IP and feature: parameters as given, fitted coefficients (the model JSON), fit statistics';

-- The forecasts of the latest models; y is the real value once it arrived.
CREATE TABLE @extschema@.forecasts (
    src_ip inet NOT NULL,
    feature text NOT NULL,
    ds timestamptz NOT NULL,
    y float8,
    yhat float8 NOT NULL,
    yhat_lower float8 NOT NULL,
    yhat_upper float8 NOT NULL,
    trained_at timestamptz NOT NULL,
    PRIMARY KEY (src_ip, feature, ds)
);
COMMENT ON TABLE @extschema@.forecasts IS 'Forecasts per IP, feature and time with their interval; y is filled in as real values arrive';

-- Anomalies found by the streaming detector (source stream) and by
-- ipflow.detect() against the stored forecasts (source forecast).
CREATE TABLE @extschema@.anomalies (
    src_ip inet NOT NULL,
    feature text NOT NULL,
    ts timestamptz NOT NULL,
    value float8 NOT NULL,
    expected float8,
    lower float8,
    upper float8,
    score float8 NOT NULL CHECK (score >= 0 AND score < 1),
    source text NOT NULL CHECK (source IN ('stream', 'forecast')),
    detected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (src_ip, feature, ts, source)
);
COMMENT ON TABLE @extschema@.anomalies IS 'Anomalous values per IP and feature with the expected range and a score in [0, 1)';

GRANT SELECT ON @extschema@.models, @extschema@.forecasts, @extschema@.anomalies TO ipflow_reader;
GRANT INSERT, UPDATE, DELETE ON @extschema@.models, @extschema@.forecasts, @extschema@.anomalies TO ipflow_admin;

CREATE FUNCTION @extschema@.forecast(src_ip inet, feature text, horizon int DEFAULT 8,
                                     params jsonb DEFAULT '{}')
RETURNS TABLE (ds timestamptz, yhat float8, yhat_lower float8, yhat_upper float8)
AS 'MODULE_PATHNAME', 'ipflow_forecast'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.forecast(inet, text, int, jsonb) IS 'Fits the model of one IP and feature now and forecasts the next horizon timestamps of its calendar';

CREATE FUNCTION @extschema@.backtest(src_ip inet, feature text, origins int DEFAULT 20,
                                     horizon int DEFAULT 8, params jsonb DEFAULT '{}',
                                     test_fraction float8 DEFAULT 0.4)
RETURNS TABLE (origins int, points int, mae float8, rmse float8, smape float8, mase float8,
               coverage float8, naive_mae float8, naive_mase float8)
AS 'MODULE_PATHNAME', 'ipflow_backtest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.backtest(inet, text, int, int, jsonb, float8) IS 'Rolling-origin evaluation of the model of one IP and feature: MAE, RMSE, sMAPE, MASE, interval coverage, and the seasonal naive baseline';

CREATE FUNCTION @extschema@.train(feature text DEFAULT NULL, horizon int DEFAULT 8,
                                  params jsonb DEFAULT '{}')
RETURNS TABLE (models int, skipped int, failed int, workers int, seconds float8)
AS 'MODULE_PATHNAME', 'ipflow_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train(text, int, jsonb) IS 'Fits one model per IP and feature (NULL: every feature) in parallel workers into ipflow.models and ipflow.forecasts';

REVOKE EXECUTE ON FUNCTION @extschema@.forecast(inet, text, int, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.backtest(inet, text, int, int, jsonb, float8) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.train(text, int, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forecast(inet, text, int, jsonb) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.backtest(inet, text, int, int, jsonb, float8) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.train(text, int, jsonb) TO ipflow_admin;

-- A model is about 7 kB of JSON, rewritten at every training: lz4 compresses
-- it several times faster than the default pglz (where the server has lz4).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE @extschema@.models ALTER COLUMN model SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END $$;
-- Views for dashboards (Superset or any SQL client): long format, one row
-- per time and IP (and feature), so a chart filters by IP and feature and
-- aggregates with SUM, AVG or MAX.  A filter on src_ip reaches the primary
-- keys of events, forecasts and anomalies.

-- Real values beside the forecast and its interval, per IP, feature and
-- time: the forecasts (actual once the event arrived), and the history the
-- series' model was fitted on (actual only).
CREATE VIEW @extschema@.v_forecast_vs_actual AS
SELECT f.ds, f.src_ip, f.feature,
       coalesce(CASE f.feature
                    WHEN 'unq_dst_ip' THEN e.unq_dst_ip WHEN 'allow' THEN e.allow
                    WHEN 'drop' THEN e."drop" WHEN 'frequency' THEN e.frequency
                    WHEN 'pkts_sent' THEN e.pkts_sent WHEN 'pkts_received' THEN e.pkts_received
                    WHEN 'bytesin' THEN e.bytesin WHEN 'bytesout' THEN e.bytesout
                    WHEN 'unq_dst_port' THEN e.unq_dst_port END::float8, f.y) AS actual,
       f.yhat, f.yhat_lower, f.yhat_upper, f.trained_at
  FROM @extschema@.forecasts f
  LEFT JOIN @extschema@.events e ON e.src_ip = f.src_ip AND e.ts = f.ds
UNION ALL
SELECT e.ts, m.src_ip, m.feature,
       CASE m.feature
           WHEN 'unq_dst_ip' THEN e.unq_dst_ip WHEN 'allow' THEN e.allow
           WHEN 'drop' THEN e."drop" WHEN 'frequency' THEN e.frequency
           WHEN 'pkts_sent' THEN e.pkts_sent WHEN 'pkts_received' THEN e.pkts_received
           WHEN 'bytesin' THEN e.bytesin WHEN 'bytesout' THEN e.bytesout
           WHEN 'unq_dst_port' THEN e.unq_dst_port END::float8,
       NULL, NULL, NULL, m.trained_at
  FROM @extschema@.models m
  JOIN @extschema@.events e ON e.src_ip = m.src_ip AND e.ts >= m.history_from
 WHERE NOT EXISTS (SELECT FROM @extschema@.forecasts f
                    WHERE f.src_ip = m.src_ip AND f.feature = m.feature AND f.ds = e.ts);
COMMENT ON VIEW @extschema@.v_forecast_vs_actual IS 'Per IP, feature and time: the real value (from events), the forecast and its interval';

-- Anomalies with their expected range, which side they fell on, and how
-- long after the event was stored they were flagged.
CREATE VIEW @extschema@.v_anomalies AS
SELECT a.ts, a.src_ip, a.feature, a.value, a.expected, a.lower, a.upper, a.score, a.source,
       CASE WHEN a.value > a.upper THEN 'above' WHEN a.value < a.lower THEN 'below' END AS direction,
       a.detected_at,
       extract(epoch FROM a.detected_at - e.ingested_at)::float8 AS detection_delay_s
  FROM @extschema@.anomalies a
  LEFT JOIN @extschema@.events e ON e.src_ip = a.src_ip AND e.ts = a.ts;
COMMENT ON VIEW @extschema@.v_anomalies IS 'Anomalies with score, expected range, source and the delay from storing the event to flagging it';

-- Activity per IP, feature and hour of event time: what "top talkers"
-- charts sum.  Hours are UTC (date_bin), whatever the session's TimeZone.
CREATE VIEW @extschema@.v_ip_activity AS
SELECT date_bin('1 hour', e.ts, '2000-01-01 00:00+00') AS bucket, e.src_ip, v.feature,
       count(v.value) AS events, sum(v.value) AS total, avg(v.value)::float8 AS mean, max(v.value) AS max
  FROM @extschema@.events e
 CROSS JOIN LATERAL (VALUES ('unq_dst_ip', e.unq_dst_ip), ('allow', e.allow), ('drop', e."drop"),
                            ('frequency', e.frequency), ('pkts_sent', e.pkts_sent),
                            ('pkts_received', e.pkts_received), ('bytesin', e.bytesin),
                            ('bytesout', e.bytesout), ('unq_dst_port', e.unq_dst_port)) AS v(feature, value)
 GROUP BY 1, 2, 3;
COMMENT ON VIEW @extschema@.v_ip_activity IS 'Per IP, feature and hour of event time: events, total, mean and max of the feature';

-- Ingestion per minute of storage time and partition over the last day
-- (the BRIN index on ingested_at finds that day without reading the rest):
-- events stored, rate, IPs, and how far storage trailed the event time.
-- ipflow.stats keeps no history, so the broker backlog (messages behind,
-- per partition) appears in the current minute only, in rows of its own.
CREATE VIEW @extschema@.v_ingest_stats AS
SELECT date_bin('1 minute', e.ingested_at, '2000-01-01 00:00+00') AS minute, e.kafka_partition,
       count(*) AS events, count(*) / 60.0::float8 AS events_per_second,
       count(DISTINCT e.src_ip) AS ips,
       avg(extract(epoch FROM e.ingested_at - e.ts))::float8 AS delay_avg_s,
       max(extract(epoch FROM e.ingested_at - e.ts))::float8 AS delay_max_s,
       NULL::bigint AS backlog
  FROM @extschema@.events e
 WHERE e.ingested_at >= now() - interval '1 day'
 GROUP BY 1, 2
UNION ALL
SELECT date_bin('1 minute', now(), '2000-01-01 00:00+00'), p.key::int, 0, 0, 0, NULL, NULL, sum(p.value::bigint)
  FROM @extschema@.worker_stats() s
 CROSS JOIN LATERAL jsonb_each_text(s.lag_by_partition) AS p(key, value)
 WHERE @extschema@.preloaded() AND s.kind = 'ingest'
 GROUP BY p.key;
COMMENT ON VIEW @extschema@.v_ingest_stats IS 'Per minute of the last day and partition: events stored, rate, IPs, event-to-storage delay; current broker backlog';

GRANT SELECT ON @extschema@.v_forecast_vs_actual, @extschema@.v_anomalies, @extschema@.v_ip_activity,
    @extschema@.v_ingest_stats TO ipflow_reader;
-- Schedules: ipflow's periodic jobs in pg_cron (1.4 or later).  pg_cron is
-- optional: nothing below refers to it until a function runs.

-- Refuses, with what to do, when pg_cron cannot run ipflow's jobs here.
-- Called by the functions below as their (superuser) owner.
CREATE FUNCTION @extschema@.cron_check()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    cron_db text := current_setting('cron.database_name', true);
    version text;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'ipflow''s schedule functions are owned by "%", who is not a superuser', current_user
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'pg_cron lets only superusers schedule jobs that run as another role.';
    END IF;
    IF cron_db IS NULL OR NOT 'pg_cron' = ANY (
            regexp_split_to_array(replace(current_setting('shared_preload_libraries'), '"', ''), '\s*,\s*')) THEN
        RAISE EXCEPTION 'pg_cron is not loaded in this server'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name = %L, '
                                'restart the server, then run CREATE EXTENSION pg_cron in database %I.',
                                current_database(), current_database());
    END IF;
    IF cron_db <> current_database() THEN
        RAISE EXCEPTION 'pg_cron runs in database "%", not in ipflow''s database "%"', cron_db, current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron keeps its jobs in the one database named by cron.database_name.',
                  HINT = format('Set cron.database_name = %L and restart the server, or schedule the jobs by hand '
                                'in database %I with cron.schedule_in_database(..., database => %L).',
                                current_database(), cron_db, current_database());
    END IF;
    SELECT extversion INTO version FROM pg_extension WHERE extname = 'pg_cron';
    IF version IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION pg_cron in this database.';
    END IF;
    IF to_regprocedure('cron.schedule_in_database(text,text,text,text,text,boolean)') IS NULL THEN
        RAISE EXCEPTION 'pg_cron % is too old for ipflow''s jobs', version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'ipflow needs cron.schedule_in_database(), which pg_cron 1.4 added.',
                  HINT = 'Install pg_cron 1.4 or later and run ALTER EXTENSION pg_cron UPDATE.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.cron_check() IS 'Raises an error saying what to do when pg_cron cannot run ipflow''s jobs in this database';

-- The names of ipflow's jobs in pg_cron.
CREATE FUNCTION @extschema@.job_names()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['ipflow-dump', 'ipflow-train', 'ipflow-detect', 'ipflow-gbt'] $$;
COMMENT ON FUNCTION @extschema@.job_names() IS 'Names of ipflow''s pg_cron jobs';

-- Registers ipflow's periodic work as named pg_cron jobs run by a
-- non-superuser role.  SECURITY DEFINER because pg_cron lets only a
-- superuser schedule jobs for another role; the commands are fixed here,
-- and the run-as role must be one the caller could SET ROLE to.
CREATE FUNCTION @extschema@.schedule_jobs(dump text DEFAULT '*/20 * * * *',
                                          train text DEFAULT '5 * * * *',
                                          detect text DEFAULT '15 * * * *',
                                          gbt text DEFAULT '30 2 * * *',
                                          username text DEFAULT 'ipflow_admin')
RETURNS TABLE (jobname text, jobid bigint, schedule text, command text, run_as text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    runner pg_roles;
    job record;
    old record;
BEGIN
    PERFORM @extschema@.cron_check();
    IF schedule_jobs.username IS NULL THEN
        RAISE EXCEPTION 'username must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the role the jobs run as; the default is ipflow_admin.';
    END IF;
    SELECT * INTO runner FROM pg_roles r WHERE r.rolname = schedule_jobs.username;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not exist', schedule_jobs.username
            USING ERRCODE = 'undefined_object';
    END IF;
    IF runner.rolsuper THEN
        RAISE EXCEPTION 'ipflow''s jobs do not run as a superuser ("%")', runner.rolname
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run them as ipflow_admin, or as a login role granted ipflow_admin.';
    END IF;
    IF NOT pg_has_role(runner.oid, 'ipflow_admin', 'USAGE') THEN
        RAISE EXCEPTION 'role "%" does not have the privileges of ipflow_admin', runner.rolname
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('GRANT ipflow_admin TO %I;', runner.rolname);
    END IF;
    IF NOT pg_has_role(session_user, runner.oid, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to schedule jobs that run as "%"', runner.rolname
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Only members of role %I may schedule jobs as it; %I is not.',
                                  runner.rolname, session_user);
    END IF;
    IF NOT runner.rolcanlogin THEN
        RAISE EXCEPTION 'role "%" cannot log in, so pg_cron cannot run jobs as it', runner.rolname
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron starts each run as a new session of its role (a connection, or a '
                           'background worker with cron.use_background_workers), and both refuse NOLOGIN roles.',
                  HINT = format('Run ALTER ROLE %I LOGIN (no password is needed: see "Schedules" in ipflow''s README), '
                                'or pass username => a login role granted ipflow_admin.', runner.rolname);
    END IF;
    IF NOT has_database_privilege(runner.oid, current_database(), 'CONNECT') THEN
        RAISE EXCEPTION 'role "%" may not connect to database "%"', runner.rolname, current_database()
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('GRANT CONNECT ON DATABASE %I TO %I;', current_database(), runner.rolname);
    END IF;

    FOR job IN
        SELECT * FROM (VALUES
            ('ipflow-dump', dump, 'SELECT @extschema@.dump()'),
            ('ipflow-train', train, 'SELECT * FROM @extschema@.train()'),
            ('ipflow-detect', detect, 'SELECT @extschema@.detect()'),
            ('ipflow-gbt', gbt,
             'SELECT @extschema@.gbt_train(''unq_dst_ip'', ''SELECT * FROM @extschema@.events'', ''unq_dst_ip'')')
        ) AS v(name, cron, cmd)
    LOOP
        -- pg_cron replaces a job in place only for the same name and role
        -- (it keeps the job id, and so the job's run history): other jobs
        -- of that name go, and so do all of them when the schedule is NULL.
        FOR old IN
            SELECT j.jobid FROM cron.job j
             WHERE j.jobname = job.name
               AND (job.cron IS NULL OR j.username <> runner.rolname
                    OR j.database <> current_database() OR NOT j.active)
        LOOP
            PERFORM cron.unschedule(old.jobid);
        END LOOP;
        CONTINUE WHEN job.cron IS NULL;
        BEGIN
            jobid := cron.schedule_in_database(job.name, job.cron, job.cmd, current_database(), runner.rolname, true);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'invalid schedule for %: "%"', split_part(job.name, '-', 2), job.cron
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = SQLERRM,
                      HINT = 'A schedule is five cron fields (minute hour day month weekday), '
                             'e.g. ''*/20 * * * *''; NULL means no such job.';
        END;
        jobname := job.name;
        schedule := job.cron;
        command := job.cmd;
        run_as := runner.rolname;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.schedule_jobs(text, text, text, text, text) IS 'Registers (or replaces) ipflow''s pg_cron jobs ipflow-dump, ipflow-train, ipflow-detect, ipflow-gbt, run as a non-superuser role; a NULL schedule removes that job';

-- Removes ipflow's pg_cron jobs; returns how many there were.
CREATE FUNCTION @extschema@.unschedule_jobs()
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    old record;
    n int := 0;
BEGIN
    PERFORM @extschema@.cron_check();
    FOR old IN SELECT j.jobid FROM cron.job j WHERE j.jobname = ANY (@extschema@.job_names()) LOOP
        PERFORM cron.unschedule(old.jobid);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Removes ipflow''s pg_cron jobs; returns how many were removed';

-- ipflow's jobs with their latest run.  SECURITY DEFINER because pg_cron's
-- row security shows each role only its own jobs and runs; it returns
-- nothing without pg_cron (1.4 or later) in this database.
CREATE FUNCTION @extschema@.job_runs(
    OUT jobname text, OUT jobid bigint, OUT schedule text, OUT command text, OUT database text,
    OUT username text, OUT active boolean, OUT last_status text, OUT last_start timestamptz,
    OUT last_end timestamptz, OUT last_duration interval, OUT last_message text,
    OUT last_success timestamptz, OUT runs bigint, OUT failed_runs bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF to_regprocedure('cron.schedule_in_database(text,text,text,text,text,boolean)') IS NULL
       OR to_regclass('cron.job_run_details') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT j.jobname::text, j.jobid, j.schedule, j.command, j.database, j.username, j.active,
           l.status, l.start_time, l.end_time, l.end_time - l.start_time, l.return_message,
           s.last_success, coalesce(s.runs, 0), coalesce(s.failed_runs, 0)
      FROM cron.job j
      LEFT JOIN LATERAL (
            SELECT d.status, d.start_time, d.end_time, d.return_message
              FROM cron.job_run_details d WHERE d.jobid = j.jobid
             ORDER BY d.runid DESC LIMIT 1) l ON true
      LEFT JOIN LATERAL (
            SELECT max(d.start_time) FILTER (WHERE d.status = 'succeeded') AS last_success,
                   count(*) AS runs, count(*) FILTER (WHERE d.status = 'failed') AS failed_runs
              FROM cron.job_run_details d WHERE d.jobid = j.jobid) s ON true
     WHERE j.jobname = ANY (@extschema@.job_names())
     ORDER BY array_position(@extschema@.job_names(), j.jobname::text), j.jobid;
END
$fn$;

CREATE VIEW @extschema@.jobs AS SELECT * FROM @extschema@.job_runs();
COMMENT ON VIEW @extschema@.jobs IS 'ipflow''s pg_cron jobs (schedule, command, run-as role) with their latest run (status, start, duration, message) and run counts';

REVOKE EXECUTE ON FUNCTION @extschema@.cron_check() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.schedule_jobs(text, text, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.job_runs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(text, text, text, text, text) TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.unschedule_jobs() TO ipflow_admin;
GRANT EXECUTE ON FUNCTION @extschema@.job_runs() TO ipflow_reader;
GRANT SELECT ON @extschema@.jobs TO ipflow_reader;
-- ipflow.dump() writes history as its caller, which is the dump job's
-- role: ipflow_admin (the grant was missing until the job first ran as it).
GRANT INSERT, UPDATE ON @extschema@.history TO ipflow_admin;

-- Charts: one IP's feature as a self-contained SVG document.
CREATE FUNCTION @extschema@.plot_svg(src_ip inet, feature text, "from" timestamptz DEFAULT NULL,
                                     "to" timestamptz DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'ipflow_plot_svg'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.plot_svg(inet, text, timestamptz, timestamptz) IS 'SVG chart of one IP''s feature: real values, forecast with its interval, anomalies; the last 14 days of data by default';
REVOKE EXECUTE ON FUNCTION @extschema@.plot_svg(inet, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.plot_svg(inet, text, timestamptz, timestamptz) TO ipflow_reader;
-- Anomaly detection
-- The streaming detector's state of each IP: one state per feature, kept
-- with the IP's aggregates so both change in the batch's transaction.
ALTER TABLE @extschema@.ips ADD COLUMN detector bytea;
-- The states (3.7 kB per IP) are rewritten with every batch that touches
-- the IP: lz4 compresses them several times faster than the default pglz,
-- which took a tenth of an ingest worker's CPU (where the server has lz4).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE @extschema@.ips ALTER COLUMN detector SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END $$;
-- The row (4.7 kB with the states, 2.2 kB once lz4 has compressed them)
-- stays whole in its page: the default toast_tuple_target (2 kB) moved the
-- states out to the TOAST table at every update, after a futile pglz pass
-- over the arrays, and read them back from there at the next batch: a third
-- of an ingest worker's CPU at 10,000 events/s.  One such row per half
-- page (fillfactor 50) leaves the room that keeps its updates HOT.
ALTER TABLE @extschema@.ips SET (toast_tuple_target = 4096);
COMMENT ON COLUMN @extschema@.ips.detector IS 'State of the streaming anomaly detector, one per feature (internal format)';

CREATE FUNCTION @extschema@.anomaly_scores(ts timestamptz[], value float8[], params jsonb DEFAULT '{}')
RETURNS TABLE (ts timestamptz, value float8, expected float8, lower float8, upper float8, score float8)
AS 'MODULE_PATHNAME', 'ipflow_anomaly_scores'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.anomaly_scores(timestamptz[], float8[], jsonb) IS 'Causal anomaly scores of a series, each point from the points before it: expected value, band, score in [0, 1)';

-- Alarms (IP, time) against the generator's incidents (IP, kind, start):
-- an incident is found when an alarm of its IP falls from its start to an
-- hour after its last hour (a silence shows when traffic returns); an alarm
-- is right when it falls in an incident's window.  False alarms have no
-- kind: each kind's precision charges it its share of them.
CREATE FUNCTION @extschema@.evaluate_anomalies(since timestamptz, until timestamptz, source text DEFAULT 'stream')
RETURNS TABLE (kind text, incidents bigint, found bigint, recall float8, alarms bigint,
               right_alarms bigint, "precision" float8, f1 float8,
               mean_delay interval, max_delay interval)
LANGUAGE sql STABLE
AS $$
WITH incident AS (
    SELECT g.src_ip, g.kind, g.starts_at, max(g.hours) AS hours,
           g.starts_at + (max(g.hours) + 1) * interval '1 hour' AS ends_before
      FROM @extschema@.generated_anomalies g
     WHERE g.starts_at >= $1 AND g.starts_at < $2
     GROUP BY g.src_ip, g.kind, g.starts_at
), alarm AS (
    SELECT DISTINCT a.src_ip, a.ts
      FROM @extschema@.anomalies a
     WHERE a.source = $3 AND a.ts >= $1 AND a.ts < $2
), hit AS (
    SELECT i.kind, i.src_ip, i.starts_at, a.ts
      FROM incident i JOIN alarm a ON a.src_ip = i.src_ip AND a.ts >= i.starts_at AND a.ts < i.ends_before
), per_incident AS (
    SELECT i.kind, min(h.ts) - i.starts_at AS delay
      FROM incident i LEFT JOIN hit h USING (kind, src_ip, starts_at)
     GROUP BY i.kind, i.src_ip, i.starts_at
), totals AS (
    SELECT (SELECT count(*) FROM alarm) AS alarms,
           (SELECT count(*) FROM (SELECT DISTINCT src_ip, ts FROM hit) r) AS right_alarms,
           (SELECT count(*) FROM incident) AS incidents
), per_kind AS (
    SELECT k.kind,
           count(p.kind) AS incidents,
           count(p.delay) AS found,
           (SELECT count(*) FROM (SELECT DISTINCT src_ip, ts FROM hit WHERE hit.kind = k.kind) r) AS right_alarms,
           avg(p.delay) AS mean_delay, max(p.delay) AS max_delay
      FROM unnest(ARRAY['spike', 'level_shift', 'scan_burst', 'silence', 'off_calendar']) WITH ORDINALITY AS k(kind, n)
      LEFT JOIN per_incident p ON p.kind = k.kind
     GROUP BY k.kind, k.n
), scored AS (
    SELECT 0 AS n, 'all' AS kind, t.incidents,
           (SELECT count(delay) FROM per_incident) AS found, t.alarms, t.right_alarms,
           t.right_alarms::float8 / nullif(t.alarms, 0) AS precision_,
           (SELECT avg(delay) FROM per_incident) AS mean_delay,
           (SELECT max(delay) FROM per_incident) AS max_delay
      FROM totals t
    UNION ALL
    SELECT 1, k.kind, k.incidents, k.found, NULL::bigint, k.right_alarms,
           k.right_alarms / nullif(k.right_alarms + (t.alarms - t.right_alarms)::float8 * k.incidents / nullif(t.incidents, 0), 0),
           k.mean_delay, k.max_delay
      FROM per_kind k CROSS JOIN totals t
)
SELECT s.kind, s.incidents, s.found, s.found::float8 / nullif(s.incidents, 0), s.alarms, s.right_alarms,
       s.precision_,
       2 * s.precision_ * (s.found::float8 / nullif(s.incidents, 0)) /
           nullif(s.precision_ + s.found::float8 / nullif(s.incidents, 0), 0),
       s.mean_delay, s.max_delay
  FROM scored s
 ORDER BY s.n, array_position(ARRAY['spike', 'level_shift', 'scan_burst', 'silence', 'off_calendar'], s.kind)
$$;
COMMENT ON FUNCTION @extschema@.evaluate_anomalies(timestamptz, timestamptz, text) IS 'Precision, recall, F1 and detection delay of the anomalies of a source against the generator''s ground truth, overall and per kind';

-- Actual values outside their stored forecast interval become anomalies
-- with source forecast; the score grows with the distance outside, in
-- half-widths of the interval: d / (1 + d).
CREATE FUNCTION @extschema@.detect(feature text DEFAULT NULL, since timestamptz DEFAULT now() - interval '1 day')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f text;
    flagged bigint;
    total bigint := 0;
BEGIN
    IF feature IS NOT NULL AND NOT feature = ANY (@extschema@.features()) THEN
        RAISE EXCEPTION 'unknown feature "%"', feature
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Features are ' || array_to_string(@extschema@.features(), ', ') || ', or NULL for all.';
    END IF;
    IF since IS NULL THEN
        RAISE EXCEPTION 'since must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOREACH f IN ARRAY CASE WHEN feature IS NULL THEN @extschema@.features() ELSE ARRAY[feature] END LOOP
        EXECUTE format($q$
            WITH actual AS (
                UPDATE @extschema@.forecasts fc SET y = e.%1$I
                  FROM @extschema@.events e
                 WHERE fc.feature = %2$L AND fc.ds >= $1 AND e.src_ip = fc.src_ip AND e.ts = fc.ds
                   AND e.%1$I IS NOT NULL
                RETURNING fc.src_ip, fc.ds, fc.y, fc.yhat, fc.yhat_lower, fc.yhat_upper
            ), outside AS (
                SELECT a.*, CASE WHEN a.y > a.yhat_upper
                                 THEN (a.y - a.yhat_upper) / greatest(a.yhat_upper - a.yhat, 1e-9 * abs(a.yhat), 1e-12)
                                 ELSE (a.yhat_lower - a.y) / greatest(a.yhat - a.yhat_lower, 1e-9 * abs(a.yhat), 1e-12)
                            END AS d
                  FROM actual a
                 WHERE a.y > a.yhat_upper OR a.y < a.yhat_lower
            ), flagged AS (
                INSERT INTO @extschema@.anomalies AS an (src_ip, feature, ts, value, expected, lower, upper, score, source)
                SELECT o.src_ip, %2$L, o.ds, o.y, o.yhat, o.yhat_lower, o.yhat_upper,
                       least(o.d, 1e12) / (1 + least(o.d, 1e12)), 'forecast'
                  FROM outside o
                ON CONFLICT (src_ip, feature, ts, source) DO UPDATE
                   SET value = EXCLUDED.value, expected = EXCLUDED.expected, lower = EXCLUDED.lower,
                       upper = EXCLUDED.upper, score = EXCLUDED.score, detected_at = now()
                 WHERE (an.value, an.expected, an.lower, an.upper)
                       IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.expected, EXCLUDED.lower, EXCLUDED.upper)
                RETURNING 1
            )
            SELECT count(*) FROM flagged $q$, f, f)
        INTO flagged USING since;
        total := total + flagged;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.detect(text, timestamptz) IS 'Flags actual values outside their stored forecast interval (since a time) into ipflow.anomalies with source forecast; fills forecasts.y; returns the rows flagged or changed';

REVOKE EXECUTE ON FUNCTION @extschema@.anomaly_scores(timestamptz[], float8[], jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.evaluate_anomalies(timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.detect(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.anomaly_scores(timestamptz[], float8[], jsonb) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.evaluate_anomalies(timestamptz, timestamptz, text) TO ipflow_reader;
GRANT EXECUTE ON FUNCTION @extschema@.detect(text, timestamptz) TO ipflow_admin;
