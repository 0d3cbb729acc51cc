-- Anomaly detection from SQL: causal scores of any series, the evaluation
-- against the generator's ground truth, and detect() against stored
-- forecasts.  Series are deterministic (no random noise) so the output is.
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- three weeks of hourly traffic with a daily shape and a wobble, a spike at
-- hour 400, and a step to five times the level from hour 450 on
CREATE TEMP TABLE series AS
SELECT '2022-01-03'::timestamptz + i * interval '1 hour' AS ts,
       round((1000 + 400 * sin(2 * pi() * i / 24) + 60 * sin(i * 7.3))
             * CASE WHEN i = 400 THEN 20 WHEN i >= 450 THEN 5 ELSE 1 END)::float8 AS value, i
  FROM generate_series(0, 503) AS i;

-- every point comes back, in order, with a score in [0, 1)
SELECT count(*) AS points, bool_and(score >= 0 AND score < 1) AS scores_in_range,
       bool_and(lower <= expected AND expected <= upper) AS bands_ordered
  FROM ipflow.anomaly_scores((SELECT array_agg(ts ORDER BY ts) FROM series),
                             (SELECT array_agg(value ORDER BY ts) FROM series));

-- the alarms: the spike, and the step once
SELECT s.i, a.value, round(a.expected) AS expected, round(a.score::numeric, 3) AS score
  FROM ipflow.anomaly_scores((SELECT array_agg(ts ORDER BY ts) FROM series),
                             (SELECT array_agg(value ORDER BY ts) FROM series)) a
  JOIN series s USING (ts)
 WHERE a.score >= 0.99
 ORDER BY a.ts;

-- causal: the scores of the first 420 points are those they had in the whole series
SELECT count(*) AS differing
  FROM ipflow.anomaly_scores((SELECT array_agg(ts ORDER BY ts) FROM series WHERE i < 420),
                             (SELECT array_agg(value ORDER BY ts) FROM series WHERE i < 420)) p
  JOIN ipflow.anomaly_scores((SELECT array_agg(ts ORDER BY ts) FROM series),
                             (SELECT array_agg(value ORDER BY ts) FROM series)) w USING (ts)
 WHERE p.score <> w.score OR p.expected <> w.expected;

-- settings: a stricter alert raises fewer alarms
SELECT count(*) FILTER (WHERE score >= 0.99) AS alarms
  FROM ipflow.anomaly_scores((SELECT array_agg(ts ORDER BY ts) FROM series),
                             (SELECT array_agg(value ORDER BY ts) FROM series),
                             '{"alert_z": 1000, "timing": false}');

-- one point: nothing to compare it with
SELECT value, expected, score FROM ipflow.anomaly_scores(ARRAY['2022-01-03 08:00+00'::timestamptz], ARRAY[5.0::float8]);

-- bad input
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz], ARRAY[1.0::float8, 2.0]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz, NULL], ARRAY[1.0::float8, 2.0]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz, '2022-01-04'], ARRAY[1.0::float8, NULL]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-04'::timestamptz, '2022-01-03'], ARRAY[1.0::float8, 2.0]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz, '2022-01-03'], ARRAY[1.0::float8, 2.0]);
SELECT * FROM ipflow.anomaly_scores(ARRAY[]::timestamptz[], ARRAY[]::float8[]);
SELECT * FROM ipflow.anomaly_scores(NULL, ARRAY[1.0::float8]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['infinity'::timestamptz], ARRAY[1.0::float8]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz], ARRAY['NaN'::float8]);
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz], ARRAY[1.0::float8], '{"alert": 3}');
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz], ARRAY[1.0::float8], '{"level_rate": 2}');
SELECT * FROM ipflow.anomaly_scores(ARRAY['2022-01-03'::timestamptz], ARRAY[1.0::float8], '[]');

-- evaluation, by hand: two IPs; a spike (found at once), a three-hour
-- silence (found when traffic comes back, two hours late), an off-calendar
-- event (missed); two alarms right (one on two features), one wrong, and
-- one of another source
INSERT INTO ipflow.generated_anomalies (src_ip, ts, feature, kind, expected, value, starts_at, hours, seed) VALUES
  ('10.0.0.1', '2022-01-05 10:00+00', 'bytesin', 'spike', 100, 900, '2022-01-05 10:00+00', 1, 1),
  ('10.0.0.1', '2022-01-06 09:00+00', NULL, 'silence', NULL, NULL, '2022-01-06 09:00+00', 2, 1),
  ('10.0.0.1', '2022-01-06 10:00+00', NULL, 'silence', NULL, NULL, '2022-01-06 09:00+00', 2, 1),
  ('10.0.0.2', '2022-01-08 03:00+00', NULL, 'off_calendar', NULL, NULL, '2022-01-08 03:00+00', 1, 1);
