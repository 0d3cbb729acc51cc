#!/usr/bin/env bash
# Two Postgres servers in one consumer group split LogTopic's partitions;
# when one stops ingesting, the other takes its partitions over from the
# committed offsets: every event ends up on exactly one server.  Starts a
# second server (its own harness, sharing this harness's Kafka broker).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
# beside this harness's directory, so harnesses on other ports never share it
b_dir=${IPFLOW_HARNESS_DIR:-/tmp/ipflow-harness}-b
b_env=(IPFLOW_HARNESS_DIR=$b_dir IPFLOW_PGPORT=$((PGPORT + 2))
       IPFLOW_REDIS_PORT=$((IPFLOW_REDIS_PORT + 2)) IPFLOW_SHARED_KAFKA="$IPFLOW_KAFKA_BOOTSTRAP")
cleanup() {
    env "${b_env[@]}" "$top/test/harness" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

sqlb() { psql -h "$b_dir" -p $((PGPORT + 2)) -qAtX -v ON_ERROR_STOP=1 "$@"; }
seed="SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)"
assigned="SELECT coalesce(string_agg(partitions, ''), '') FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL"

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" -c "$seed" >/dev/null
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects" >/dev/null

echo "1..7"
env "${b_env[@]}" "$top/test/harness" start 2>/dev/null
sqlb -c "CREATE EXTENSION ipflow" -c "$seed" >/dev/null

# both servers get partitions, and together all three, each once
deadline=$(( $(date +%s) + 90 ))
while :; do
    a=$(sql -c "$assigned"); b=$(sqlb -c "$assigned")
    parts=$(echo "$a$b" | { grep -o '[0-9]' || true; } | sort | tr -d '\n')
    [ "$parts" = 012 ] && [ "$a" != "LogTopic[]" ] && [ -n "$a" ] && [ "$b" != "LogTopic[]" ] && [ -n "$b" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.5
done
is "$parts" 012 "the two servers split partitions 0, 1, 2 between them ($a and $b)"

generate_events 60 100 '2022-07-01 00:00' 31 >"$work/a"
n=$(wc -l <"$work/a")
produce LogTopic <"$work/a"
deadline=$(( $(date +%s) + 90 ))
while [ $(( $(sql -c "SELECT count(*) FROM ipflow.events") + $(sqlb -c "SELECT count(*) FROM ipflow.events") )) -lt "$n" ] \
      && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
ca=$(sql -c "SELECT count(*) FROM ipflow.events"); cb=$(sqlb -c "SELECT count(*) FROM ipflow.events")
is "$((ca + cb))" "$n" "together they store all $n events ($ca + $cb)"
ok "$([ "$ca" -gt 0 ] && [ "$cb" -gt 0 ]; echo $?)" "both servers ingest"

# server B stops ingesting in the middle of a stream; A takes over
generate_events 60 200 '2022-08-01 00:00' 31 >"$work/b"
m=$(wc -l <"$work/b")
sqlb -c "ALTER SYSTEM SET ipflow.batch_size = 300" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "ALTER SYSTEM SET ipflow.batch_size = 300" -c "SELECT pg_reload_conf()" >/dev/null
head -n $((m / 2)) "$work/b" | produce LogTopic
before=$cb
while [ "$(sqlb -c "SELECT count(*) FROM ipflow.events")" -le "$before" ]; do sleep 0.1; done
sqlb -c "ALTER SYSTEM SET ipflow.ingest_workers = 0" -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "$assigned" "LogTopic[0,1,2]" 90 "server A takes over all partitions"
tail -n +$((m / 2 + 1)) "$work/b" | produce LogTopic
deadline=$(( $(date +%s) + 120 ))
while [ $(( $(sql -c "SELECT count(*) FROM ipflow.events") + $(sqlb -c "SELECT count(*) FROM ipflow.events") )) -lt $((n + m)) ] \
      && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
sleep 1
ca=$(sql -c "SELECT count(*) FROM ipflow.events"); cb=$(sqlb -c "SELECT count(*) FROM ipflow.events")
is "$((ca + cb))" "$((n + m))" "after the takeover every event is stored, once ($ca + $cb)"
sqlb -c "\\copy (SELECT src_ip, ts FROM ipflow.events) TO '$work/b.keys'"
both=$(sql <<SQL
CREATE TEMP TABLE b_keys (src_ip inet, ts timestamptz);
\\copy b_keys FROM '$work/b.keys'
SELECT count(*) FROM b_keys JOIN ipflow.events e USING (src_ip, ts);
SQL
)
is "$both" 0 "no event is stored on both servers"
sql -c "ALTER SYSTEM RESET ipflow.batch_size" -c "SELECT pg_reload_conf()" >/dev/null
is "$(sql -c "SELECT count(*) FROM ipflow.ips i WHERE events <> (SELECT count(*) FROM ipflow.events e WHERE e.src_ip = i.src_ip)")" 0 \
    "server A's per-IP counts agree with its events"
