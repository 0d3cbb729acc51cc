#!/usr/bin/env bash
# Redis mirror benchmark (not a timed test): numbers for README.md.
#
#   bench/mirror.sh [EVENTS]
#
# EVENTS (default 300000) synthetic events (1000 IPs) are preloaded into a
# 16-partition topic; one ingest worker stores them with the mirror off and
# then, as a fresh consumer group, with the mirror on (the harness's plain
# redis-server: the sorted_set backend).  Reported in the same run:
# - ingest events/s with the mirror off and on (the mirror must not slow it);
# - mirror samples/s: samples in Redis over the time from the first stored
#   row until the mirror has no lag;
# - the ceiling: the same samples written by redis-cli --pipe as ZADD
#   commands of 10 samples each (what one batch sends per IP and feature);
# - Redis memory per sample (used_memory after / samples, series included).
# Runs its own harness on its own ports, and stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
events=${1:-300000}
export IPFLOW_HARNESS_DIR=/tmp/ipflow-bench-mirror IPFLOW_PGPORT=55452 IPFLOW_REDIS_PORT=56409
out=$top/bench/out
mkdir -p "$out"

scripts/install-deps.sh
scripts/build.sh >/dev/null
trap 'test/harness stop' EXIT
test/harness start
eval "$(test/harness env)"
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
rcli() { redis-cli -p "$IPFLOW_REDIS_PORT" "$@"; }
now() { date +%s.%N; }
inserted() { sql -c "SELECT coalesce(sum(events), 0) FROM ipflow.ips"; }
mirrored() { sql -c "SELECT coalesce(sum(mirrored), 0) FROM ipflow.stats WHERE kind = 'ingest'"; }
settings() {	# settings REDIS_URL GROUP WORKERS
    sql -c "ALTER SYSTEM SET ipflow.redis_url = '$1'" -c "ALTER SYSTEM SET ipflow.consumer_group = '$2'" \
        -c "ALTER SYSTEM SET ipflow.ingest_workers = $3" -c "SELECT pg_reload_conf()" >/dev/null
}

settings "$IPFLOW_REDIS_URL" bench_idle 0
sql -c "ALTER SYSTEM SET ipflow.log_topic = 'bench_log'" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE EXTENSION ipflow" \
    -c "INSERT INTO ipflow.topics VALUES ('bench_log', 16, 1), ('SparkStreamingTopic', 16, 1)" >/dev/null
echo "== preloading $events events into the broker"
test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic bench_log --ips 1000 --count "$events"
samples=$((events * 9))

declare -A rate
for mode in off on; do
    sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.mirror_progress" >/dev/null
    rcli flushall >/dev/null
    base=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    url=$([ "$mode" = on ] && echo "$IPFLOW_REDIS_URL" || true)
    sleep 1
    settings "$url" "bench_mirror_$mode" 1
    while [ "$(inserted)" = 0 ]; do sleep 0.05; done
    t0=$(now)
    first=$(inserted)
    while [ "$(inserted)" -lt "$events" ]; do sleep 0.1; done
    t1=$(now)
    rate[$mode]=$(echo "($events - $first) / ($t1 - $t0)" | bc -l)
    printf 'ingest with the mirror %s: %.0f events/s\n' "$mode" "${rate[$mode]}"
    if [ "$mode" = on ]; then
        until [ "$(sql -c "SELECT mirror || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'")" = live0 ] &&
              [ "$(mirrored)" -ge "$samples" ]; do sleep 0.1; done
        t2=$(now)
        mirror_rate=$(echo "($samples - $first * 9) / ($t2 - $t0)" | bc -l)
        printf 'mirror: %.0f samples/s (%d samples; done %.2f s after the last row was stored)\n' \
            "$mirror_rate" "$samples" "$(echo "$t2 - $t1" | bc -l)"
        used=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
        printf 'Redis memory (sorted_set): %.1f bytes per sample (%d samples, 9000 series)\n' \
            "$(echo "($used - $base) / $samples" | bc -l)" "$samples"
    fi
    settings "$url" "bench_mirror_$mode" 0
    sleep 2
done
printf 'ingest with the mirror on / off: %.2f\n' "$(echo "${rate[on]} / ${rate[off]}" | bc -l)"

echo "== the ceiling: the same samples by redis-cli --pipe"
sql >"$out/mirror.pipe" <<'SQL'
WITH s AS (
  SELECT f.feature || '_' || host(e.src_ip) AS key,
         (extract(epoch FROM e.ts) * 1000)::bigint AS ms, f.value,
         (row_number() OVER (PARTITION BY e.src_ip, f.feature ORDER BY e.ts) - 1) / 10 AS chunk
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', "drop"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value))
SELECT 'ZADD ' || key || ' ' || string_agg(ms || ' ' || ms || ':' || value, ' ')
  FROM s GROUP BY key, chunk;
SQL
rcli flushall >/dev/null
t0=$(now)
rcli --pipe <"$out/mirror.pipe" >/dev/null
t1=$(now)
ceiling=$(echo "$samples / ($t1 - $t0)" | bc -l)
printf 'redis-cli --pipe: %.0f samples/s\n' "$ceiling"
printf 'mirror / ceiling: %.2f\n' "$(echo "$mirror_rate / $ceiling" | bc -l)"
