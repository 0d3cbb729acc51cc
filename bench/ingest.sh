#!/usr/bin/env bash
# Ingest benchmark (not a timed test): numbers for README.md.
#
#   bench/ingest.sh [EVENTS] [RSS_EVENTS]
#
# 1. EVENTS (default 1000000) synthetic events are preloaded into a 16-partition
#    topic of the Kafka test broker; then 1, and then 2, ingest workers are
#    switched on and timed until every event is in ipflow.events.  In the same
#    run, COPY loads the same rows (in the log's order) into an identical
#    table: the ratio to COPY is the number that survives a noisy machine.
# 2. Latency: LATENCY_EVENTS (default 300000; 0 skips) events produced at a
#    steady 10000 events/s, after 5 s of the same stream that warm the
#    producer and the worker up (LATENCY_LINGER: the producer's linger.ms,
#    default 5); produce ->
#    row latency (send time to the row's ingested_at) p50/p99, beside the
#    producer's own send -> broker acknowledgement time.
# 3. Memory: the ingest worker's private memory sampled every 10 s while
#    RSS_EVENTS (default 0: skipped) more events stream through at
#    RSS_RATE events/s (default 20000: what one worker sustains here while
#    the producer and the test broker share the two cores).
# EVENTS = 0 skips 1; WORKERS (default "1 2") names its phases, and ROUNDS
# (default 1) repeats them, each with its own COPY, then prints the median
# ratios (the spread of a single run here is wide).  Before
# anything is timed, the server's shared buffers are touched once (a server
# that has run a while has touched them all).  BENCH_SQL, when set, runs
# after CREATE EXTENSION (to
# try a setting: "ALTER TABLE ...; ALTER SYSTEM ...; SELECT pg_reload_conf();").
# Runs its own harness on its own ports, and stops
# it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
events=${1:-1000000}
rss_events=${2:-0}
rss_rate=${RSS_RATE:-20000}
latency_events=${LATENCY_EVENTS:-300000}
rounds=${ROUNDS:-1}
out=$top/bench/out
mkdir -p "$out"
. bench/lib.sh
bench_harness ingest 55442 56389
now() { date +%s.%N; }
# rows stored so far (ipflow.ips is small, unlike a count(*) of events)
inserted() { poll "SELECT coalesce(sum(events), 0) FROM ipflow.ips"; }
lag() { poll "SELECT coalesce(sum(lag), ${1:-1}) FROM ipflow.stats WHERE kind = 'ingest'"; }
# workers holding partitions of topic $1
holding() { poll "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL AND partitions LIKE '$1[_%]'"; }
set_workers() {
    sql -c "ALTER SYSTEM SET ipflow.ingest_workers = $1" -c "SELECT pg_reload_conf()" >/dev/null
}
# CPU seconds (user + system) used so far by the ingest workers, and by the
# test broker's process: who is busy, and who waits
cpu_of() {	# cpu_of PID...
    local hz=$(getconf CLK_TCK) pid total=0
    for pid in "$@"; do
        total=$(echo "$total + $(awk -v hz="$hz" '{ print ($14 + $15) / hz }' "/proc/$pid/stat")" | bc -l)
    done
    echo "$total"
}
worker_pids() { sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL"; }

# the Redis mirror is measured by bench/mirror.sh; here ingestion alone
sql -c "ALTER SYSTEM SET ipflow.log_topic = 'bench_log'" -c "ALTER SYSTEM SET ipflow.ingest_workers = 0" \
    -c "ALTER SYSTEM SET ipflow.redis_url = ''" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE EXTENSION ipflow" \
    -c "INSERT INTO ipflow.topics VALUES ('bench_log', 16, 1), ('SparkStreamingTopic', 16, 1)" >/dev/null
[ -z "${BENCH_SQL:-}" ] || echo "$BENCH_SQL" | sql
# A server that has run a while has touched all its shared buffers; a fresh
# one faults each in on first use, which would cost the first phase alone.
sql <<'SQL'
CREATE EXTENSION pg_prewarm;
-- eleven rows a page: a table a fifth larger than shared_buffers
SELECT setting::int * 11 * 6 / 5 AS rows FROM pg_settings WHERE name = 'shared_buffers' \gset
CREATE TABLE bench_warm AS SELECT repeat('x', 700) AS x FROM generate_series(1, :rows);
SELECT pg_prewarm('bench_warm') AS warmed \gset
DROP TABLE bench_warm;
DROP EXTENSION pg_prewarm;
SQL

if [ "$events" -gt 0 ]; then
echo "== preloading $events events into the broker"
t0=$(now)
test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic bench_log --ips 1000 --count "$events"
t1=$(now)
printf 'produce: %.0f events/s\n' "$(echo "$events / ($t1 - $t0)" | bc -l)"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A ratios rates
for round in $(seq 1 "$rounds"); do
results=()
for workers in ${WORKERS:-1 2}; do
    sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.anomalies" -c "CHECKPOINT" >/dev/null
    # a fresh consumer group re-reads the topic from the start
    sql -c "ALTER SYSTEM SET ipflow.consumer_group = 'bench_${round}_$workers'" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    t0=$(now)
    set_workers "$workers"
    # steady state starts once every worker holds partitions: joining the
    # group takes seconds, and the test broker waits up to 9 s for more
    # members before it hands partitions to a second one
    # (a stopped worker's row keeps the partitions it held, without a pid)
    wait_until "(SELECT count(*) = $workers FROM ipflow.stats
                  WHERE kind = 'ingest' AND pid IS NOT NULL AND partitions LIKE 'bench_log[_%]')" "$ROWS_SQL"
    t_first=$WAITED_AT first_rows=$WAITED_VALUE
    pids=$(worker_pids)
    # shellcheck disable=SC2086
    worker_cpu0=$(cpu_of $pids)
    broker_cpu0=$(cpu_of "$(cat "$IPFLOW_HARNESS_DIR/kafka.pid")")
    wait_until "$ROWS_SQL >= $events"
    t1=$WAITED_AT
    # shellcheck disable=SC2086
    worker_cpu=$(echo "$(cpu_of $pids) - $worker_cpu0" | bc -l)
    broker_cpu=$(echo "$(cpu_of "$(cat "$IPFLOW_HARNESS_DIR/kafka.pid")") - $broker_cpu0" | bc -l)
    set_workers 0
    rate=$(echo "($events - $first_rows) / ($t1 - $t_first)" | bc -l)
    results+=("$workers:$rate")
    rates[$workers]+=" $rate"
    printf 'ingest, %d worker(s): %.0f events/s steady (%d events in %.2f s once all held partitions; %.2f s in all)\n' \
        "$workers" "$rate" "$((events - first_rows))" "$(echo "$t1 - $t_first" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
    printf '  CPU meanwhile: workers %.0f %% of one core (%.1f us per event), test broker %.0f %%\n' \
        "$(echo "100 * $worker_cpu / ($t1 - $t_first)" | bc -l)" \
        "$(echo "1000000 * $worker_cpu / ($events - $first_rows)" | bc -l)" \
        "$(echo "100 * $broker_cpu / ($t1 - $t_first)" | bc -l)"
    echo "  anomalies raised by the streaming detector: $(poll "SELECT count(*) FROM ipflow.anomalies")"
    sleep 2
