#!/usr/bin/env bash
# The sender worker streams generated events to a topic at a pace; it is
# stopped mid-stream and started again, and the server is restarted
# mid-stream (pg_ctl restart: the worker finishes its batch, commits its
# cursor, and resumes by itself).  Afterwards the topic holds every event of
# the stream exactly once, in generation order within each partition, and
# the ground truth of the stream is recorded.  Also: the hour pace (one
# simulated hour every N seconds) cannot be outrun.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
trap 'sql -c "SELECT ipflow.stop_sender()" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin=$(pg_config --bindir)
topic=gen_sender
stream="40, '2032-02-02', 301, hours => 48"

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" \
    -c "INSERT INTO ipflow.topics VALUES ('$topic', 3, 1) ON CONFLICT (name) DO NOTHING" >/dev/null
if [ "$(sql -c "SELECT count(*) FROM ipflow.profiles")" = 0 ]; then
    sql -c "TRUNCATE ipflow.real_events" -c "SELECT ipflow.load_csv('$top/data/logs.csv')" \
        -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
fi
sql -c "DELETE FROM ipflow.generated_anomalies WHERE seed IN (301, 302)" >/dev/null
total=$(sql -c "SELECT count(*) FROM ipflow.generate_events(40, '2032-02-02', 48, 301)")
sql -c "DELETE FROM ipflow.generated_anomalies WHERE seed = 301" >/dev/null

# where each partition of the topic ends now: the stream's messages follow
declare -a from
for p in 0 1 2; do
    last=$(kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t $topic -p $p -o -1 -e -q -f '%o\n' 2>/dev/null | tail -1)
    from[$p]=$(( ${last:--1} + 1 ))
done
consume() {	# the stream's messages so far: partition, offset, key, payload
    for p in 0 1 2; do
        kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t $topic -p $p -o "${from[$p]}" -e -q -f '%p\t%o\t%k\t%s\n'
    done
}
sent() { sql -c "SELECT sent FROM ipflow.sender"; }

echo "1..11"

# 1. start, then stop mid-stream: the cursor counts exactly what the topic has
row=$(sql -c "SELECT stream, resumed, sent FROM ipflow.start_sender($stream, events_per_second => 200, topic => '$topic')")
ok_wait "SELECT state FROM ipflow.sender" sending 30 "the sender worker starts streaming (stream $row)"
wait_for "SELECT sent >= 150 FROM ipflow.sender" t 30 || true
is "$(sql -c "SELECT ipflow.stop_sender()")" t "stop_sender stops a running stream"
ok_wait "SELECT state FROM ipflow.sender" stopped 30 "the worker stops after its batch"
stopped_at=$(sent)
ok "$([ "$stopped_at" -gt 0 ] && [ "$stopped_at" -lt "$total" ]; echo $?)" \
    "it stopped mid-stream ($stopped_at of $total events)"
is "$(consume | wc -l)" "$stopped_at" "the topic holds exactly the events the cursor counts"

# 2. start again, then restart the server mid-stream
is "$(sql -c "SELECT resumed, sent FROM ipflow.start_sender()")" "t|$stopped_at" "start_sender() resumes at the cursor"
wait_for "SELECT sent >= $stopped_at + 200 FROM ipflow.sender" t 30 || true
as_postgres "$pgbin/pg_ctl" -D "$IPFLOW_HARNESS_DIR/pg" -l "$IPFLOW_HARNESS_DIR/postgres.log" -w -t 60 -m fast restart >/dev/null
restarted_at=$(sent)
ok "$([ "$restarted_at" -gt "$stopped_at" ] && [ "$restarted_at" -lt "$total" ]; echo $?)" \
    "the server restarted mid-stream ($restarted_at of $total events)"
ok_wait "SELECT state || ' ' || sent FROM ipflow.sender" "finished $total" 60 \
    "after the restart the worker resumes by itself and finishes the stream"

# 3. exactly once, in order per partition
consume >"$work/got"
truth=$(sql -c "SELECT count(*) FROM ipflow.generated_anomalies WHERE seed = 301")
sql >"$work/check" <<SQL
CREATE TEMP TABLE got (p int, o bigint, k text, payload text);
\copy got FROM '$work/got'
CREATE TEMP TABLE want AS
  SELECT row_number() OVER () AS n, host(src_ip) AS k, payload, ipflow.partition_for(src_ip, 3) AS p
    FROM ipflow.generate_events(40, '2032-02-02', 48, 301);
SELECT (SELECT count(*) FROM got) || ' ' || (SELECT count(*) FROM (
  (SELECT p, k, row_number() OVER (PARTITION BY p ORDER BY o) AS i, payload FROM got
   EXCEPT SELECT p, k, row_number() OVER (PARTITION BY p ORDER BY n), payload FROM want)
  UNION ALL
  (SELECT p, k, row_number() OVER (PARTITION BY p ORDER BY n), payload FROM want
   EXCEPT SELECT p, k, row_number() OVER (PARTITION BY p ORDER BY o) AS i, payload FROM got)) AS d);
SQL
is "$(cat "$work/check")" "$total 0" \
    "the topic holds all $total events once each, in generation order within each partition"
is "$(sql -c "SELECT count(*) FROM ipflow.generated_anomalies WHERE seed = 301")" "$truth" \
    "the worker recorded the stream's whole ground truth ($truth anomalies)"

# 4. one simulated hour every 0.5 s: 6 hours cannot take less than 2.5 s
t0=$(date +%s.%N)
sql -c "SELECT * FROM ipflow.start_sender(5, '2032-02-02 08:00', 302, hours => 6, seconds_per_hour => 0.5, topic => '$topic')" >/dev/null
wait_for "SELECT state FROM ipflow.sender" finished 60 || true
elapsed=$(echo "$(date +%s.%N) - $t0" | bc -l)
ok "$(echo "$elapsed >= 2.5" | bc -l | grep -q 1; echo $?)" \
    "a new stream replaces the finished one and keeps the hour pace (6 hours in $(printf %.1f "$elapsed") s)"
