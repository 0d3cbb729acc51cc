#!/usr/bin/env bash
# The Redis mirror with the timeseries backend: the checks of
# lib/redis_mirror.sh (init twice, mirror == events, Redis stopped
# mid-stream and caught up, dump once also when TS.DEL is refused, dump with
# Redis empty or down) against the Redis that IPFLOW_REDIS_TS_URL names
# (redis://host[:port][/db], a server with the RedisTimeSeries module on this
# machine), with ipflow.redis_url pointed at it and ipflow.redis_backend =
# timeseries by ALTER SYSTEM (both restored at the end).  Then what only this
# backend has: a seed user's TS.MRANGE, a series that existed with the
# module's default duplicate policy, a sample from before 1970, and auto
# picking timeseries there.
#
# That server is a throwaway: its database is flushed, and it is stopped
# (SHUTDOWN SAVE) and started again with the same executable, port,
# directory, files and modules.  Without IPFLOW_REDIS_TS_URL every check is
# a TAP skip.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/redis_mirror.sh"

EXTRA_CHECKS=5
echo "1..$((MIRROR_CHECKS + EXTRA_CHECKS))"
if [ -z "${IPFLOW_REDIS_TS_URL:-}" ]; then
    for i in $(seq $((MIRROR_CHECKS + EXTRA_CHECKS))); do
        echo "ok $i # SKIP no Redis with RedisTimeSeries (set IPFLOW_REDIS_TS_URL)"
    done
    exit 0
fi

