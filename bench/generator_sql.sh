#!/usr/bin/env bash
# Generator and sender benchmark through SQL (not a timed test): numbers for
# README.md.
#
#   bench/generator_sql.sh [IPS [HOURS]]
#
# Learns the profiles of data/logs.csv, then times, for IPS synthetic IPs
# (default 10000) over HOURS hours (default 168, one week):
# 1. the pure-C core alone (bench/bin/generator), for comparison;
# 2. SELECT count(*) FROM ipflow.generate_events(...): generation, payloads
#    and the ground-truth inserts through SQL;
# 3. ipflow.send(n_ips, ...) to the Kafka test broker, every event
#    acknowledged (the 16-partition topic bench_log; no ingest worker runs,
#    so sending is measured alone);
# 4. ipflow.send('SELECT * FROM ipflow.generate_events(...)'): the same
#    through a query;
# 5. the sender worker at full speed (seconds_per_hour => 0), from its start
#    to its last committed cursor.
# Rates are events per wall-clock second on a shared machine, beside the
# core's rate per CPU second from the same run.  Runs its own harness
# (IPFLOW_BENCH_DIR, IPFLOW_BENCH_PGPORT and IPFLOW_BENCH_REDIS_PORT move it) and
# stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ips=${1:-10000}
hours=${2:-168}
. bench/lib.sh
bench_harness generator 55444 56391
make -s bench-generator
# seconds a statement takes, from psql's timing
timed() { sql -c "\\timing on" -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1 | awk '{ print $1 / 1000 }'; }
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }

sql -c "ALTER SYSTEM SET ipflow.ingest_workers = 0" -c "ALTER SYSTEM SET ipflow.redis_url = ''" \
    -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE EXTENSION ipflow" \
    -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" \
    -c "INSERT INTO ipflow.topics VALUES ('bench_log', 16, 1)" \
    -c "SELECT ipflow.load_csv('$top/data/logs.csv')" \
    -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
start="'2022-01-03'"

echo "== the core alone, one CPU"
bench/bin/generator "$ips" "$hours" 1

echo "== $ips IPs x $hours hours through SQL"
events=$(sql -c "SELECT count(*) FROM ipflow.generate_events($ips, $start, $hours, 1)")
anomalies=$(sql -c "SELECT count(*) FROM ipflow.generated_anomalies WHERE seed = 1")
sql -c "TRUNCATE ipflow.generated_anomalies" >/dev/null
s=$(timed "SELECT count(*) FROM ipflow.generate_events($ips, $start, $hours, 1)")
echo "generate_events: $events events ($anomalies anomalies recorded) in $s s: $(rate "$events" "$s") events/s"
s=$(timed "SELECT count(*) FROM ipflow.generate_events($ips, $start, $hours, 1, '{\"anomaly_rate\": 0}')")
echo "generate_events, no anomalies to record: $(rate "$events" "$s") events/s (about the same count)"

s=$(timed "SELECT ipflow.send($ips, $start, $hours, 2, topic => 'bench_log')")
sent=$(sql -c "SELECT count(*) FROM ipflow.generate_events($ips, $start, $hours, 2)")
echo "send(n_ips, ...): $sent events acknowledged in $s s: $(rate "$sent" "$s") events/s"
s=$(timed "SELECT ipflow.send('SELECT * FROM ipflow.generate_events($ips, ''2022-01-03'', $hours, 3)', 'bench_log')")
echo "send(query): $(rate "$sent" "$s") events/s (about the same count)"

total=$(sql -c "SELECT count(*) FROM ipflow.generate_events($ips, $start, $hours, 4)")
sql -c "SELECT * FROM ipflow.start_sender($ips, $start, 4, hours => $hours, seconds_per_hour => 0, topic => 'bench_log')" >/dev/null
until [ "$(sql -c "SELECT state FROM ipflow.sender")" = finished ]; do sleep 0.2; done
s=$(sql -c "SELECT extract(epoch FROM finished_at - started_at) FROM ipflow.sender")
echo "sender worker, seconds_per_hour => 0: $total events in $s s: $(rate "$total" "$s") events/s"
