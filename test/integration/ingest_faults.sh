#!/usr/bin/env bash
# A stream is interrupted by a SIGTERM of the ingest worker and by a kill -9
# (which makes the postmaster crash-restart the whole server); afterwards
# every event is in ipflow.events exactly once and ip_stats agrees.  Uses
# small batches so the interruptions land mid-stream.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
cleanup() {
    sql -d postgres -c "ALTER SYSTEM RESET ipflow.batch_size" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

consuming="SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'"
sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$(cd "$here/../.." && pwd)/data/seed-config.json')::jsonb)" >/dev/null
wait_for "$consuming" 1 60 || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects" >/dev/null
sql -c "ALTER SYSTEM SET ipflow.batch_size = 200" -c "SELECT pg_reload_conf()" >/dev/null

stats_mismatch="SELECT count(*) FROM (
  SELECT e.src_ip, f.feature, count(f.value), round(avg(f.value)::numeric, 6), min(f.value), max(f.value)
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('bytesin', bytesin), ('bytesout', bytesout)) AS f(feature, value)
   WHERE f.value IS NOT NULL GROUP BY 1, 2
  EXCEPT
  SELECT src_ip, feature, count, round(mean::numeric, 6), min, max FROM ipflow.ip_stats
   WHERE feature IN ('unq_dst_ip', 'allow', 'bytesin', 'bytesout')) AS d"

echo "1..8"

# 1. SIGTERM (pg_terminate_backend) in the middle of a stream
generate_events 100 300 '2022-04-01 00:00' 21 >"$work/a"
n=$(wc -l <"$work/a")
produce LogTopic <"$work/a"
wait_for "SELECT count(*) > 0 FROM ipflow.events" t 60 || true
pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
before_kill=$(sql -c "SELECT count(*) FROM ipflow.events")
is "$(sql -c "SELECT pg_terminate_backend($pid)")" t "the ingest worker is terminated mid-stream ($before_kill of $n stored)"
ok_wait "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL AND pid <> $pid" 1 60 "the launcher starts the worker again"
ok_wait "SELECT count(*) FROM ipflow.events" "$n" 120 "after SIGTERM every one of $n events is stored"
is "$(sql -c "$stats_mismatch")" 0 "ip_stats agree with events after SIGTERM"

# 2. kill -9: the postmaster restarts the whole server; nothing is lost or doubled
generate_events 100 300 '2022-05-01 00:00' 22 >"$work/b"
m=$(wc -l <"$work/b")
produce LogTopic <"$work/b"
wait_for "SELECT count(*) > $n FROM ipflow.events" t 60 || true
pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
kill -9 "$pid" && r=0 || r=$?
ok "$r" "the ingest worker is killed with SIGKILL mid-stream"
sleep 2
ok_wait "SELECT 1" 1 60 "the server is back after the crash restart"
ok_wait "SELECT count(*) FROM ipflow.events" $((n + m)) 120 "after kill -9 every one of $((n + m)) events is stored, once"
is "$(sql -c "$stats_mismatch")" 0 "ip_stats agree with events after kill -9"
