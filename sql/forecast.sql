-- Forecasting from SQL: ipflow.forecast, ipflow.backtest and ipflow.train on
-- hand-made business-hours series (weekdays 08-17 UTC, hourly), their
-- calendar, intervals and determinism, parallel against serial training,
-- real values merged into earlier forecasts, and every bad input.
SET extra_float_digits = 0;
SET timezone = 'UTC';

CREATE FUNCTION pg_temp.fails(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; detail text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN st || ' ' || msg || coalesce(' DETAIL: ' || nullif(detail, ''), '')
           || coalesce(' HINT: ' || nullif(hint, ''), '');
END $$;

-- Six weeks of business hours: a daily shape around a level of 40 with
-- uniform noise in [-3, 3] (198.51.100.1), counts near zero
-- (198.51.100.2), and an IP with five samples (198.51.100.3).  The first
-- four weeks are dumped history, the rest still events.
CREATE TEMP TABLE hours AS
SELECT ts, i, ('x' || substr(md5(i::text), 1, 6))::bit(24)::int / 16777216.0 * 6 - 3 AS noise
  FROM (SELECT ts, row_number() OVER (ORDER BY ts) AS i
          FROM generate_series('2022-01-03 00:00+00'::timestamptz, '2022-02-11 23:00+00', '1 hour') AS ts
         WHERE extract(isodow FROM ts) <= 5 AND extract(hour FROM ts) BETWEEN 8 AND 17) h;
SELECT count(*) AS business_hours FROM hours;

INSERT INTO ipflow.history (src_ip, feature, ds, value)
SELECT '198.51.100.1', 'unq_dst_ip', ts,
       40 + 15 * sin(pi() * (extract(hour FROM ts) - 8) / 9) + noise
  FROM hours WHERE ts < '2022-01-31';
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, frequency)
SELECT '198.51.100.1', ts,
       round(40 + 15 * sin(pi() * (extract(hour FROM ts) - 8) / 9) + noise),
       (i % 3)
  FROM hours WHERE ts >= '2022-01-31' AND ts < '2022-02-10';
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, frequency)
SELECT '198.51.100.2', ts, CASE WHEN i % 9 = 0 THEN 1 ELSE 0 END, 0 FROM hours WHERE ts < '2022-02-10';
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, frequency)
SELECT '198.51.100.3', ts, 5, 5 FROM hours WHERE ts < '2022-01-04';
-- train() fits the IPs ingestion has seen
INSERT INTO ipflow.ips (src_ip, events, first_ts, last_ts, feature_count)
SELECT src_ip, count(*), min(ts), max(ts), ARRAY[count(*), 0, 0, count(*), 0, 0, 0, 0, 0]
  FROM ipflow.events WHERE src_ip << '198.51.100.0/24' GROUP BY src_ip;

-- history and events make one series
SELECT count(*) AS points FROM ipflow.history WHERE src_ip = '198.51.100.1';

-- the next 8 business hours after Wednesday 2022-02-09 17:00: Thursday 08-15
CREATE TEMP TABLE f1 AS SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8);
SELECT ds, yhat_lower <= yhat AND yhat <= yhat_upper AS ordered,
       yhat BETWEEN 20 AND 60 AS plausible, yhat_upper - yhat_lower BETWEEN 1 AND 30 AS width
  FROM f1 ORDER BY ds;
-- the daily shape: the forecast peaks in the middle of the day
SELECT extract(hour FROM ds) AS peak_hour FROM f1 ORDER BY yhat DESC LIMIT 1;
-- deterministic: the same fit gives the same numbers
SELECT count(*) AS differences
  FROM (SELECT * FROM f1 EXCEPT SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8)) d;
-- 30 points ahead cross the weekend: Thursday, Friday, Monday
SELECT to_char(ds, 'Dy') AS day, count(*), min(extract(hour FROM ds)) AS first, max(extract(hour FROM ds)) AS last
  FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 30) GROUP BY 1, date_trunc('day', ds) ORDER BY date_trunc('day', ds);
-- counts near zero: no prediction or bound below zero
SELECT bool_and(yhat >= 0 AND yhat_lower >= 0) AS nonnegative
  FROM ipflow.forecast('198.51.100.2', 'unq_dst_ip', 50);
-- Prophet's settings are accepted
SELECT count(*) FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8,
    '{"growth": "linear", "daily_seasonality": true, "seasonality_mode": "multiplicative",
      "interval_width": 0.95, "loss": "squared", "level_window": 0}');

-- rolling origins over the last 40 %
SELECT origins, points, mae < naive_mae AS beats_naive, mase < 1 AS mase_below_1,
       coverage BETWEEN 0.8 AND 1 AS coverage_ok, smape BETWEEN 0 AND 2 AS smape_ok, rmse >= mae AS rmse_ok
  FROM ipflow.backtest('198.51.100.1', 'unq_dst_ip', 10, 8);

