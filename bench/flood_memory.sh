#!/usr/bin/env bash
# Worker memory under a flood of new IPs (not a timed test): numbers for
# README.md's resource bounds.
#
#   bench/flood_memory.sh [IPS [BATCH_SIZE...]]
#
# IPS events (default 100000), each from an IP never seen, are preloaded
# into a 16-partition topic of the Kafka test broker.  Then, for each
# BATCH_SIZE (default 10000 40000), one ingest worker with streaming
# detection on (the default) and the Redis mirror off consumes all of them
# from a fresh consumer group into emptied tables: a backlog, so batches
# are full and every IP of a batch is new.  The worker's private memory
# (RssAnon) is sampled every 0.1 s; the peak is reported.  Runs its own
# harness on its own ports and stops it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ips=${1:-100000}
batch_sizes=("${@:2}")
[ ${#batch_sizes[@]} -gt 0 ] || batch_sizes=(10000 40000)
. bench/lib.sh
bench_harness flood 55449 56396

settings log_topic=flood_log ingest_workers=0 redis_url=
sql -c "CREATE EXTENSION ipflow" -c "INSERT INTO ipflow.topics VALUES ('flood_log', 16, 1)" >/dev/null
echo "== preloading $ips events from as many IPs"
test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic flood_log --ips "$ips" --count "$ips" \
    --linger 50

for size in "${batch_sizes[@]}"; do
    sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.anomalies" >/dev/null
    settings consumer_group="flood_$size" batch_size="$size"
    sleep 1
    settings ingest_workers=1
    pid=
    until [ -n "$pid" ]; do
        pid=$(poll "SELECT coalesce(max(pid), 0) FROM ipflow.stats WHERE kind = 'ingest'")
        [ "$pid" = 0 ] && { pid=; sleep 0.05; }
    done
    peak=0
    while [ "$(poll "SELECT count(*) FROM ipflow.ips")" -lt "$ips" ]; do
        kb=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
        [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.1
    done
    batches=$(poll "SELECT max(batches) FROM ipflow.stats WHERE kind = 'ingest'")
    settings ingest_workers=0
    printf 'batch_size %d: %d new IPs in %d batches, worker private memory peak %d MB\n' \
        "$size" "$ips" "$batches" "$((peak / 1024))"
    sleep 2
done
