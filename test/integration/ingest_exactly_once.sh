#!/usr/bin/env bash
# Events produced to LogTopic arrive in ipflow.events exactly once; resending
# them changes nothing; malformed messages interleaved with good ones land
# in ipflow.rejects with a reason and cost no good event; ip_stats and the
# aggregate topic agree with the events.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$(cd "$here/../.." && pwd)/data/seed-config.json')::jsonb)" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects" >/dev/null

echo "1..15"

# 1. 40 IPs x 100 hours = 4000 events, once
generate_events 40 100 '2022-03-01 00:00' 7 >"$work/good"
n=$(wc -l <"$work/good")
before=$(stat_sum messages)
produce LogTopic <"$work/good"
ok_wait "SELECT count(*) FROM ipflow.events" "$n" 60 "all $n events arrive"

sql >"$work/check" <<SQL
CREATE TEMP TABLE sent (key text, payload jsonb);
\copy sent FROM '$work/good'
SELECT count(*) FROM (
  (SELECT key::inet, count(*), sum((payload->>'bytesin')::bigint), sum((payload->>'allow')::bigint),
          sum((payload->>'unq_dst_port')::bigint), min((payload->>'timestamp')::timestamptz)
     FROM sent GROUP BY 1
   EXCEPT
   SELECT src_ip, count(*), sum(bytesin), sum(allow), sum(unq_dst_port), min(ts) FROM ipflow.events GROUP BY 1)
  UNION ALL
  (SELECT src_ip, count(*), sum(bytesin), sum(allow), sum(unq_dst_port), min(ts) FROM ipflow.events GROUP BY 1
   EXCEPT
   SELECT key::inet, count(*), sum((payload->>'bytesin')::bigint), sum((payload->>'allow')::bigint),
          sum((payload->>'unq_dst_port')::bigint), min((payload->>'timestamp')::timestamptz)
     FROM sent GROUP BY 1)) AS diff;
SQL
is "$(cat "$work/check")" 0 "per-IP counts and checksums of events equal what was sent"

stats_mismatch="SELECT count(*) FROM (
  SELECT e.src_ip, f.feature, count(f.value) AS n, round(avg(f.value)::numeric, 6) AS mean,
         round(coalesce(var_samp(f.value), -1)::numeric, 4) AS var, min(f.value) AS lo, max(f.value) AS hi
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', \"drop\"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value)
   WHERE f.value IS NOT NULL GROUP BY 1, 2
  EXCEPT
  SELECT src_ip, feature, count, round(mean::numeric, 6), round(coalesce(variance, -1)::numeric, 4), min, max
    FROM ipflow.ip_stats) AS d"
is "$(sql -c "$stats_mismatch")" 0 "ip_stats (count, mean, variance, min, max) agree with events"
is "$(sql -c "SELECT count(*) FROM ipflow.ips i WHERE events <> (SELECT count(*) FROM ipflow.events e WHERE e.src_ip = i.src_ip)")" 0 \
    "ipflow.ips counts agree with events"
is "$(sql -c "SELECT count(*) FROM ipflow.ips")" 40 "40 IPs known"
snapshot="SELECT md5(string_agg(src_ip || feature || count || mean || m2 || min || max, ',' ORDER BY src_ip, feature)) FROM ipflow.ip_stats"
stats_before=$(sql -c "$snapshot")

# 2. the same events again: nothing changes, all counted as duplicates
dup_before=$(stat_sum duplicates)
produce LogTopic <"$work/good"
ok_wait "SELECT coalesce(sum(messages), 0) FROM ipflow.stats WHERE kind = 'ingest'" $((before + 2 * n)) 60 \
    "the resent events are consumed"
is "$(sql -c "SELECT count(*) FROM ipflow.events")" "$n" "resending inserts nothing"
is "$(( $(stat_sum duplicates) - dup_before ))" "$n" "every resent event is counted as a duplicate"
is "$(sql -c "$snapshot")" "$stats_before" "resending leaves ip_stats unchanged"

# 3. malformed messages interleaved with new good events
generate_events 40 20 '2022-06-01 00:00' 7 >"$work/good2"
nbad=$(wc -l <"$here/data/bad_events.txt")
paste -d '\n' "$work/good2" <(for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \
    21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; do cat "$here/data/bad_events.txt"; done | head -n 800) \
    | grep -v '^$' >"$work/mixed"
nbad_sent=$(grep -vc $'\t' "$work/mixed")
produce LogTopic <"$work/mixed"
ok_wait "SELECT count(*) FROM ipflow.events" $((n + 800)) 60 "every good event interleaved with bad ones is stored"
ok_wait "SELECT count(*) FROM ipflow.rejects" "$nbad_sent" 60 "every one of the $nbad_sent bad messages is in rejects"
is "$(sql -c "SELECT count(DISTINCT convert_from(payload, 'UTF8')) FROM ipflow.rejects")" "$nbad" \
    "all $nbad kinds of bad message were rejected"
is "$(sql -c "SELECT count(*) FROM ipflow.rejects WHERE reason IS NULL OR reason = '' OR topic <> 'LogTopic'")" 0 \
    "each reject has its topic and a reason"
is "$(sql -c "$stats_mismatch")" 0 "ip_stats still agree with events"

# 4. the aggregate topic: the last message of each IP matches ipflow.ips, on the IP's partition
kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t SparkStreamingTopic -e -q -f '%p\t%o\t%k\t%s\n' >"$work/aggregates"
sql >"$work/aggcheck" <<SQL
CREATE TEMP TABLE agg (partition int, "offset" bigint, key text, payload jsonb);
\copy agg FROM '$work/aggregates'
WITH last AS (
  SELECT DISTINCT ON (key) key, partition, payload FROM agg ORDER BY key, "offset" DESC
)
SELECT count(*) FILTER (WHERE (l.payload->>'events')::bigint = i.events
                          AND abs((l.payload->>'avg_unq_dst_ip')::float8 - s.mean) < 1e-9
                          AND l.partition = ipflow.partition_for(i.src_ip)),
       count(*)
  FROM ipflow.ips i
  JOIN ipflow.ip_stats s ON s.src_ip = i.src_ip AND s.feature = 'unq_dst_ip'
  LEFT JOIN last l ON l.key = host(i.src_ip);
SQL
is "$(cat "$work/aggcheck")" "40|40" "the latest aggregate of every IP matches ipflow.ips and ip_stats, on the IP's partition"
