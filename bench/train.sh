#!/usr/bin/env bash
# Training benchmark (not a timed test): numbers for README.md.
#
#   bench/train.sh [IPS] [WORKERS...]
#
# IPS (default 10000) generated IPs, four weeks each from the profiles of
# data/logs.csv, are stored straight into ipflow.events (ingestion is
# measured by bench/ingest.sh) and dumped into ipflow.history, as they are
# in steady state; then ipflow.train('unq_dst_ip') fits one
# model per IP with each number of workers (default 0 1 2 4; 0 fits in the
# calling backend), after one training that warms the caches, and reports
# series per second and the speed-up over one worker, measured in the same
# run.  Runs its own harness on its own ports
# and stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ips=${1:-10000}
shift || true
workers=("$@")
[ ${#workers[@]} -gt 0 ] || workers=(0 1 2 4)
. bench/lib.sh
bench_harness train 55472 56419

sql -c "ALTER SYSTEM SET ipflow.ingest_workers = 0" -c "ALTER SYSTEM SET ipflow.redis_url = ''" \
    -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT ipflow.load_csv('$top/data/logs.csv')" \
    -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
echo "generating $ips IPs x 4 weeks into ipflow.events"
sql <<SQL
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received,
                           bytesin, bytesout, unq_dst_port)
SELECT src_ip, ts, unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port
  FROM ipflow.generate_events($ips, '2022-01-03', 672, 42);
INSERT INTO ipflow.ips (src_ip, events, first_ts, last_ts, feature_count)
SELECT src_ip, count(*), min(ts), max(ts), array_fill(count(*), ARRAY[9])
  FROM ipflow.events GROUP BY src_ip;
-- as in steady state, the series are in ipflow.history (dumped; here from
-- the events, with the Redis mirror off)
SELECT ipflow.dump('unq_dst_ip');
VACUUM ANALYZE ipflow.events, ipflow.history;
SQL
sql -c "SELECT count(*) || ' events, ' || count(DISTINCT src_ip) || ' IPs, '
               || round(count(*)::numeric / count(DISTINCT src_ip)) || ' points per series' FROM ipflow.events"

# the first training after a bulk load also sets hint bits and reads every
# page from disk: reported apart, then each setting runs on warm caches
first=$(sql -c "SELECT round(seconds::numeric, 2) FROM ipflow.train('unq_dst_ip')")
echo "first training after the load (2 workers, cold): $first s"
printf '%-8s %8s %9s %10s %8s\n' workers models seconds series/s speedup
one=
for w in "${workers[@]}"; do
    # each training rewrites every model and forecast row: start each from a
    # vacuumed table, as autovacuum keeps it between scheduled trainings
    sql -c "VACUUM ipflow.models, ipflow.forecasts" >/dev/null
    row=$(sql -c "SET ipflow.train_workers = $w" -c "SELECT models, workers, seconds FROM ipflow.train('unq_dst_ip')")
    IFS='|' read -r models started seconds <<<"$row"
    rate=$(awk -v m="$models" -v s="$seconds" 'BEGIN { printf "%.1f", m / s }')
    [ "$w" = 1 ] && one=$rate
    speedup=$( [ -n "$one" ] && awk -v r="$rate" -v o="$one" 'BEGIN { printf "%.2f", r / o }' || echo -)
    printf '%-8s %8d %9.2f %10.0f %8s\n' "$w ($started)" "$models" "$seconds" "$rate" "$speedup"
done
sql -c "SELECT 'fit time per series: median ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY fit_ms)::numeric, 3)
               || ' ms, p90 ' || round(percentile_cont(0.9) WITHIN GROUP (ORDER BY fit_ms)::numeric, 3) || ' ms'
          FROM ipflow.models WHERE feature = 'unq_dst_ip'"