backend=timeseries
url=$IPFLOW_REDIS_TS_URL
if [[ ! $url =~ ^redis://([^:/]+)(:([0-9]+))?(/([0-9]+))?$ ]]; then
    echo "not ok 1 - IPFLOW_REDIS_TS_URL is redis://host[:port][/db]"; echo "#   got '$url'"; exit 1
fi
ts_host=${BASH_REMATCH[1]} ts_port=${BASH_REMATCH[3]:-6379} ts_db=${BASH_REMATCH[5]:-0}
rcli() { redis-cli -h "$ts_host" -p "$ts_port" -n "$ts_db" "$@"; }
config() { rcli CONFIG GET "$1" | sed -n 2p; }

if ! rcli MODULE LIST 2>/dev/null | grep -qx timeseries; then
    echo "not ok 1 - IPFLOW_REDIS_TS_URL ($url) names a Redis with the RedisTimeSeries module"; exit 1
fi
# what it takes to start this server again as it is now
ts_exe=$(rcli INFO server | sed -n 's/^executable:\(.*\)\r$/\1/p')
[ -x "$ts_exe" ] || ts_exe=redis-server	# Redis joins a bare argv[0] to its cwd
ts_pidfile=$(config pidfile)
[ -n "$ts_pidfile" ] || ts_pidfile="$(config dir)/redis-$ts_port.pid"	# not /var/run/redis.pid
ts_args=(--port "$ts_port" --dir "$(config dir)" --dbfilename "$(config dbfilename)"
         --logfile "$(config logfile)" --pidfile "$ts_pidfile" --save "$(config save)"
         --appendonly "$(config appendonly)" --daemonize yes)
read -r -a ts_bind <<<"$(config bind)"
[ ${#ts_bind[@]} -gt 0 ] && ts_args+=(--bind "${ts_bind[@]}")
while read -r module; do ts_args+=(--loadmodule "$module"); done < <(rcli MODULE LIST | sed -n '/^path$/{n;p}')

rstop() {
    rcli SHUTDOWN SAVE >/dev/null 2>&1 || true
    while rcli PING >/dev/null 2>&1; do sleep 0.1; done
}
rstart() {
    "$ts_exe" "${ts_args[@]}" >/dev/null || true
    for _ in $(seq 100); do rcli PING >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "#   could not start $ts_exe ${ts_args[*]}"
}
settings() {	# settings URL BACKEND
    sql -c "ALTER SYSTEM SET ipflow.redis_url = '$1'" -c "ALTER SYSTEM SET ipflow.redis_backend = '$2'" \
        -c "SELECT pg_reload_conf()" >/dev/null
}

work=$(mktemp -d)
trap 'rm -rf "$work"; rcli PING >/dev/null 2>&1 || rstart
      rcli ACL SETUSER default +ts.del >/dev/null || true
      sql -c "ALTER SYSTEM RESET ipflow.redis_url" -c "ALTER SYSTEM RESET ipflow.redis_backend" \
          -c "SELECT pg_reload_conf()" >/dev/null' EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
# nothing stored before the switch, so nothing to catch up into this Redis
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects, ipflow.history, ipflow.mirror_progress" >/dev/null
settings "$url" timeseries
wait_for "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 30 || true
rcli FLUSHDB >/dev/null
# a series made before ipflow, with the module's default policy (BLOCK)
rcli TS.CREATE allow_10.21.0.30 LABELS srcIP 10.21.0.30 dataType allow >/dev/null

# 9-10, run by mirror_checks after its check 8, while Redis holds the first stream
after_stream_checks() {
    local mrange
    mrange=$(rcli -2 --json TS.MRANGE - + FILTER dataType=unq_dst_ip)
    is "$(sql -v mrange="$mrange" <<'SQL'
WITH m AS (
  SELECT s->>0 AS key, json_array_length(s->2)::bigint AS n,
         (SELECT sum((p->>1)::float8) FROM json_array_elements(s->2) AS p) AS total
    FROM json_array_elements(:'mrange'::json) AS s),
e AS (
  SELECT 'unq_dst_ip_' || host(src_ip) AS key, count(*) AS n, sum(unq_dst_ip)::float8 AS total
    FROM ipflow.events WHERE unq_dst_ip IS NOT NULL GROUP BY 1)
SELECT (SELECT count(*) FROM m) || ' series, ' || count(*) || ' differ'
  FROM ((SELECT * FROM m EXCEPT SELECT * FROM e) UNION ALL (SELECT * FROM e EXCEPT SELECT * FROM m)) AS d;
SQL
)" "30 series, 0 differ" "a seed user's TS.MRANGE - + FILTER dataType=unq_dst_ip: one series per IP, its samples exactly"
    is "$(rcli TS.INFO allow_10.21.0.30 | sed -n '/^duplicatePolicy$/{n;p}')|$(rcli TS.ADD allow_10.21.0.30 1651363200000 0)" \
        "last|1651363200000" "a series that existed with the module's default policy gets LAST: a replayed sample is harmless"
    # the sample just replaced is written back, as the mirror had it
    rcli TS.ADD allow_10.21.0.30 1651363200000 "$(sql -c "SELECT allow FROM ipflow.events WHERE src_ip = '10.21.0.30' AND ts = '2022-05-01 00:00+00'")" >/dev/null
}

# checks 1-8, 9-10 from after_stream_checks, then 11-20 of lib/redis_mirror.sh
mirror_checks

# 21-22. a sample from before 1970 (RedisTimeSeries refuses it, and with it
# a whole TS.MADD) is left out; its batch still reaches Redis
settings "$url" timeseries
wait_for "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 30 || true
printf '%s\t%s\n' \
    10.21.7.7 '{"src_ip":"10.21.7.7","allow":5,"bytesin":"7","timestamp":"1969-12-31 23:00:00"}' \
    10.21.7.7 '{"src_ip":"10.21.7.7","allow":6,"bytesin":"8","timestamp":"2022-07-01 00:00:00"}' | produce LogTopic
wait_for "SELECT count(*) FROM ipflow.events WHERE src_ip = '10.21.7.7'" 2 60 || true
ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 30 \
    "a sample from before 1970 does not stall the mirror"
samples="SELECT coalesce(string_agg(extract(epoch FROM ts)::bigint || '=' || value, ','), 'none') FROM ipflow.redis_series"
is "$(sql -c "$samples('10.21.7.7', 'allow')")|$(sql -c "$samples('10.21.7.7', 'allow', '1960-01-01')")|$(sql -c "$samples('10.21.7.7', 'allow', '1960-01-01', '1969-12-31')")" \
    "1656633600=6|1656633600=6|none" "it is left out of Redis, the other sample of its batch is there; redis_series takes bounds before 1970"

# 23. auto finds the module
settings "$url" auto
is "$(sql -c "SELECT name FROM ipflow.init() WHERE kind = 'redis'")" timeseries "auto picks timeseries on a server with the module"
