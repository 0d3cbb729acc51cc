-- Gradient-boosted trees from SQL: training on a small hand-made table whose
-- lag, one-hot encoding and split can be checked by hand, prediction by row
-- and by query, export and import, the model cache, and every bad input.
SET extra_float_digits = 0;
SET timezone = 'UTC';
SELECT current_setting('data_directory') AS datadir \gset

-- an error as one line: SQLSTATE, message, detail and hint (paths hidden)
CREATE FUNCTION pg_temp.fails(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; detail text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN replace(st || ' ' || msg || coalesce(' DETAIL: ' || nullif(detail, ''), '')
                   || coalesce(' HINT: ' || nullif(hint, ''), ''),
                   current_setting('data_directory'), '$PGDATA');
END $$;

-- three IPs, hourly; y grows per IP, so the lag is easy to follow
CREATE TABLE gbt_hand (src_ip inet, ts timestamptz, y float8, a int, b numeric, note text, flag boolean);
INSERT INTO gbt_hand VALUES
    ('10.0.0.1', '2022-01-01 00:00+00',   1, 1, 0.5, 'x', false),
    ('10.0.0.1', '2022-01-01 01:00+00',   2, 2, 1.5, 'x', false),
    ('10.0.0.1', '2022-01-01 02:00+00',   3, 3, 2.5, 'x', true),
    ('10.0.0.2', '2022-01-01 00:00+00',  10, 1, 0.5, 'y', false),
    ('10.0.0.2', '2022-01-01 01:00+00',  20, 2, 1.5, 'y', false),
    ('10.0.0.2', '2022-01-01 02:00+00',  30, 3, NULL, 'y', false),
    ('10.0.0.2', '2022-01-01 03:00+00',  40, 4, 3.5, 'y', true),
    ('10.0.0.3', '2022-01-01 00:00+00', 100, 1, 0.5, 'z', false);

-- the lag alone (prev_y = previous y of the same IP by ts), one tree of
-- step 1, every row trained on: each value of prev_y gets its mean y, and
-- the first row of each IP (prev_y missing) the mean of 1, 10, 100 = 37.
-- By hand: base 25.75, train RMSE sqrt((36² + 27² + 63²) / 8) = 27.3724,
-- MAE (36 + 27 + 63) / 8 = 15.75.
SELECT m->'rows' AS rows, m->'skipped_rows' AS skipped, m->'test' AS test,
       round((m->'train'->>'rmse')::numeric, 4) AS rmse, round((m->'train'->>'mae')::numeric, 4) AS mae,
       m->'features' AS features, m->'trees' AS trees
  FROM ipflow.gbt_train('lag_only', 'SELECT * FROM gbt_hand', 'y',
       '{"max_iter": 1, "step_size": 1, "features": [], "categorical": [],
         "split": {"test_fraction": 0}}') AS m;
SELECT n, key, label, round(prediction::numeric, 4) AS prediction
  FROM ipflow.gbt_predict('lag_only', 'SELECT * FROM gbt_hand ORDER BY src_ip, ts');
-- the defaults chose: lag of the label per src_ip by the first timestamp column
SELECT params->'lag' AS lag, params->'split' AS split, stages FROM ipflow.gbt_models WHERE name = 'lag_only';
-- a query that has the lag's output already: it is used as it is
SELECT DISTINCT round(prediction::numeric, 4) AS prediction
  FROM ipflow.gbt_predict('lag_only', 'SELECT src_ip, 30.5 AS prev_y FROM gbt_hand');
-- the row form with the lag computed by SQL's lag() gives the same
SELECT count(*) AS rows,
       count(*) FILTER (WHERE p.prediction = ipflow.gbt_predict('lag_only', to_jsonb(h))) AS equal
  FROM (SELECT *, lag(y) OVER (PARTITION BY src_ip ORDER BY ts) AS prev_y FROM gbt_hand) AS h
  JOIN ipflow.gbt_predict('lag_only', 'SELECT * FROM gbt_hand') AS p
    ON p.key = jsonb_build_object('src_ip', h.src_ip, 'ts', h.ts);

-- one-hot src_ip: categories by count (10.0.0.2: 4, 10.0.0.1: 3, 10.0.0.3: 1)
SELECT ipflow.gbt_train('enc', 'SELECT * FROM gbt_hand', 'y',
       '{"features": ["a", "b"], "lag": null, "split": {"test_fraction": 0}}') -> 'features' AS features;
SELECT model->'feature_names' AS features, stages->'stages'->0 AS one_hot FROM ipflow.gbt_models WHERE name = 'enc';
-- drop_last leaves out the last category, as Spark's OneHotEncoder does
SELECT ipflow.gbt_train('enc_drop', 'SELECT * FROM gbt_hand', 'y',
       '{"features": ["a"], "lag": null, "drop_last": true, "split": {"test_fraction": 0}}') -> 'features' AS features;
SELECT model->'feature_names' AS features FROM ipflow.gbt_models WHERE name = 'enc_drop';
-- an unseen IP, a missing feature and a numeric string are fine
SELECT round(ipflow.gbt_predict('enc', '{"src_ip": "192.0.2.1", "a": "2", "note": [1]}'::jsonb)::numeric, 4) AS unseen,
       round(ipflow.gbt_predict('enc', '{"src_ip": "10.0.0.2", "a": 2, "b": null}'::jsonb)::numeric, 4) AS known;

-- splits: the last 1/8 by time is the 03:00 row; the column split takes the
-- flagged rows; the random split hashes (src_ip, ts), so the row order of
-- the query changes neither the split nor the model
SELECT m->'train'->'rows' AS train, m->'test'->'rows' AS test
  FROM ipflow.gbt_train('chrono', 'SELECT * FROM gbt_hand', 'y',
       '{"split": {"kind": "chronological", "test_fraction": 0.125}}') AS m;
SELECT round((m->'test'->>'rmse')::numeric, 4) = round(abs(40 - ipflow.gbt_predict('chrono',
       '{"src_ip": "10.0.0.2", "a": 4, "b": 3.5, "prev_y": 30}'::jsonb))::numeric, 4) AS test_row_is_0300
  FROM ipflow.gbt_models, LATERAL (SELECT metrics AS m) AS x WHERE name = 'chrono';
SELECT m->'train'->'rows' AS train, m->'test'->'rows' AS test
  FROM ipflow.gbt_train('by_flag', 'SELECT * FROM gbt_hand', 'y',
       '{"split": {"kind": "column", "column": "flag"}}') AS m;
SELECT s AS seed, m->'train'->'rows' AS train, m->'test'->'rows' AS test
  FROM generate_series(0, 2) AS s,
       ipflow.gbt_train('rnd' || s, 'SELECT * FROM gbt_hand', 'y',
                        jsonb_build_object('split', jsonb_build_object('seed', s))) AS m;
SELECT ipflow.gbt_train('rnd0_reversed', 'SELECT * FROM gbt_hand ORDER BY ts DESC, src_ip DESC', 'y',
       '{"split": {"seed": 0}}') -> 'train' -> 'rows' AS train;
SELECT a.model = b.model AS same_model FROM ipflow.gbt_models a, ipflow.gbt_models b
 WHERE a.name = 'rnd0' AND b.name = 'rnd0_reversed';

-- a step function is fitted exactly by one tree of step 1
CREATE TABLE gbt_step AS SELECT x, CASE WHEN x <= 60 THEN 0 ELSE 10 END AS y FROM generate_series(1, 100) AS x;
SELECT round((m->'train'->>'rmse')::numeric, 12) AS rmse
  FROM ipflow.gbt_train('step', 'SELECT * FROM gbt_step', 'y',
       '{"max_iter": 1, "step_size": 1, "max_depth": 1, "split": {"test_fraction": 0}}') AS m;
SELECT DISTINCT x <= 60 AS low, prediction
  FROM ipflow.gbt_predict('step', 'SELECT * FROM gbt_step ORDER BY x') JOIN gbt_step ON x = n ORDER BY 1;

-- the stored row: stages, settings, metrics and importance readable in SQL
SELECT name, rows, jsonb_typeof(model) AS model, jsonb_array_length(stages->'stages') AS stages,
       params->'max_iter' AS max_iter, params->'features' AS features,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) AS k) AS metrics,
       (SELECT round(sum(v::numeric), 6) FROM jsonb_each_text(feature_importance) AS e(f, v)) AS importance_sum
  FROM ipflow.gbt_models WHERE name = 'chrono';