INSERT INTO ipflow.anomalies (src_ip, feature, ts, value, score, source) VALUES
  ('10.0.0.1', 'bytesin', '2022-01-05 10:00+00', 900, 0.999, 'stream'),
  ('10.0.0.1', 'pkts_received', '2022-01-05 10:00+00', 90, 0.995, 'stream'),
  ('10.0.0.1', 'bytesin', '2022-01-06 11:00+00', 80, 0.993, 'stream'),
  ('10.0.0.2', 'drop', '2022-01-07 12:00+00', 50, 0.991, 'stream'),
  ('10.0.0.1', 'bytesin', '2022-01-05 12:00+00', 95, 0.5, 'forecast');
SELECT kind, incidents, found, round(recall::numeric, 3) AS recall, alarms, right_alarms,
       round("precision"::numeric, 3) AS "precision", round(f1::numeric, 3) AS f1, mean_delay, max_delay
  FROM ipflow.evaluate_anomalies('2022-01-01', '2022-02-01');
-- another source, another window
SELECT kind, incidents, found, alarms, right_alarms, round("precision"::numeric, 3) AS "precision"
  FROM ipflow.evaluate_anomalies('2022-01-01', '2022-02-01', 'forecast') WHERE kind = 'all';
SELECT kind, incidents, found, alarms FROM ipflow.evaluate_anomalies('2022-01-06', '2022-01-07') WHERE kind IN ('all', 'silence');
DELETE FROM ipflow.anomalies;
DELETE FROM ipflow.generated_anomalies;

-- detect(): actual values against forecasts inserted by hand
INSERT INTO ipflow.events (src_ip, ts, bytesin, pkts_sent) VALUES
  ('10.0.0.1', '2022-01-05 10:00+00', 1000, 10),
  ('10.0.0.1', '2022-01-05 11:00+00', 1500, 10),
  ('10.0.0.1', '2022-01-05 12:00+00', 100, 10),
  ('10.0.0.1', '2022-01-05 13:00+00', NULL, 100),
  ('10.0.0.2', '2022-01-05 10:00+00', 1000, 10);
INSERT INTO ipflow.forecasts (src_ip, feature, ds, yhat, yhat_lower, yhat_upper, trained_at)
SELECT '10.0.0.1'::inet, 'bytesin', '2022-01-05 09:00+00'::timestamptz + h * interval '1 hour', 1000, 800, 1200, '2022-01-05'::timestamptz
  FROM generate_series(1, 5) AS h
UNION ALL
SELECT '10.0.0.1', 'pkts_sent', '2022-01-05 09:00+00'::timestamptz + h * interval '1 hour', 10, 5, 15, '2022-01-05'
  FROM generate_series(1, 5) AS h;
SELECT ipflow.detect('bytesin', '2022-01-01') AS flagged;
SELECT src_ip, feature, ts, value, expected, lower, upper, round(score::numeric, 4) AS score, source
  FROM ipflow.anomalies ORDER BY src_ip, feature, ts;
SELECT feature, ds, y FROM ipflow.forecasts ORDER BY feature, ds;
-- idempotent: nothing new the second time; all features at once
SELECT ipflow.detect('bytesin', '2022-01-01') AS again;
SELECT ipflow.detect(since => '2022-01-01') AS all_features;
SELECT feature, ts, value, round(score::numeric, 4) AS score FROM ipflow.anomalies ORDER BY feature, ts;
-- a later forecast moves the interval: the anomaly follows it
UPDATE ipflow.forecasts SET yhat_upper = 1400 WHERE feature = 'bytesin';
SELECT ipflow.detect('bytesin', '2022-01-01') AS changed;
SELECT feature, ts, upper, round(score::numeric, 4) AS score FROM ipflow.anomalies WHERE feature = 'bytesin' ORDER BY ts;
-- only since the given time
SELECT ipflow.detect('pkts_sent', '2022-01-06') AS none_since;
-- names are validated, not interpolated
SELECT ipflow.detect('bytes_in');
SELECT ipflow.detect('bytesin"; DROP TABLE ipflow.events; --');
SELECT ipflow.detect('bytesin', NULL);
DELETE FROM ipflow.anomalies;
DELETE FROM ipflow.forecasts;
DELETE FROM ipflow.events;
