#!/usr/bin/env bash
# The Redis mirror (the harness's plain redis-server: the sorted_set backend
# through ipflow.redis_backend = auto): ipflow.init() twice, mirror == events
# after a stream, Redis stopped mid-stream (ingestion goes on, the mirror
# catches up exactly), ipflow.dump() moving everything once, also when its
# delete step fails and is retried, and dump with Redis empty, down, or off.
# Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"; redis_cli ping >/dev/null 2>&1 || redis_start; redis_cli ACL SETUSER default on nopass "~*" "&*" +@all >/dev/null' EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects, ipflow.history, ipflow.mirror_progress" >/dev/null
redis_cli flushall >/dev/null

echo "1..18"

# every IP x feature: (count, sum) in events and in Redis, both ways
mirror_diff="WITH e AS (
  SELECT e.src_ip, f.feature, count(*) AS n, sum(f.value)::float8 AS total
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', \"drop\"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value)
   WHERE f.value IS NOT NULL GROUP BY 1, 2),
r AS (
  SELECT i.src_ip, f.feature, count(*) AS n, sum(s.value) AS total
    FROM ipflow.ips i CROSS JOIN unnest(ipflow.features()) AS f(feature)
    CROSS JOIN LATERAL ipflow.redis_series(i.src_ip, f.feature) AS s GROUP BY 1, 2)
SELECT count(*) FROM ((SELECT * FROM e EXCEPT SELECT * FROM r) UNION ALL (SELECT * FROM r EXCEPT SELECT * FROM e)) AS d"

# 1-2. init on no IPs, then twice on known IPs
is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'redis'")" "0 series for 0 IPs" "init with no IPs yet"

# 3-4. a stream is mirrored exactly
generate_events 30 60 '2022-05-01 00:00' 21 >"$work/a"
produce LogTopic <"$work/a"
ok_wait "SELECT count(*) FROM ipflow.events" 1800 60 "1800 events stored"
ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 30 "the mirror is live with no lag"
is "$(sql -c "$mirror_diff")" 0 "Redis holds every sample of every IP and feature exactly once"
is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'redis'")" "270 series for 30 IPs" "init creates a series per IP and feature"
is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'redis'")" "270 series for 30 IPs" "init again changes nothing"
is "$(redis_cli SMEMBERS ipflow:series:dataType=bytesin | wc -l)" 30 "the bytesin index lists the 30 series"
is "$(redis_cli HGET "bytesin_10.21.0.1:labels" dataType)" bytesin "a series carries its labels"

# 8-11. Redis stopped mid-stream: ingestion goes on, the mirror catches up
redis_stop
generate_events 30 60 '2022-06-01 00:00' 21 >"$work/b"
produce LogTopic <"$work/b"
ok_wait "SELECT count(*) FROM ipflow.events" 3600 60 "ingestion goes on while Redis is down"
is "$(sql -c "SELECT mirror FROM ipflow.stats WHERE kind = 'ingest'")" behind "ipflow.stats says the mirror is behind"
redis_start
ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 60 "the mirror catches up once Redis is back"
is "$(sql -c "$mirror_diff")" 0 "after catching up Redis equals events exactly (nothing lost, nothing twice)"

# 12-14. dump moves everything once, also when the delete step fails
total=$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.21.0.1', 'allow')")
redis_cli ACL SETUSER default -zrem >/dev/null
moved=$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()" 2>"$work/warn")
is "$moved" 32400 "dump moves every sample (3600 events x 9 features) into history"
ok "$(grep -q 'could not be deleted from Redis' "$work/warn"; echo $?)" "a failed delete is a warning, after the commit"
redis_cli ACL SETUSER default +zrem >/dev/null
again=$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")
is "$(sql -c "SELECT count(*) FROM ipflow.history")|$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.21.0.1', 'allow')")|$again" \
    "32400|0|32400" "the retried dump deletes them; history has each sample once"

# 15-17. dump with Redis empty, down, and with the mirror off
is "$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")" 0 "dump with nothing in Redis moves nothing"
redis_stop
err=$(sql -c "SELECT ipflow.dump()" 2>&1 || true)
redis_start
ok "$(echo "$err" | grep -q 'could not connect to Redis'; echo $?)" "dump with Redis down says so" "$err"
sql -c "TRUNCATE ipflow.history" -c "ALTER SYSTEM SET ipflow.redis_url = ''" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
is "$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")|$(sql -c "SELECT count(*) FROM ipflow.history")" "32400|32400" \
    "with the mirror off, dump fills history from events"
sql -c "ALTER SYSTEM RESET ipflow.redis_url" -c "SELECT pg_reload_conf()" >/dev/null