done

echo "== COPY of the same rows into an identical table"
if [ "$round" = 1 ]; then
    # in the order of the log, as a client reading the topic would have them
    # (the workers store each batch in primary key order)
    sql -c "COPY (SELECT * FROM ipflow.events ORDER BY kafka_partition, kafka_offset) TO '$IPFLOW_HARNESS_DIR/events.copy'" >/dev/null
    sql -c "CREATE TABLE bench_copy (LIKE ipflow.events INCLUDING ALL)" >/dev/null
fi
# no vacuum or checkpoint of the workers' rows competes with it
sql -c "TRUNCATE bench_copy" -c "VACUUM ipflow.events" -c "CHECKPOINT" >/dev/null
copy_s=$(sql -c "\\timing on" -c "COPY bench_copy FROM '$IPFLOW_HARNESS_DIR/events.copy'" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
copy_rate=$(echo "$events / ($copy_s / 1000)" | bc -l)
printf 'COPY: %.0f rows/s\n' "$copy_rate"
for r in "${results[@]}"; do
    ratio=$(echo "${r#*:} / $copy_rate" | bc -l)
    ratios[${r%%:*}]+=" $ratio"
    printf 'ratio to COPY, %s worker(s): %.2f\n' "${r%%:*}" "$ratio"
done
done
if [ "$rounds" -gt 1 ]; then
    for workers in ${WORKERS:-1 2}; do
        # shellcheck disable=SC2086
        printf 'median over %d rounds, %s worker(s): %.0f events/s, ratio to COPY %.2f\n' "$rounds" "$workers" \
            "$(median ${rates[$workers]})" "$(median ${ratios[$workers]})"
    done
fi
fi

if [ "$latency_events" -gt 0 ]; then

echo "== latency at a steady 10000 events/s (1 worker)"
# a topic with no backlog, and a worker that has joined the group before the stream
sql -c "ALTER SYSTEM SET ipflow.log_topic = 'LogTopic'" -c "ALTER SYSTEM SET ipflow.consumer_group = 'bench_latency'" \
    -c "SELECT pg_reload_conf()" >/dev/null
sql -c "TRUNCATE ipflow.events, ipflow.ips" >/dev/null
set_workers 1
until [ "$(holding LogTopic)" = 1 ]; do
    sleep 0.5
done
# one producer: its first 5 s (50000 events) warm its connections and the
# worker up and are not measured; linger.ms 5 is librdkafka's default
warmup=50000
test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic LogTopic --ips 1000 --warmup "$warmup" \
    --count "$latency_events" --rate 10000 --linger "${LATENCY_LINGER:-5}" --first-hour 1000 \
    --report "$out/latency.report"
wait_until "$ROWS_SQL >= $((latency_events + warmup))"
sql <<SQL | tee "$out/latency.txt"
CREATE TEMP TABLE delivered (kafka_partition int, kafka_offset bigint, produced_us bigint, acked_us bigint);
\copy delivered FROM '$out/latency.report'
CREATE TEMP TABLE l AS
  SELECT extract(epoch FROM e.ingested_at) * 1000 - d.produced_us / 1000.0 AS ms,
         (d.acked_us - d.produced_us) / 1000.0 AS ack_ms,
         (d.produced_us - min(d.produced_us) OVER ()) / 1000000 AS second
    FROM ipflow.events e JOIN delivered d USING (kafka_partition, kafka_offset);
\copy (SELECT second, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM l GROUP BY second ORDER BY second) TO '$out/latency_by_second.txt'
SELECT format('latency ms, %s: p50 %s, p99 %s, max %s (n = %s)', which,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
              round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
              round(max(ms)::numeric, 1), count(*))
  FROM (SELECT 'produce -> row' AS which, ms FROM l UNION ALL SELECT 'produce -> broker ack', ack_ms FROM l) AS w
 GROUP BY which ORDER BY which DESC;
SQL
fi

if [ "$rss_events" -gt 0 ]; then
    # back on the 16-partition topic: the test broker keeps only about 5 MiB
    # per partition, so a backlog on a 3-partition topic would be dropped
    echo "== worker memory while $rss_events events stream through at $rss_rate events/s"
    sql -c "ALTER SYSTEM SET ipflow.log_topic = 'bench_log'" -c "ALTER SYSTEM SET ipflow.consumer_group = 'bench_rss'" \
        -c "ALTER SYSTEM SET ipflow.ingest_workers = 1" -c "SELECT pg_reload_conf()" >/dev/null
    until [ "$(holding bench_log)" = 1 ]; do
        sleep 0.5
    done
    while [ "$(lag)" != 0 ]; do sleep 1; done
    sql -c "TRUNCATE ipflow.events, ipflow.ips" >/dev/null
    pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
    # batches of 50 ms: the test broker returns one producer batch per
    # partition per fetch, and smaller ones starve a consumer of 16 partitions
    test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic bench_log --ips 1000 \
        --count "$rss_events" --rate "$rss_rate" --linger 50 --first-hour 2000000 &
    producer=$!
    : >"$out/rss.txt"
    # private memory (RssAnon): RSS would also count the shared buffers it touched
    # until the stream is over and the worker has caught up (the test broker
    # drops what a slow consumer leaves behind, so a count may never be reached)
    while kill -0 "$producer" 2>/dev/null || \
          [ "$(lag)" != 0 ]; do
        echo "$(date +%s) $(awk '/RssAnon/ {print $2}' /proc/$pid/status) $(inserted) $(lag 0)" >>"$out/rss.txt"
        sleep 10
    done
    awk 'NR == 1 {first = $2} {last = $2; if ($2 > max) max = $2; if ($4 > lag) lag = $4}
         END {printf "private memory kB: first %d, last %d, max %d over %d samples; max lag %d\n", first, last, max, NR, lag}' "$out/rss.txt"
    echo "events stored: $(inserted) of $rss_events"
fi