-- export and import: the same model predicts the same
SELECT ipflow.gbt_export('chrono', :'datadir' || '/gbt_chrono.json') > 0 AS exported;
SELECT ipflow.gbt_import(:'datadir' || '/gbt_chrono.json') AS imported_as;
SELECT ipflow.gbt_import(:'datadir' || '/gbt_chrono.json', 'chrono_copy') AS imported_as;
SELECT pg_read_file(:'datadir' || '/gbt_chrono.json')::jsonb = model AS file_is_model FROM ipflow.gbt_models WHERE name = 'chrono';
SELECT a.model = b.model AS same_model, b.metrics IS NULL AS no_metrics, b.rows IS NULL AS no_rows,
       b.params = a.model->'params' AS params
  FROM ipflow.gbt_models a, ipflow.gbt_models b WHERE a.name = 'chrono' AND b.name = 'chrono_copy';
SELECT count(*) AS rows, count(*) FILTER (WHERE p.prediction = q.prediction
                                 AND p.prediction = ipflow.gbt_predict('chrono_copy', to_jsonb(h))) AS equal
  FROM ipflow.gbt_predict('chrono', 'SELECT * FROM gbt_hand') AS p
  JOIN ipflow.gbt_predict('chrono_copy', 'SELECT * FROM gbt_hand') AS q USING (n)
  JOIN (SELECT *, lag(y) OVER (PARTITION BY src_ip ORDER BY ts) AS prev_y FROM gbt_hand) AS h
    ON p.key = jsonb_build_object('src_ip', h.src_ip, 'ts', h.ts);

