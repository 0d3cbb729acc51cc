# Shared by the fault tests: a steady stream of synthetic events with known
# per-IP checksums, and the checks every fault must pass afterwards:
#   events     == what was produced, exactly (count and per-IP checksums)
#   ip_stats   agree with events
#   the Redis mirror == events, once it has caught up
#   dump       moves everything into history, which then equals events
#   aggregates the latest message per IP agrees with ipflow.ips and sits on
#              the IP's partition
# Each test streams its own IPs (kafkatool --ip-offset), so the aggregate
# topic's latest message per IP belongs to that test.  Needs the harness.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../integration/lib/common.sh"

FAULT_IPS=${FAULT_IPS:-200}
FAULT_COUNT=${FAULT_COUNT:-12000}
FAULT_RATE=${FAULT_RATE:-2000}

# Starts ipflow and empties what the checks compare.
fault_setup() {
    sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null 2>&1
    sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$(cd "$here/../.." && pwd)/data/seed-config.json')::jsonb)" >/dev/null
    wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
        || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
    wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
    sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects, ipflow.history, ipflow.mirror_progress" >/dev/null
    redis_cli flushall >/dev/null
}

# Streams FAULT_COUNT events of IPs OFFSET+1.. in the background, at FAULT_RATE/s.
stream_start() {	# stream_start OFFSET
    fault_offset=$1
    test/bin/kafkatool stream --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" --topic LogTopic --ips "$FAULT_IPS" \
        --ip-offset "$fault_offset" --count "$FAULT_COUNT" --rate "$FAULT_RATE" --first-hour 100 \
        ${FAULT_LINGER:+--linger "$FAULT_LINGER"} \
        >/dev/null 2>&1 &
    stream_pid=$!
}

stream_wait() {
    wait "$stream_pid" && ok 0 "the producer delivered all $FAULT_COUNT events" \
        || ok 1 "the producer delivered all $FAULT_COUNT events"
}

# What kafkatool sent, per IP: the same arithmetic as its format_event.
expected_sql() {
    cat <<SQL
SELECT ('10.' || (k >> 16 & 255) || '.' || (k >> 8 & 255) || '.' || (k & 255))::inet AS src_ip,
       count(*) AS n, sum((h * 7 + k) % 50) AS unq, sum((h * 1009 + k * 7) % 100000) AS bin,
       sum((h * 2003 + k * 11) % 1000000) AS bout, min(h) AS first_hour
  FROM (SELECT $fault_offset + 1 + i % $FAULT_IPS AS k, 100 + i / $FAULT_IPS AS h
          FROM generate_series(0, $FAULT_COUNT - 1) AS i) AS s
 GROUP BY 1
SQL
}

# The five checks, as TAP lines.
check_all() {
    local what=$1 stored
    stored="SELECT src_ip, count(*), sum(unq_dst_ip), sum(bytesin), sum(bytesout),
                   (min(extract(epoch FROM ts)) - 1640995200) / 3600 FROM ipflow.events GROUP BY 1"
    ok_wait "SELECT count(*) FROM ipflow.events" "$FAULT_COUNT" 120 "$what: every one of $FAULT_COUNT events is stored"
    is "$(sql -c "SELECT count(*) FROM (($(expected_sql) EXCEPT $stored) UNION ALL ($stored EXCEPT $(expected_sql))) AS d")" 0 \
        "$what: events equal what was produced, per IP (count and checksums): nothing lost, nothing twice"

    is "$(sql -c "SELECT count(*) FROM (
        SELECT e.src_ip, f.feature, count(f.value), round(avg(f.value)::numeric, 6), min(f.value), max(f.value)
          FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
               ('drop', \"drop\"), ('bytesin', bytesin), ('bytesout', bytesout)) AS f(feature, value)
         GROUP BY 1, 2
        EXCEPT
        SELECT src_ip, feature, count, round(mean::numeric, 6), min, max FROM ipflow.ip_stats
         WHERE feature IN ('unq_dst_ip', 'allow', 'drop', 'bytesin', 'bytesout')) AS d")" 0 \
        "$what: ip_stats agree with events"

    ok_wait "SELECT string_agg(mirror || ' ' || mirror_lag, ',') FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL" \
        "live 0" 90 "$what: the Redis mirror has caught up"
    is "$(sql -c "$(unpivot_diff "ipflow.ips i CROSS JOIN unnest(ipflow.features()) AS f(feature)
                    CROSS JOIN LATERAL ipflow.redis_series(i.src_ip, f.feature) AS r" "i.src_ip, f.feature, r.ts, r.value")")" 0 \
        "$what: Redis holds exactly the samples of the events"

    local dumped
    dumped=$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()" 2>&1) || true
    is "$(sql -c "$(unpivot_diff "ipflow.history h" "h.src_ip, h.feature, h.ds, h.value")")" 0 \
        "$what: dump moved every sample into history, once (dump said: $dumped)"

    kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t SparkStreamingTopic -o beginning -e -q -f '%k\t%p\t%s\n' \
        >"$work/aggregates" 2>/dev/null || true
    is "$(sql <<SQL
CREATE TEMP TABLE agg (key text, part int, payload jsonb);
\\copy agg FROM '$work/aggregates'
WITH latest AS (
  SELECT DISTINCT ON (key) key::inet AS ip, part, payload FROM agg
   WHERE key::inet IN (SELECT src_ip FROM ipflow.ips)
   ORDER BY key, (payload->>'events')::bigint DESC)
SELECT (SELECT count(*) FROM ipflow.ips) - count(*) FILTER (
         WHERE (payload->>'events')::bigint = i.events
           AND abs((payload->>'avg_unq_dst_ip')::float8 - i.feature_mean[1]) < 1e-9
           AND part = ipflow.partition_for(ip, 3))
  FROM latest JOIN ipflow.ips i ON i.src_ip = ip;
SQL
)" 0 "$what: the latest aggregate of every IP agrees with ipflow.ips and sits on its partition"
}

# Rows of the events' samples (ip, feature, time, value) not in SOURCE, and the reverse.
unpivot_diff() {	# unpivot_diff FROM-CLAUSE SELECT-LIST
    cat <<SQL
WITH e AS (
  SELECT e.src_ip, f.feature, e.ts, f.value::float8 AS value
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', "drop"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value)
   WHERE f.value IS NOT NULL),
s AS (SELECT $2 FROM $1)
SELECT count(*) FROM ((SELECT * FROM e EXCEPT SELECT * FROM s) UNION ALL (SELECT * FROM s EXCEPT SELECT * FROM e)) AS d
SQL
}

# The ingest worker's private memory (RssAnon, kB): RSS would also count the
# shared buffers it touched.
worker_anon_kb() {
    local pid
    pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
    awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0
}

# Samples worker_anon_kb every second into FILE until memory_under stops it.
sample_memory() {	# sample_memory FILE
    memory_file=$1
    while :; do worker_anon_kb >>"$memory_file"; sleep 1; done &
    sampler_pid=$!
}

# Stops the sampling and checks its peak, as a TAP line.
memory_under() {	# memory_under MB
    local first peak
    kill "$sampler_pid"; sampler_pid=
    first=$(head -1 "$memory_file")
    peak=$(sort -n "$memory_file" | tail -1)
    ok "$([ "$peak" -gt 0 ] && [ "$peak" -lt $(($1 * 1000)) ]; echo $?)" \
        "the worker's private memory stays under $1 MB (first sample $((first / 1024)) MB, peak $((peak / 1024)) MB)"
}
