#!/usr/bin/env bash
# The generator end to end: data/logs.csv loaded, profiles learned, events
# generated and sent (from a query and directly) arrive in ipflow.events
# exactly once, as generated; load_csv refuses bad files by line;
# send_json_dir sends the original cl_logs files in numeric order from the
# cursor, refuses a malformed file by name without sending any of it, and
# resumes after it once fixed.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
chmod 755 "$work"		# the server (user postgres) reads the files here
trap 'rm -rf "$work"' EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
sql -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
sql -c "TRUNCATE ipflow.real_events, ipflow.generated_anomalies" -c "DELETE FROM ipflow.profiles" >/dev/null

# The generated events of (n_ips, start, hours, seed) not in ipflow.events, and the reverse.
columns="src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port"
missing() {	# missing N START HOURS SEED [OPTIONS]
    echo "SELECT count(*) FROM (SELECT $columns FROM ipflow.generate_events($1, '$2', $3, $4, '${5:-{\}}')
                                EXCEPT SELECT $columns FROM ipflow.events) AS d"
}
extra() {	# extra N START HOURS SEED
    echo "SELECT count(*) FROM ipflow.events e
           WHERE e.src_ip IN (SELECT DISTINCT src_ip FROM ipflow.generate_events($1, '$2', $3, $4))
             AND (e.src_ip, e.ts) NOT IN (SELECT src_ip, ts FROM ipflow.generate_events($1, '$2', $3, $4))"
}

echo "1..19"

# 1. real data in, profiles out
is "$(sql -c "SELECT ipflow.load_csv('$top/data/logs.csv')")" 4950 "load_csv loads the 4950 rows of logs.csv"
is "$(sql -c "SELECT string_agg(name || ':' || rows, ' ' ORDER BY name) FROM ipflow.learn_profiles('ipflow.real_events')")" \
    "187.44.158.33:1650 229.46.205.74:1650 46.39.79.251:1650" "one profile per real IP"

# 2. generated events sent through a query arrive exactly once, as generated
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events(30, '2031-03-03', 72, 101)")
is "$(sql -c "SELECT ipflow.send('SELECT * FROM ipflow.generate_events(30, ''2031-03-03'', 72, 101)')")" "$want" \
    "send(query) returns the $want events Kafka acknowledged"
ok_wait "$(missing 30 2031-03-03 72 101)" 0 60 "every generated event is in ipflow.events, value for value"
is "$(sql -c "$(extra 30 2031-03-03 72 101)")" 0 "and nothing else of those IPs"
is "$(sql -c "SELECT count(*) > 0 FROM ipflow.generated_anomalies WHERE seed = 101")" t \
    "the injected anomalies are recorded"

# 3. the generator sent directly, with options
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events(40, '2031-03-10', 48, 102, '{\"time_jitter\": 600}')")
is "$(sql -c "SELECT ipflow.send(40, '2031-03-10', 48, 102, '{\"time_jitter\": 600}')")" "$want" \
    "send(n_ips, start, hours, seed, options) sends what generate_events returns ($want)"
ok_wait "$(missing 40 2031-03-10 48 102 '{"time_jitter": 600}')" 0 60 "they all arrive, as generated"
is "$(sql -c "SELECT count(*) FROM ipflow.rejects WHERE received_at > now() - interval '5 minutes'")" 0 \
    "ingestion rejected none of the payloads"

# 4. load_csv refuses bad files, naming the line
printf 'src_ip,unq_dst_ip,allow\n1.2.3.4,1,2\n' >"$work/bad_header.csv"
{ head -3 "$top/data/logs.csv"; echo '1.2.3.4,3,17,1,18,161,121,23066,79466,2,2022-13-03 08:00:00'; } >"$work/bad_row.csv"
: >"$work/empty.csv"
chmod 644 "$work"/*.csv
err=$(sql -c "SELECT ipflow.load_csv('$work/bad_header.csv', 'ipflow.real_events')" 2>&1 || true)
ok "$([[ $err == *'line 1: the header has no column "drop"'* ]]; echo $?)" "a bad header is refused" "$err"
err=$(sql -c "SELECT ipflow.load_csv('$work/bad_row.csv')" 2>&1 || true)
ok "$([[ $err == *'line 4: timestamp "2022-13-03 08:00:00"'* && $err == *'Nothing was loaded'* ]]; echo $?)" \
    "a bad row is refused with its line number" "$err"
err=$(sql -c "SELECT ipflow.load_csv('$work/empty.csv')" 2>&1 || true)
ok "$([[ $err == *'is empty'* ]]; echo $?)" "an empty file is refused" "$err"
is "$(sql -c "SELECT count(*) FROM ipflow.real_events")" 4950 "nothing of a refused file is loaded"

# 5. send_json_dir: the original files, in numeric order after the cursor
dir=$work/cl_logs
mkdir "$dir"
events() {	# events OFFSET COUNT: payloads of generated events, one per line
    sql -c "SELECT payload FROM ipflow.generate_events(5, '2031-04-07', 24, 103) OFFSET $1 LIMIT $2"
}
events 0 3 | paste -sd, | sed 's/^/[/; s/$/]/' >"$dir/1.json"        # a JSON array
events 3 4 >"$dir/2.json"                                            # one event per line
{ echo '['; events 7 2 | paste -sd,; echo ',{"src_ip": "1.2.3.4", "timestamp": '; } >"$dir/3.json"   # cut short
events 9 3 | paste -sd, | sed 's/^/[/; s/$/]/' >"$dir/4.json"
events 12 2 >"$dir/10.json"                                          # 10 comes after 4
echo 'not an event file' >"$dir/notes.txt"
chmod 755 "$dir"; chmod 644 "$dir"/*
sql -c "DELETE FROM ipflow.sender_cursor" >/dev/null
err=$(sql -c "CALL ipflow.send_json_dir('$dir')" 2>&1 || true)
ok "$([[ $err == *'3.json" is malformed'* && $err == *'Nothing of this file was sent'* ]]; echo $?)" \
    "a malformed file is refused by name" "$err"
is "$(sql -c "SELECT last_processed_file FROM ipflow.sender_cursor")" 2.json \
    "the cursor stays at the last file delivered"
ok_wait "SELECT count(*) FROM ipflow.events e JOIN (SELECT src_ip, ts FROM ipflow.generate_events(5, '2031-04-07', 24, 103) LIMIT 9) g USING (src_ip, ts)" \
    7 60 "the events of 1.json and 2.json arrive, none of 3.json"
events 7 2 >"$dir/3.json"
is "$(sql -c "CALL ipflow.send_json_dir('$dir')" | tr '|' ' ')" "3 7 10.json" \
    "once fixed, 3.json, 4.json and 10.json are sent (files, events, cursor)"
ok_wait "SELECT count(*) FROM ipflow.events e JOIN (SELECT src_ip, ts FROM ipflow.generate_events(5, '2031-04-07', 24, 103) LIMIT 14) g USING (src_ip, ts)" \
    14 60 "every event of the files arrives exactly once"
is "$(sql -c "CALL ipflow.send_json_dir('$dir')" | tr '|' ' ')" "0 0 10.json" "calling again sends nothing"
