-- The traffic generator from SQL: real events loaded from logs.csv, one
-- profile learned per real IP, deterministic synthetic traffic with its
-- ground truth, and the errors of bad arguments.  Nothing here needs Kafka.
\getenv abs_srcdir PG_ABS_SRCDIR
SET timezone = 'UTC';
SELECT ipflow.load_csv(:'abs_srcdir' || '/data/logs.csv') AS loaded;
SELECT src_ip, count(*), min(ts), max(ts), sum(bytesin) AS bytesin
  FROM ipflow.real_events GROUP BY 1 ORDER BY 1;

SELECT name, source_ip, rows, active_hours, relations @> '{frequency_is_allow_plus_drop}' AS sum_relation
  FROM ipflow.learn_profiles('ipflow.real_events');
-- from a query too; learning again replaces the profile
SELECT name, rows FROM ipflow.learn_profiles(
  'SELECT src_ip, ts, unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received, bytesin, bytesout,
          unq_dst_port FROM ipflow.real_events WHERE src_ip = ''46.39.79.251'';');
SELECT name, source_ip, rows, profile->'version' AS version, jsonb_array_length(profile->'calendar') AS days
  FROM ipflow.profiles ORDER BY name;

-- same seed, same rows in the same order; another seed, other IPs
CREATE TEMP TABLE a AS SELECT * FROM ipflow.generate_events(20, '2022-03-07', 336, 42);
CREATE TEMP TABLE b AS SELECT * FROM ipflow.generate_events(20, '2022-03-07', 336, 42);
CREATE TEMP TABLE c AS SELECT * FROM ipflow.generate_events(20, '2022-03-07', 336, 43);
SELECT (SELECT string_agg(payload, E'\n') FROM a) = (SELECT string_agg(payload, E'\n') FROM b) AS same_seed_same_rows,
       (SELECT count(*) FROM (SELECT src_ip FROM a INTERSECT SELECT src_ip FROM c) d) = 0 AS other_seed_other_ips,
       (SELECT count(*) FROM a) <> (SELECT count(*) FROM c)
         OR (SELECT string_agg(payload, E'\n') FROM a) <> (SELECT string_agg(payload, E'\n') FROM c) AS other_rows;
-- 20 public IPs, one event per IP-hour at most, within the two weeks asked for
SELECT count(DISTINCT src_ip) AS ips,
       count(*) = count(DISTINCT (src_ip, date_trunc('hour', ts))) AS one_per_ip_hour,
       min(ts) >= '2022-03-07' AND max(ts) < '2022-03-21' AS in_range,
       count(*) > 20 * 10 * 11 * 0.5 AS plenty,
       bool_and(NOT (src_ip << '10.0.0.0/8' OR src_ip << '172.16.0.0/12' OR src_ip << '192.168.0.0/16'
                     OR src_ip << '224.0.0.0/4' OR src_ip << '127.0.0.0/8')) AS public
  FROM a;
-- the payload is the original JSON and says what the columns say
SELECT DISTINCT (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(payload::jsonb) AS k) AS keys FROM a;
SELECT count(*) AS payload_mismatches FROM a, LATERAL (SELECT payload::jsonb AS p) AS j
 WHERE (p->>'src_ip')::inet <> src_ip OR ((p->>'timestamp')::timestamp AT TIME ZONE 'UTC') <> ts
    OR (p->>'unq_dst_ip')::bigint <> unq_dst_ip OR (p->>'allow')::bigint <> allow
    OR (p->>'drop')::bigint <> "drop" OR (p->>'frequency')::bigint <> frequency
    OR (p->>'pkts_sent')::bigint <> pkts_sent OR (p->>'pkts_received')::bigint <> pkts_received
    OR (p->>'bytesin')::bigint <> bytesin OR (p->>'bytesout')::bigint <> bytesout
    OR (p->>'unq_dst_port')::bigint <> unq_dst_port
    OR jsonb_typeof(p->'allow') <> 'string';
-- the relations of the real data hold on every row
SELECT bool_and(frequency = allow + "drop") AS frequency_is_allow_plus_drop,
       bool_and(unq_dst_port <= unq_dst_ip) AS ports_le_ips,
       bool_and(unq_dst_ip <= frequency) AS ips_le_frequency,
       bool_and(frequency <= pkts_sent) AS frequency_le_pkts_sent,
       bool_and(allow > 0 OR pkts_received = 0) AS no_allow_no_received
  FROM a;
-- the calendar: weekdays 08-18 UTC, except events recorded as off_calendar
SELECT count(*) AS unexplained_off_hours FROM a
 WHERE NOT (extract(isodow FROM ts) BETWEEN 1 AND 5 AND extract(hour FROM ts) BETWEEN 8 AND 18)
   AND NOT EXISTS (SELECT FROM ipflow.generated_anomalies g
                    WHERE g.seed = 42 AND g.src_ip = a.src_ip AND g.ts = a.ts AND g.kind = 'off_calendar');
-- the ground truth agrees with the events: values sent, silenced hours empty
SELECT count(DISTINCT kind) AS kinds, count(*) > 0 AS recorded,
       count(*) FILTER (WHERE feature IS NOT NULL AND value <= expected AND kind <> 'level_shift') AS not_raised
  FROM ipflow.generated_anomalies WHERE seed = 42;
SELECT count(*) AS wrong_values FROM ipflow.generated_anomalies g JOIN a USING (src_ip, ts)
 WHERE g.seed = 42 AND g.feature IS NOT NULL AND g.value <> (to_jsonb(a) ->> g.feature)::bigint;
SELECT count(*) AS events_in_silence FROM ipflow.generated_anomalies g JOIN a USING (src_ip, ts)
 WHERE g.seed = 42 AND g.kind = 'silence';
SELECT count(*) AS anomalies_without_event FROM ipflow.generated_anomalies g
 WHERE g.seed = 42 AND g.kind <> 'silence' AND NOT EXISTS (SELECT FROM a WHERE (a.src_ip, a.ts) = (g.src_ip, g.ts));
-- generating the same traffic again writes the same ground truth, not more
SELECT count(*) AS truth FROM ipflow.generated_anomalies WHERE seed = 42 \gset
SELECT count(*) > 0 AS generated FROM ipflow.generate_events(20, '2022-03-07', 336, 42);
SELECT count(*) = :truth AS same_truth FROM ipflow.generated_anomalies WHERE seed = 42;

-- options
SELECT count(*) > 0 AS events FROM ipflow.generate_events(10, '2022-03-07', 168, 1, '{"anomaly_rate": 0}');
SELECT count(*) AS anomalies FROM ipflow.generated_anomalies WHERE seed = 1;
SELECT count(*) > 0 AS events FROM ipflow.generate_events(10, '2022-03-07', 168, 2,
  '{"anomaly_rate": 0.3, "anomaly_kinds": ["spike", "scan_burst"], "profiles": ["187.44.158.33"]}');
SELECT kind, profile FROM ipflow.generated_anomalies WHERE seed = 2 GROUP BY 1, 2 ORDER BY 1, 2;
-- an anomaly wherever one can start: far more ground truth than one batch holds
SELECT count(*) > 0 AS events FROM ipflow.generate_events(30, '2022-03-07', 336, 44, '{"anomaly_rate": 1}');
SELECT count(*) > 1000 AS many, count(*) FILTER (WHERE ts IS NULL OR starts_at IS NULL OR kind IS NULL) AS incomplete
  FROM ipflow.generated_anomalies WHERE seed = 44;
SELECT bool_and(ts < date_trunc('hour', ts) + interval '1 hour') AND bool_or(ts <> date_trunc('hour', ts)) AS jittered
  FROM ipflow.generate_events(10, '2022-03-07', 48, 3, '{"time_jitter": 3599}');

-- bad arguments
SELECT * FROM ipflow.generate_events(-1, '2022-03-07', 24, 1);
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 0, 1);
SELECT * FROM ipflow.generate_events(NULL, '2022-03-07', 24, 1);
SELECT * FROM ipflow.generate_events(1, NULL, 24, 1);
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, NULL);
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, NULL);
SELECT * FROM ipflow.generate_events(1, 'infinity', 24, 1);
SELECT * FROM ipflow.generate_events(1, '1960-01-01', 24, 1);
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"bogus": 1}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"anomaly_rate": 2}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"anomaly_kinds": ["meteor"]}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '[]');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"profiles": ["nope"]}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"profiles": "46.39.79.251"}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"profiles": ["46.39.79.251", 7]}');
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"profiles": []}');
BEGIN;
UPDATE ipflow.profiles SET profile = profile - 'calendar' WHERE name = '229.46.205.74';
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1);
ROLLBACK;
BEGIN;
DELETE FROM ipflow.profiles;
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1);
ROLLBACK;
BEGIN;
DELETE FROM ipflow.profiles;
SELECT * FROM ipflow.generate_events(1, '2022-03-07', 24, 1, '{"profiles": ["46.39.79.251"]}');
ROLLBACK;
SELECT * FROM ipflow.learn_profiles(NULL);
SELECT * FROM ipflow.learn_profiles('no_such_table');
SELECT * FROM ipflow.learn_profiles('SELECT 1 AS src_ip, now() AS ts');
SELECT * FROM ipflow.learn_profiles('SELECT * FROM ipflow.real_events WHERE false');
SELECT * FROM ipflow.learn_profiles('SELECT src_ip, ts, -unq_dst_ip AS unq_dst_ip, allow, "drop", frequency,
  pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port FROM ipflow.real_events');
SELECT * FROM ipflow.learn_profiles('SELECT NULL::inet AS src_ip, now() AS ts, 1 AS unq_dst_ip, 1 AS allow,
  1 AS "drop", 1 AS frequency, 1 AS pkts_sent, 1 AS pkts_received, 1 AS bytesin, 1 AS bytesout, 1 AS unq_dst_port');
SELECT ipflow.load_csv(NULL);
SELECT ipflow.load_csv('/nonexistent/logs.csv');
SELECT ipflow.load_csv('/', NULL);
SELECT ipflow.load_csv(:'abs_srcdir' || '/data/logs.csv', 'ipflow.topics');
-- loading the same rows twice breaks the key, and loads nothing
\set VERBOSITY terse
SELECT ipflow.load_csv(:'abs_srcdir' || '/data/logs.csv') IS NULL;
\set VERBOSITY default
SELECT count(*) FROM ipflow.real_events;
-- sending checks its arguments before it connects (no topic is known here)
SELECT ipflow.send(NULL);
SELECT ipflow.send('SELECT 1 AS src_ip');
SELECT ipflow.send('SELECT * FROM ipflow.real_events');
SELECT ipflow.send(-1, '2022-03-07', 24, 1);
SELECT ipflow.send(1, '2022-03-07', 24, 1, '{"bogus": true}');
CALL ipflow.send_json_dir(NULL);
CALL ipflow.send_json_dir('/nonexistent/cl_logs');
SELECT * FROM ipflow.start_sender(10, '2022-03-07', 1, events_per_second => 10, seconds_per_hour => 20);
SELECT * FROM ipflow.start_sender(10, '2022-03-07', 1, events_per_second => 0);
SELECT * FROM ipflow.start_sender(10, '2022-03-07', 1, seconds_per_hour => -1);
SELECT * FROM ipflow.start_sender(0, '2022-03-07', 1);
SELECT * FROM ipflow.start_sender(10, '2022-03-07', NULL);
SELECT * FROM ipflow.start_sender(10, '2022-03-07', 1);
SELECT * FROM ipflow.start_sender();
SELECT ipflow.stop_sender();
SELECT count(*) FROM ipflow.sender;
