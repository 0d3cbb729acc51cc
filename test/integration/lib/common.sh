# Shared by the integration tests: TAP output, SQL, producing to Kafka and
# waiting for the ingest workers.  Needs the harness environment
# (eval "$(test/harness env)").

tap_n=0
ok() {		# ok CONDITION-EXIT-STATUS DESCRIPTION [DIAGNOSTIC]
    tap_n=$((tap_n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        [ -n "${3:-}" ] && echo "#   $3"
    fi
    return 0
}
is() {		# is GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got '$1', want '$2'"; fi
}

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }

# Produces "key<TAB>payload" lines from stdin, keyed, with Kafka's default
# partitioner (murmur2), as a Java producer keyed by IP would.
produce() {		# produce TOPIC < lines
    kcat -P -b "$IPFLOW_KAFKA_BOOTSTRAP" -t "$1" -K $'\t' -X partitioner=murmur2_random \
        -X queue.buffering.max.messages=1000000 -z zstd
}

# Waits until the query returns the wanted value; fails after a timeout.
wait_for() {	# wait_for QUERY WANT [SECONDS]
    local deadline=$(( $(date +%s) + ${3:-60} )) got
    while :; do
        got=$(sql -c "$1" 2>/dev/null)
        [ "$got" = "$2" ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && { echo "#   waited for [$1] = $2, last got $got"; return 1; }
        sleep 0.2
    done
}

# A test that passes when the query reaches the value in time.
ok_wait() {	# ok_wait QUERY WANT SECONDS DESCRIPTION
    if wait_for "$1" "$2" "$3"; then ok 0 "$4"; else ok 1 "$4"; fi
}

# Ready for generated traffic: the extension with the original config, an
# ingest worker consuming LogTopic, behaviour profiles learned from
# data/logs.csv (unless some are).  Prints a failing plan and exits if no
# worker consumes within a minute.
ready_for_generated_traffic() {
    local top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
    sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
    sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" >/dev/null
    wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
        || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
    if [ "$(sql -c "SELECT count(*) FROM ipflow.profiles")" = 0 ]; then
        sql -c "TRUNCATE ipflow.real_events" -c "SELECT ipflow.load_csv('$top/data/logs.csv')" \
            -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
    fi
}

# The ingest workers' counters summed over all workers.
stat_sum() { sql -c "SELECT coalesce(sum($1), 0) FROM ipflow.stats WHERE kind = 'ingest'"; }

# Lines of generated events: NIPS addresses x HOURS hours from START,
# values derived from the numbers so checksums can be recomputed in SQL.
generate_events() {	# generate_events NIPS HOURS START SEED
    sql <<SQL
SELECT host(ip) || E'\t' || json_build_object(
         'src_ip', host(ip),
         'unq_dst_ip', ((h * 7 + k) % 50)::text, 'allow', (h * 3 + k) % 100, 'drop', ((h + k * 5) % 20)::text,
         'frequency', ((h * 3 + k) % 100 + (h + k * 5) % 20)::text, 'pkts_sent', (h * 13 + k) % 1000,
         'pkts_received', ((h * 17 + k) % 1000)::text, 'bytesin', ((h * 1009 + k * 7) % 100000)::text,
         'bytesout', (h * 2003 + k * 11) % 1000000, 'unq_dst_port', ((h + k) % 9)::text,
         'timestamp', to_char('$3'::timestamp + make_interval(hours => h), 'YYYY-MM-DD HH24:MI:SS'))
  FROM generate_series(1, $1) AS k,
       LATERAL (SELECT ('10.$4.0.0'::inet + k) AS ip) AS a,
       generate_series(0, $2 - 1) AS h
 ORDER BY h, k;
SQL
}

# The harness's redis-server: commands, and stopping and starting it (a
# stop saves its data, as a SIGTERM does).
redis_cli() { redis-cli -p "$IPFLOW_REDIS_PORT" "$@"; }
redis_stop() {
    redis_cli shutdown save >/dev/null 2>&1 || true
    while redis_cli ping >/dev/null 2>&1; do sleep 0.1; done
}
redis_start() {
    redis-server --port "$IPFLOW_REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --pidfile "$IPFLOW_HARNESS_DIR/redis.pid" --logfile "$IPFLOW_HARNESS_DIR/redis.log" \
        --dir "$IPFLOW_HARNESS_DIR" --save '' --appendonly no >/dev/null
    until redis_cli ping >/dev/null 2>&1; do sleep 0.1; done
}