-- the cache follows the stored row: retrained, rolled back, deleted
SELECT round(ipflow.gbt_predict('enc', '{"a": 1}'::jsonb)::numeric, 4) AS before;
SELECT ipflow.gbt_train('enc', 'SELECT * FROM gbt_hand', 'y', '{"max_iter": 0, "split": {"test_fraction": 0}}') -> 'trees' AS trees;
SELECT round(ipflow.gbt_predict('enc', '{"a": 1}'::jsonb)::numeric, 4) AS mean_of_y;
BEGIN;
SELECT ipflow.gbt_train('enc', 'SELECT * FROM gbt_hand WHERE y < 50', 'y', '{"max_iter": 0, "split": {"test_fraction": 0}}') -> 'trees' AS trees;
SELECT round(ipflow.gbt_predict('enc', '{"a": 1}'::jsonb)::numeric, 4) AS in_transaction;
ROLLBACK;
SELECT round(ipflow.gbt_predict('enc', '{"a": 1}'::jsonb)::numeric, 4) AS after_rollback;
DELETE FROM ipflow.gbt_models WHERE name = 'enc';
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('enc', '{"a": 1}'::jsonb)$$);

-- key columns of the set-based form
SELECT n, key FROM ipflow.gbt_predict('chrono', 'SELECT * FROM gbt_hand WHERE a = 1 ORDER BY src_ip;', ARRAY['note', 'a']);
SELECT count(*) FILTER (WHERE key IS NULL) AS no_key FROM ipflow.gbt_predict('chrono', 'SELECT * FROM gbt_hand', '{}');

-- bad input: NULL arguments
SELECT pg_temp.fails($$SELECT ipflow.gbt_train(NULL, 'SELECT * FROM gbt_hand', 'y')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', NULL, 'y')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', NULL)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', NULL)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict(NULL, '{}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', NULL::jsonb)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.gbt_predict('chrono', NULL::text)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_export('chrono', NULL)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_import(NULL)$$);
-- unknown and wrongly typed columns
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'z')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'note')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"features": ["a", "c"]}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"features": ["note"]}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"features": ["y"]}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"categorical": ["kind"]}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y',
    '{"lag": {"input": "y", "partition_by": "src_ip", "order_by": "b"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"split": {"kind": "column", "column": "note"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT a, a FROM gbt_hand', 'a')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT y, ''Infinity''::float8 AS a FROM gbt_hand', 'y')$$);
