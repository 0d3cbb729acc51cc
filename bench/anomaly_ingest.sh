#!/usr/bin/env bash
# Streaming anomaly detection benchmark (not a timed test): numbers for
# README.md.
#
#   bench/anomaly_ingest.sh [IPS [ROUNDS [HOURS]]]
#
# Generated traffic (IPS synthetic IPs, default 1000, over HOURS hours,
# default 672: four weeks from Monday 2022-01-03, seed 1, the generator's
# default anomalies) is sent once
# to a 16-partition topic of the Kafka test broker.  Then, ROUNDS times
# (default 3), one ingest worker ingests all of it with
# ipflow.anomaly_detection off and then on, each from a fresh consumer
# group into empty tables: the ratio of the two rates, within a round, is
# the number that survives a noisy machine; so is the ratio of the worker's
# CPU time per event (what detection costs when the worker, not the test
# broker, is the bottleneck).  Last, the alerts of the final
# run are scored with ipflow.evaluate_anomalies against the ground truth of
# the first 200 IPs in the first four weeks (exactly the default 200-IP
# workload: each IP's traffic and detector are its own, and a detector
# looks only back).  BENCH_SQL, when set, runs after CREATE EXTENSION
# (to try a setting).  Runs its own harness on the ports of the
# environment (IPFLOW_BENCH_PGPORT, IPFLOW_BENCH_REDIS_PORT) and stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ips=${1:-1000}
rounds=${2:-3}
hours=${3:-672}
start='2022-01-03 00:00+00'
. bench/lib.sh
bench_harness anomaly 55446 56393

settings log_topic=bench_log ingest_workers=0 redis_url=
sql -c "CREATE EXTENSION ipflow" \
    -c "INSERT INTO ipflow.topics VALUES ('bench_log', 16, 1), ('SparkStreamingTopic', 16, 1)" >/dev/null
[ -z "${BENCH_SQL:-}" ] || echo "$BENCH_SQL" | sql
sql -c "SELECT ipflow.load_csv('$top/data/logs.csv')" -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
echo "== sending $ips generated IPs x $hours hours to bench_log"
events=$(sql -c "SELECT ipflow.send($ips, '$start', $hours, 1)")
echo "$events events"

# the ingest worker's CPU seconds so far (user + system)
worker_cpu() {
    local pid
    pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$pid/stat"
}

rates=()
cpus=()
for round in $(seq 1 "$rounds"); do
    for mode in off on; do
        sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.anomalies" >/dev/null
        settings consumer_group="bench_anomaly_${mode}_$round" anomaly_detection=$mode
        sleep 1
        settings ingest_workers=1
        wait_until "$ROWS_SQL > 0" "$ROWS_SQL"
        t_first=$WAITED_AT first_rows=$WAITED_VALUE
        cpu0=$(worker_cpu)
        wait_until "$ROWS_SQL >= $events"
        t1=$WAITED_AT
        cpu1=$(worker_cpu)
        settings ingest_workers=0
        rate=$(echo "($events - $first_rows) / ($t1 - $t_first)" | bc -l)
        cpu=$(echo "($cpu1 - $cpu0) * 1000000 / ($events - $first_rows)" | bc -l)
        rates+=("$rate")
        cpus+=("$cpu")
        printf 'round %d, detection %-3s: %.0f events/s, worker CPU %.1f us/event, %d alerts\n' "$round" "$mode" \
            "$rate" "$cpu" "$(sql -c "SELECT count(*) FROM ipflow.anomalies")"
        sleep 2
    done
    printf 'round %d: on / off = %.3f (events/s), %.3f (events per CPU second)\n' "$round" \
        "$(echo "${rates[-1]} / ${rates[-2]}" | bc -l)" "$(echo "${cpus[-2]} / ${cpus[-1]}" | bc -l)"
done

echo "== F1 of the last run's alerts, first 200 IPs, first four weeks (ipflow.evaluate_anomalies)"
sql <<SQL
CREATE TEMP TABLE first_ips AS SELECT DISTINCT src_ip FROM ipflow.generate_events(200, '$start', 672, 1);
DELETE FROM ipflow.generated_anomalies WHERE src_ip NOT IN (SELECT src_ip FROM first_ips);
DELETE FROM ipflow.anomalies WHERE src_ip NOT IN (SELECT src_ip FROM first_ips);
\pset format aligned
\pset tuples_only off
SELECT kind, incidents, found, round(recall::numeric, 3) AS recall, alarms, right_alarms,
       round("precision"::numeric, 3) AS "precision", round(f1::numeric, 3) AS f1,
       date_trunc('second', mean_delay) AS mean_delay
  FROM ipflow.evaluate_anomalies('$start', '$start'::timestamptz + interval '672 hours');
SQL
