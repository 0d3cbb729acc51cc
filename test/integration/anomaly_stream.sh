#!/usr/bin/env bash
# The streaming anomaly detector end to end: generated traffic with injected
# anomalies, sent through Kafka, is scored as it is ingested; every alert is
# a row of ipflow.anomalies (source stream), a NOTIFY ipflow_anomaly with
# the same JSON and a message on AnomalyTopic keyed by the IP on the IP's
# partition; the detector states live in ipflow.ips; the alerts find the
# generator's incidents (evaluate_anomalies); with ipflow.anomaly_detection
# off, events are stored unscored.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
chmod 755 "$work"
listener=
trap '[ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$work"' EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
sql -c "TRUNCATE ipflow.real_events, ipflow.generated_anomalies, ipflow.anomalies" \
    -c "DELETE FROM ipflow.profiles" >/dev/null
sql -c "SELECT ipflow.load_csv('$top/data/logs.csv')" -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
# the topic's messages from here on
declare -A from
for p in 0 1 2; do
    last=$(kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t AnomalyTopic -p $p -o -1 -e -q -f '%o\n' 2>/dev/null | tail -1)
    from[$p]=$(( ${last:--1} + 1 ))
done

echo "1..16"

# a session listening to the alerts until told to stop
mkfifo "$work/stop"
{ echo "LISTEN ipflow_anomaly;"; cat "$work/stop"; echo "SELECT 1;"; } | psql -qAtX >"$work/notified" 2>&1 &
listener=$!
sleep 1

# 1. three weeks of 60 generated IPs, with the default anomalies
start='2032-01-05 00:00+00'
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events(60, '$start', 504, 301)")
sql -c "TRUNCATE ipflow.generated_anomalies" >/dev/null
is "$(sql -c "SELECT ipflow.send(60, '$start', 504, 301)")" "$want" "the $want generated events are sent"
ok_wait "SELECT count(*) FROM ipflow.events WHERE ts >= '$start' AND ts < '$start'::timestamptz + interval '504 hours'" \
    "$want" 120 "and stored"
rows=$(sql -c "SELECT count(*) FROM ipflow.anomalies WHERE source = 'stream' AND ts >= '$start'")
ok "$([ "$rows" -gt 0 ]; echo $?)" "the streaming detector flagged $rows values"
is "$(sql -c "SELECT count(*) FROM ipflow.ips i WHERE src_ip IN (SELECT src_ip FROM ipflow.events WHERE ts >= '$start')
              AND octet_length(detector) = 9 * 444")" 60 "every IP keeps its nine detector states in ipflow.ips"