-- not a query, no rows, too few rows
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'DELETE FROM gbt_hand', 'y')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand WHERE false', 'y')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT a, NULL::float8 AS y FROM gbt_hand', 'y')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand LIMIT 1', 'y', '{"split": {"kind": "chronological"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT *, false AS never FROM gbt_hand', 'y', '{"split": {"kind": "column", "column": "never"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT y FROM gbt_hand', 'y')$$);
-- bad params: names the key and the allowed range
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '[]')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"maxDepth": 3}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"max_depth": 17}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"max_iter": 2.5}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"max_bins": "32"}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"step_size": 0}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"subsampling_rate": 1.5}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"min_instances_per_node": 0}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"min_info_gain": -1}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"lambda": 1e13}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"seed": -1}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"drop_last": 1}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"features": "a"}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"features": ["a", "a"]}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"lag": {"input": "y", "order_by": "ts"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"lag": {"input": "y", "by": "src_ip"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"split": {"kind": "shuffle"}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"split": {"test_fraction": 1}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"split": {"kind": "chronological", "seed": 1}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT * FROM gbt_hand', 'y', '{"split": {"fraction": 0.2}}')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('', 'SELECT * FROM gbt_hand', 'y')$$);
-- the feature matrix must fit in maintenance_work_mem
SET maintenance_work_mem = '1MB';
SELECT pg_temp.fails($$SELECT ipflow.gbt_train('m', 'SELECT x, x AS y FROM generate_series(1, 200000) AS x', 'y')$$);
RESET maintenance_work_mem;
-- unknown models, malformed rows, queries in place of rows
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('nope', '{}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.gbt_predict('nope', 'SELECT * FROM gbt_hand')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_export('nope', '/tmp/nope.json')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '[1, 2]'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '3'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '{"a": "three"}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '{"a": true}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '{"src_ip": {"ip": 1}}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono', '{"a": 1e400}'::jsonb)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.gbt_predict('chrono', '{"a": 1}')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.gbt_predict('chrono', 'SELECT a FROM gbt_hand')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.gbt_predict('chrono', 'SELECT * FROM gbt_hand', ARRAY['nope'])$$);
-- paths: relative, unwritable, unreadable, not a file
SELECT pg_temp.fails($$SELECT ipflow.gbt_export('chrono', 'model.json')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_export('chrono', '/nonexistent/dir/model.json')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_export('chrono', '/')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_import('/nonexistent/model.json')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_import('/', 'root')$$);
SELECT pg_temp.fails($$SELECT ipflow.gbt_import('/')$$);
-- corrupt and hostile files are refused with the reason, and store nothing
\set bad :datadir/gbt_bad.json
\set good :datadir/gbt_chrono.json
COPY (SELECT '{"format": "ipflow-gbt", "version": 2}') TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
COPY (SELECT '{"format": "ipflow-gbt", "vers') TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
COPY (SELECT repeat('[', 100000)) TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
-- the first tree's root pointing at itself; a feature index out of range
COPY (SELECT regexp_replace(replace(pg_read_file(:'good'), E'\n', ' '), '"left": \[[0-9]+', '"left": [0')) TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
COPY (SELECT regexp_replace(replace(pg_read_file(:'good'), E'\n', ' '), '"feature": \[[0-9]+', '"feature": [99')) TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
-- an extra key, a repeated key
COPY (SELECT replace(replace(pg_read_file(:'good'), E'\n', ' '), '"base_score"', '"note": 1, "base_score"')) TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
COPY (SELECT replace(replace(pg_read_file(:'good'), E'\n', ' '), '"base_score"', '"n_features": 1, "base_score"')) TO :'bad';
SELECT pg_temp.fails(format($$SELECT ipflow.gbt_import(%L)$$, :'bad'));
SELECT count(*) AS stored FROM ipflow.gbt_models WHERE name = 'gbt_bad';
-- a stored model edited by hand is refused when decoded, not trusted
UPDATE ipflow.gbt_models SET model = jsonb_set(model, '{base_score}', '"x"') WHERE name = 'chrono_copy';
SELECT pg_temp.fails($$SELECT ipflow.gbt_predict('chrono_copy', '{}'::jsonb)$$);

SELECT name FROM ipflow.gbt_models ORDER BY name;
DELETE FROM ipflow.gbt_models;
DROP TABLE gbt_hand, gbt_step;
