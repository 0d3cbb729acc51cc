-- ipflow 0.1.0 -> 0.2.0: the Redis mirror, its dump into ipflow.history, ipflow.init(),
-- gradient-boosted trees (ipflow.gbt_models, gbt_train, gbt_predict, gbt_export, gbt_import)
\echo Use "ALTER EXTENSION ipflow UPDATE TO '0.2.0'" to load this file. \quit

-- ipflow.stats shows the mirror
DROP VIEW @extschema@.stats;
DROP FUNCTION @extschema@.worker_stats();
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