# 2. what they found
read -r found incidents precision < <(sql -F ' ' -c "SELECT found, incidents, round(\"precision\"::numeric, 3)
    FROM ipflow.evaluate_anomalies('$start', '$start'::timestamptz + interval '504 hours') WHERE kind = 'all'")
ok "$([ "$found" -gt $((incidents / 3)) ]; echo $?)" "the alerts find injected incidents ($found of $incidents)"
ok "$(sql -c "SELECT $precision >= 0.5" | grep -q t; echo $?)" "most alerts are injected anomalies (precision $precision)"

# 3. NOTIFY: one per row, with the row as JSON
echo >"$work/stop"
wait "$listener" || true
listener=
grep -o 'payload "{.*}" received' "$work/notified" | sed 's/^payload "//; s/" received$//' >"$work/payloads" || true
is "$(wc -l <"$work/payloads")" "$rows" "one NOTIFY ipflow_anomaly per alert"
sql >"$work/notifycheck" <<SQL
CREATE TEMP TABLE notified (payload jsonb);
\copy notified FROM '$work/payloads'
SELECT count(*) FROM ipflow.anomalies a JOIN notified n
    ON (n.payload->>'src_ip')::inet = a.src_ip AND n.payload->>'feature' = a.feature
   AND (n.payload->>'ts')::timestamptz = a.ts AND (n.payload->>'score')::float8 = a.score
   AND (n.payload->>'value')::float8 = a.value AND n.payload->>'source' = 'stream'
 WHERE a.source = 'stream' AND a.ts >= '$start';
SQL
is "$(cat "$work/notifycheck")" "$rows" "each payload is its row"

# 4. the topic: the same alerts, keyed by IP, on the IP's partition; they
# are published after each batch commits, so a loaded machine may still be
# sending the last ones: read again for up to 30 s until all are there
deadline=$(( $(date +%s) + 30 ))
while :; do
    for p in 0 1 2; do
        kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t AnomalyTopic -p $p -o "${from[$p]}" -e -q -f '%p\t%k\t%s\n'
    done >"$work/topic"
    sql >"$work/topiccheck" <<SQL
CREATE TEMP TABLE topic (partition int, key text, payload jsonb);
\copy topic FROM '$work/topic'
SELECT (SELECT count(DISTINCT (key, payload->>'feature', payload->>'ts')) FROM topic),
       (SELECT count(*) FROM topic t JOIN ipflow.anomalies a
            ON t.key = host(a.src_ip) AND (t.payload->>'src_ip')::inet = a.src_ip AND t.payload->>'feature' = a.feature
           AND (t.payload->>'ts')::timestamptz = a.ts AND t.partition = ipflow.partition_for(a.src_ip)
         WHERE a.source = 'stream');
SQL
    read -r distinct matching < <(tr '|' ' ' <"$work/topiccheck")
    [ "$distinct" -ge "$rows" ] || [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 1
done
is "$distinct" "$rows" "AnomalyTopic carries every alert"
ok "$([ "$matching" -ge "$rows" ]; echo $?)" "keyed by IP, on the IP's partition ($matching messages match rows)"

# 5. resent events (as a replay after a crash would bring them) are not
# scored again, and their stored alerts go to the topic again: the crash
# may have come before the topic had them
sql -c "SELECT ipflow.send(60, '$start', 504, 301)" >/dev/null
ok_wait "SELECT sum(duplicates) >= $want FROM ipflow.stats WHERE kind = 'ingest'" t 120 "the resent events are consumed as duplicates"
for p in 0 1 2; do
    kcat -C -b "$IPFLOW_KAFKA_BOOTSTRAP" -t AnomalyTopic -p $p -o "${from[$p]}" -e -q -f '%p\t%k\t%s\n'
done >"$work/topic"
is "$(sql -c "SELECT count(*) FROM ipflow.anomalies WHERE source = 'stream' AND ts >= '$start'")" "$rows" \
    "no alert is stored twice"
is "$(wc -l <"$work/topic")" "$((2 * rows))" "every stored alert is on the topic again"

# 6. switched off: stored, not scored, states left alone
sql -c "ALTER SYSTEM SET ipflow.anomaly_detection = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
states=$(sql -c "SELECT md5(string_agg(detector::text, '' ORDER BY src_ip)) FROM ipflow.ips")
# the next week of the same IPs, with many anomalies
more=$(sql -c "SELECT count(*) FROM ipflow.generate_events(60, '$start'::timestamptz + interval '504 hours', 168, 301, '{\"anomaly_rate\": 0.2}')")
sql -c "SELECT ipflow.send(60, '$start'::timestamptz + interval '504 hours', 168, 301, '{\"anomaly_rate\": 0.2}')" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.events WHERE ts >= '$start'" "$((want + more))" 120 "with detection off, events are stored"
is "$(sql -c "SELECT count(*) FROM ipflow.anomalies WHERE source = 'stream' AND ts >= '$start'")" "$rows" \
    "but not scored"
is "$(sql -c "SELECT md5(string_agg(detector::text, '' ORDER BY src_ip)) FROM ipflow.ips")" "$states" \
    "and the detector states are as they were"
sql -c "ALTER SYSTEM RESET ipflow.anomaly_detection" -c "SELECT pg_reload_conf()" >/dev/null
