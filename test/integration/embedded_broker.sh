#!/usr/bin/env bash
# ipflow.kafka_brokers = 'embedded': after a reload the launcher runs the
# in-memory broker, ipflow.kafka_bootstrap() names it, the topics of
# ipflow.topics exist there with their partition counts, and events
# produced to it (by kcat, and by ipflow.send) are ingested.  Switches back
# to the harness broker after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
cleanup() {
    sql -c "ALTER SYSTEM RESET ipflow.kafka_brokers" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" \
    -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$(cd "$here/../.." && pwd)/data/seed-config.json')::jsonb)" >/dev/null
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
harness_bootstrap=$(sql -c "SELECT ipflow.kafka_bootstrap()")

echo "1..10"
sql -c "ALTER SYSTEM SET ipflow.kafka_brokers = 'embedded'" -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "SELECT ipflow.kafka_bootstrap() IS NOT NULL AND ipflow.kafka_bootstrap() <> '$harness_bootstrap'" t 30 "ipflow.kafka_bootstrap() names the embedded broker"
embedded=$(sql -c "SELECT ipflow.kafka_bootstrap()")
ok_wait "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions = 'LogTopic[0,1,2]'" 1 60 "the ingest worker consumes LogTopic's three partitions from it"
is "$(kcat -L -b "$embedded" -t LogTopic 2>/dev/null | grep -c 'partition [0-9]')" 3 \
    "the embedded broker has LogTopic with the partition count of ipflow.topics"

sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects" >/dev/null
generate_events 20 50 '2022-09-01 00:00' 41 >"$work/e"
IPFLOW_KAFKA_BOOTSTRAP=$embedded produce LogTopic <"$work/e"
ok_wait "SELECT count(*) FROM ipflow.events" "$(wc -l <"$work/e")" 60 "events produced to the embedded broker are ingested"
sent=$(sql -c "SELECT ipflow.send(\$q\$SELECT '192.0.2.50'::inet AS src_ip, ts, 1 AS unq_dst_ip, 2 AS allow, 0 AS \"drop\",
    2 AS frequency, 3 AS pkts_sent, 3 AS pkts_received, 300 AS bytesin, 300 AS bytesout, 1 AS unq_dst_port
    FROM generate_series('2022-10-03 08:00+00'::timestamptz, '2022-10-04 07:00+00', '1 hour') AS ts\$q\$)" 2>&1)
ok_wait "SELECT count(*) FROM ipflow.events WHERE src_ip = '192.0.2.50'" "24" 60 \
    "ipflow.send() produces to the embedded broker (sent: $sent)"

# ipflow.init(): a new topic of ipflow.topics is created, existing ones are fine,
# twice changes nothing, and a topic with another partition count is refused
sql -c "INSERT INTO ipflow.topics VALUES ('InitTopic', 5, 1) ON CONFLICT DO NOTHING" >/dev/null
is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'topic' AND name = 'LogTopic'")" "exists (3 partitions)" \
    "init finds LogTopic with the partition count of ipflow.topics"
is "$(kcat -L -b "$embedded" -t InitTopic 2>/dev/null | grep -c 'partition [0-9]')" 5 "init created InitTopic with 5 partitions"
is "$(sql -c "SELECT string_agg(status, ',' ORDER BY name) FROM ipflow.init() WHERE kind = 'topic' AND name IN ('InitTopic', 'LogTopic')")" \
    "exists (5 partitions),exists (3 partitions)" "init twice changes nothing"
sql -c "UPDATE ipflow.topics SET num_partitions = 4 WHERE name = 'InitTopic'" >/dev/null
err=$(sql -c "SELECT * FROM ipflow.init()" 2>&1 || true)
sql -c "DELETE FROM ipflow.topics WHERE name = 'InitTopic'" >/dev/null
ok "$(echo "$err" | grep -q 'has 5 partitions, but ipflow.topics says 4'; echo $?)" \
    "init refuses a topic whose partition count differs from ipflow.topics" "$err"

sql -c "ALTER SYSTEM RESET ipflow.kafka_brokers" -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "SELECT ipflow.kafka_bootstrap()" "$harness_bootstrap" 30 "switching back to the harness broker takes effect on reload"