-- training in the calling backend, then in workers: the same models and forecasts
SET ipflow.train_workers = 0;
SELECT models, skipped, failed, workers FROM ipflow.train('unq_dst_ip');
CREATE TEMP TABLE serial_models AS SELECT src_ip, feature, model::text AS model, n_points, history_from, history_until FROM ipflow.models;
CREATE TEMP TABLE serial_forecasts AS SELECT src_ip, feature, ds, y, yhat, yhat_lower, yhat_upper FROM ipflow.forecasts;
SET ipflow.train_workers = 2;
SELECT models, skipped, failed, workers > 0 AS in_workers FROM ipflow.train('unq_dst_ip');
SELECT count(*) AS model_differences FROM (
    (SELECT src_ip, feature, model::text, n_points, history_from, history_until FROM ipflow.models
     EXCEPT SELECT * FROM serial_models)
    UNION ALL
    (SELECT * FROM serial_models EXCEPT
     SELECT src_ip, feature, model::text, n_points, history_from, history_until FROM ipflow.models)) d;
SELECT count(*) AS forecast_differences FROM (
    SELECT src_ip, feature, ds, y, yhat, yhat_lower, yhat_upper FROM ipflow.forecasts
    EXCEPT SELECT * FROM serial_forecasts) d;
-- the stored forecast is the on-the-fly one
SELECT count(*) AS differences FROM (
    SELECT ds, yhat, yhat_lower, yhat_upper FROM ipflow.forecasts WHERE src_ip = '198.51.100.1'
    EXCEPT SELECT * FROM f1) d;
SELECT src_ip, feature, n_points, history_until, horizon, fit_ms > 0 AS timed,
       model->>'version' AS version, params
  FROM ipflow.models ORDER BY src_ip;
-- one trained_at per training
SELECT count(DISTINCT trained_at) FROM ipflow.models;

-- Thursday's values arrive; the next training keeps Thursday's forecast rows,
-- fills in their y, and forecasts the following hours
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip)
SELECT '198.51.100.1', ds, round(yhat) + 1 FROM f1;
SELECT models FROM ipflow.train('unq_dst_ip', 8);
SELECT count(*) AS rows, count(y) AS with_y, min(ds) AS first, max(ds) AS last,
       count(*) FILTER (WHERE y = round(yhat_before) + 1) AS y_is_the_new_value
  FROM ipflow.forecasts f
  LEFT JOIN (SELECT ds, yhat AS yhat_before FROM f1) b USING (ds)
 WHERE src_ip = '198.51.100.1';
-- the earlier rows still hold the forecast made before the values came
SELECT count(*) AS kept FROM ipflow.forecasts f JOIN f1 USING (ds, yhat)
 WHERE f.src_ip = '198.51.100.1';
-- a shorter horizon drops the future rows it no longer covers
SELECT models FROM ipflow.train('unq_dst_ip', 3);
SELECT count(*) FILTER (WHERE y IS NULL) AS future, count(y) AS past
  FROM ipflow.forecasts WHERE src_ip = '198.51.100.1';

-- every feature: frequency of 198.51.100.1 is a wiggle, of .2 constant zero
SELECT models, skipped, failed FROM ipflow.train(NULL, 4);
SELECT feature, count(*) FROM ipflow.models GROUP BY feature ORDER BY feature;

-- bad input
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast(NULL, 'unq_dst_ip')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8, NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'nope')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip; DROP TABLE ipflow.events')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 0)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', -3)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 1000000)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8, '{"changepoint_prior": 0.1}')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8, '{"interval_width": 1.5}')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8, '{"seasonality_mode": "both"}')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.1', 'unq_dst_ip', 8, '[1, 2]')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.99', 'unq_dst_ip')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.forecast('198.51.100.3', 'unq_dst_ip')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.backtest('198.51.100.1', 'unq_dst_ip', 0)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.backtest('198.51.100.1', 'unq_dst_ip', 20, 0)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.backtest('198.51.100.1', 'unq_dst_ip', 20, 8, '{}', 1)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.backtest('198.51.100.1', 'unq_dst_ip', 20, 8, NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.train('nope')$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.train('unq_dst_ip', 0)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.train('unq_dst_ip', 8, NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM ipflow.train('unq_dst_ip', 8, '{"n_changepoints": -1}')$$);
-- nothing was changed by the failures
SELECT count(*) FROM ipflow.models;

DELETE FROM ipflow.forecasts WHERE src_ip << '198.51.100.0/24';
DELETE FROM ipflow.models WHERE src_ip << '198.51.100.0/24';
DELETE FROM ipflow.ips WHERE src_ip << '198.51.100.0/24';
DELETE FROM ipflow.events WHERE src_ip << '198.51.100.0/24';
DELETE FROM ipflow.history WHERE src_ip << '198.51.100.0/24';
