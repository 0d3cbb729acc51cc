#!/usr/bin/env bash
# Kafka misbehaves during a stream: every broker goes down for a few
# seconds, then Fetch, OffsetCommit and Produce requests fail by injection.
# After each, every event is in ipflow.events exactly once and the per-IP
# aggregates agree.  Drives the harness broker through its control FIFO.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
cleanup() {
    echo "up all" >"$IPFLOW_KAFKA_CONTROL" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" \
    -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 || true
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects" >/dev/null
consistent="SELECT count(*) FROM ipflow.ips i WHERE events <> (SELECT count(*) FROM ipflow.events e WHERE e.src_ip = i.src_ip)"

echo "1..6"

# 1. all brokers down for 4 seconds in the middle of a steady stream
"$top/test/bin/kafkatool" stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic LogTopic --ips 50 \
    --count 20000 --rate 4000 --first-hour 100 &
producer=$!
sleep 1.5
echo "down all" >"$IPFLOW_KAFKA_CONTROL"
sleep 4
echo "up all" >"$IPFLOW_KAFKA_CONTROL"
if wait "$producer"; then ok 0 "the producer delivered all 20000 events despite the outage"; else ok 1 "the producer delivered all 20000 events despite the outage"; fi
ok_wait "SELECT count(*) FROM ipflow.events" 20000 120 "after all brokers were down, every event is stored once"
is "$(sql -c "$consistent")" 0 "per-IP counts agree with events"

# 2. injected Fetch, OffsetCommit and Produce errors (Kafka API keys 1, 8, 0)
echo "errors 1 5 6" >"$IPFLOW_KAFKA_CONTROL"      # NOT_LEADER_OR_FOLLOWER
echo "errors 8 3 7" >"$IPFLOW_KAFKA_CONTROL"      # REQUEST_TIMED_OUT
echo "errors 0 3 19" >"$IPFLOW_KAFKA_CONTROL"     # NOT_ENOUGH_REPLICAS
"$top/test/bin/kafkatool" stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic LogTopic --ips 50 \
    --count 10000 --rate 5000 --first-hour 1000 && r=0 || r=$?
ok "$r" "the producer delivered 10000 more events despite injected errors"
ok_wait "SELECT count(*) FROM ipflow.events" 30000 120 "after injected request errors, every event is stored once"
is "$(sql -c "$consistent")" 0 "per-IP counts still agree with events"
