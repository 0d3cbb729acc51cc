#!/usr/bin/env bash
# Redis mirror benchmark (not a timed test): numbers for README.md.
#
#   bench/mirror.sh [EVENTS]
#
# EVENTS (default 300000) synthetic events (1000 IPs) are preloaded into a
# 16-partition topic; one ingest worker stores them with the mirror off and
# then, each time as a fresh consumer group, with the mirror on: into the
# harness's plain redis-server (the sorted_set backend) and, when
# IPFLOW_REDIS_TS_URL names a Redis with the RedisTimeSeries module
# (redis://host:port/db, a throwaway: its database is flushed), into that one
# with the timeseries backend.  Reported in the same run, per backend:
# - ingest events/s with the mirror off and on (the mirror must not slow it);
# - mirror samples/s: samples in Redis over the time from the first stored
#   row until the mirror has no lag;
# - the ceiling: the same samples written by redis-cli --pipe as ZADD or
#   TS.MADD commands of 10 samples each (what one batch sends per IP and
#   feature), in time order as the mirror sends them (RedisTimeSeries is
#   much slower at samples older than a series' last); for timeseries after
#   the TS.CREATE of the 9000 series;
# - Redis memory per sample (used_memory growth / samples, series included).
# Runs its own harness on its own ports (IPFLOW_BENCH_DIR, IPFLOW_BENCH_PGPORT
# and IPFLOW_BENCH_REDIS_PORT move them), and stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
events=${1:-300000}
ts_url=${IPFLOW_REDIS_TS_URL:-}
out=$top/bench/out
mkdir -p "$out"
. bench/lib.sh
bench_harness mirror 55452 56409
rcli() { redis-cli -p "$IPFLOW_REDIS_PORT" "$@"; }
tcli() {	# redis-cli against IPFLOW_REDIS_TS_URL
    [[ $ts_url =~ ^redis://([^:/]+)(:([0-9]+))?(/([0-9]+))?$ ]] || { echo "bad IPFLOW_REDIS_TS_URL" >&2; return 1; }
    redis-cli -h "${BASH_REMATCH[1]}" -p "${BASH_REMATCH[3]:-6379}" -n "${BASH_REMATCH[5]:-0}" "$@"
}
memory() { "$1" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
now() { date +%s.%N; }
mirrored() { poll "SELECT coalesce(sum(mirrored), 0) FROM ipflow.stats WHERE kind = 'ingest'"; }

settings redis_url="$IPFLOW_REDIS_URL" redis_backend=auto consumer_group=bench_idle ingest_workers=0 \
    log_topic=bench_log
sql -c "CREATE EXTENSION ipflow" \
    -c "INSERT INTO ipflow.topics VALUES ('bench_log', 16, 1), ('SparkStreamingTopic', 16, 1)" >/dev/null
echo "== preloading $events events into the broker"
test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic bench_log --ips 1000 --count "$events"
samples=$((events * 9))

modes=(off sorted_set)
[ -n "$ts_url" ] && modes+=(timeseries)
declare -A rate mirror_rate
for mode in "${modes[@]}"; do
    case $mode in
        off) url='' cli=rcli backend=auto ;;
        sorted_set) url=$IPFLOW_REDIS_URL cli=rcli backend=sorted_set ;;
        timeseries) url=$ts_url cli=tcli backend=timeseries ;;
    esac
    sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.mirror_progress" >/dev/null
    $cli flushdb >/dev/null
    base=$(memory $cli)
    sleep 1
    settings redis_url="$url" redis_backend="$backend" consumer_group="bench_mirror_$mode" ingest_workers=1
    wait_until "$ROWS_SQL > 0" "$ROWS_SQL"
    t0=$WAITED_AT first=$WAITED_VALUE
    wait_until "$ROWS_SQL >= $events"
    t1=$WAITED_AT
    rate[$mode]=$(echo "($events - $first) / ($t1 - $t0)" | bc -l)
    printf 'ingest with the mirror %s: %.0f events/s\n' "$mode" "${rate[$mode]}"
    if [ "$mode" != off ]; then
        until [ "$(poll "SELECT mirror || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'")" = live0 ] &&
              [ "$(mirrored)" -ge "$samples" ]; do sleep 0.1; done
        t2=$(now)
        mirror_rate[$mode]=$(echo "($samples - $first * 9) / ($t2 - $t0)" | bc -l)
        printf 'mirror (%s): %.0f samples/s (%d samples; done %.2f s after the last row was stored)\n' \
            "$mode" "${mirror_rate[$mode]}" "$samples" "$(echo "$t2 - $t1" | bc -l)"
        printf 'Redis memory (%s): %.1f bytes per sample (%d samples, 9000 series)\n' \
            "$mode" "$(echo "($(memory $cli) - $base) / $samples" | bc -l)" "$samples"
        printf 'ingest with the mirror %s / off: %.2f\n' "$mode" "$(echo "${rate[$mode]} / ${rate[off]}" | bc -l)"
    fi
    settings redis_url="$url" redis_backend="$backend" consumer_group="bench_mirror_$mode" ingest_workers=0
    sleep 2
done

echo "== the ceiling: the same samples by redis-cli --pipe"
for mode in "${modes[@]}"; do
    [ "$mode" = off ] && continue
    cli=$([ "$mode" = timeseries ] && echo tcli || echo rcli)
    sql -v mode="$mode" >"$out/mirror-$mode.pipe" <<'SQL'
WITH s AS (
  SELECT f.feature || '_' || host(e.src_ip) AS key, host(e.src_ip) AS ip, f.feature,
         (extract(epoch FROM e.ts) * 1000)::bigint AS ms, f.value,
         (row_number() OVER (PARTITION BY e.src_ip, f.feature ORDER BY e.ts) - 1) / 10 AS chunk
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', "drop"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value))
SELECT c FROM (
  SELECT 0 AS o, 0 AS chunk, 'TS.CREATE ' || key || ' DUPLICATE_POLICY LAST LABELS srcIP ' || ip || ' dataType ' || feature AS c
    FROM s WHERE :'mode' = 'timeseries' GROUP BY key, ip, feature
  UNION ALL
  SELECT 1, chunk, CASE :'mode' WHEN 'timeseries' THEN 'TS.MADD ' || string_agg(key || ' ' || ms || ' ' || value, ' ')
                 ELSE 'ZADD ' || key || ' ' || string_agg(ms || ' ' || ms || ':' || value, ' ') END
    FROM s GROUP BY key, chunk) AS commands
 ORDER BY o, chunk;
SQL
    $cli flushdb >/dev/null
    t0=$(now)
    $cli --pipe <"$out/mirror-$mode.pipe" >/dev/null
    t1=$(now)
    ceiling=$(echo "$samples / ($t1 - $t0)" | bc -l)
    printf 'redis-cli --pipe (%s): %.0f samples/s\n' "$mode" "$ceiling"
    printf 'mirror / ceiling (%s): %.2f\n' "$mode" "$(echo "${mirror_rate[$mode]} / $ceiling" | bc -l)"
    $cli flushdb >/dev/null
done
