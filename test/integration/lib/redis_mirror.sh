# The Redis mirror's checks, run once per backend by redis_mirror.sh
# (sorted_set, the harness's plain redis-server) and
# redis_mirror_timeseries.sh (a Redis with RedisTimeSeries).  Sourced after
# common.sh; the caller points ipflow at its Redis and defines:
#
#   backend            sorted_set or timeseries (what ipflow must pick there)
#   rcli ARGS...       redis-cli against that Redis
#   rstop / rstart     stop it saving its data (SHUTDOWN SAVE), start it again
#
# and may define after_stream_checks, run after check 8 while Redis holds
# the first stream (the caller counts its tests; the numbers below leave
# them out).  mirror_checks prints MIRROR_CHECKS test lines (no plan) and
# ends with the mirror off (ipflow.redis_url = '', set by ALTER SYSTEM): the
# caller restores it.  Work files go to $work.

MIRROR_CHECKS=18

# every IP x feature: (count, sum) in events and in Redis, both ways
mirror_diff="WITH e AS (
  SELECT e.src_ip, f.feature, count(*) AS n, sum(f.value)::float8 AS total
    FROM ipflow.events e CROSS JOIN LATERAL (VALUES ('unq_dst_ip', unq_dst_ip), ('allow', allow),
         ('drop', \"drop\"), ('frequency', frequency), ('pkts_sent', pkts_sent), ('pkts_received', pkts_received),
         ('bytesin', bytesin), ('bytesout', bytesout), ('unq_dst_port', unq_dst_port)) AS f(feature, value)
   WHERE f.value IS NOT NULL GROUP BY 1, 2),
r AS (
  SELECT i.src_ip, f.feature, count(*) AS n, sum(s.value) AS total
    FROM ipflow.ips i CROSS JOIN unnest(ipflow.features()) AS f(feature)
    CROSS JOIN LATERAL ipflow.redis_series(i.src_ip, f.feature) AS s GROUP BY 1, 2)
SELECT count(*) FROM ((SELECT * FROM e EXCEPT SELECT * FROM r) UNION ALL (SELECT * FROM r EXCEPT SELECT * FROM e)) AS d"

# The series of one feature, as the backend indexes them.
series_of() {	# series_of FEATURE
    if [ "$backend" = timeseries ]; then rcli TS.QUERYINDEX "dataType=$1"
    else rcli SMEMBERS "ipflow:series:dataType=$1"; fi
}

# The series with both labels, as the backend finds them.
series_labelled() {	# series_labelled IP FEATURE
    if [ "$backend" = timeseries ]; then rcli TS.QUERYINDEX "srcIP=$1" "dataType=$2"
    elif [ "$(rcli HGET "$2_$1:labels" srcIP)|$(rcli HGET "$2_$1:labels" dataType)" = "$1|$2" ]; then
        echo "$2_$1"
    fi
}

# The command dump deletes with: ZREM, or TS.DEL inside dump's Lua script.
delete_command() { if [ "$backend" = timeseries ]; then echo ts.del; else echo zrem; fi; }

mirror_checks() {
    local total moved again err del

    # 1. init on no IPs
    is "$(sql -c "SELECT name || ' ' || status FROM ipflow.init() WHERE kind = 'redis'")" \
        "$backend 0 series for 0 IPs" "init with no IPs yet picks $backend"

    # 2-8. a stream is mirrored exactly; init twice on known IPs
    generate_events 30 60 '2022-05-01 00:00' 21 >"$work/a"
    produce LogTopic <"$work/a"
    ok_wait "SELECT count(*) FROM ipflow.events" 1800 60 "1800 events stored"
    ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 30 \
        "the mirror is live with no lag"
    is "$(sql -c "$mirror_diff")" 0 "Redis holds every sample of every IP and feature exactly once"
    is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'redis'")" "270 series for 30 IPs" \
        "init creates a series per IP and feature"
    is "$(sql -c "SELECT status FROM ipflow.init() WHERE kind = 'redis'")" "270 series for 30 IPs" \
        "init again changes nothing"
    is "$(series_of bytesin | wc -l)" 30 "the bytesin index lists the 30 series"
    is "$(series_labelled 10.21.0.1 bytesin)" bytesin_10.21.0.1 "a series carries its labels srcIP and dataType"
    if declare -F after_stream_checks >/dev/null; then after_stream_checks; fi

    # 9-12. Redis stopped mid-stream: ingestion goes on, the mirror catches up
    rstop
    generate_events 30 60 '2022-06-01 00:00' 21 >"$work/b"
    produce LogTopic <"$work/b"
    ok_wait "SELECT count(*) FROM ipflow.events" 3600 60 "ingestion goes on while Redis is down"
    is "$(sql -c "SELECT mirror FROM ipflow.stats WHERE kind = 'ingest'")" behind "ipflow.stats says the mirror is behind"
    rstart
    ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 60 \
        "the mirror catches up once Redis is back"
    is "$(sql -c "$mirror_diff")" 0 "after catching up Redis equals events exactly (nothing lost, nothing twice)"

    # 13-15. dump moves everything once, also when the delete step fails
    del=$(delete_command)
    total=$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.21.0.1', 'allow')")
    rcli ACL SETUSER default "-$del" >/dev/null
    moved=$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()" 2>"$work/warn")
    is "$moved|$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.21.0.1', 'allow')")" "32400|$total" \
        "dump moves every sample (3600 events x 9 features) into history; refused ${del^^} leaves them in Redis"
    ok "$(grep -q 'could not be deleted from Redis' "$work/warn"; echo $?)" \
        "a failed delete is a warning, after the commit" "$(cat "$work/warn")"
    rcli ACL SETUSER default "+$del" >/dev/null
    again=$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")
    is "$(sql -c "SELECT count(*) FROM ipflow.history")|$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.21.0.1', 'allow')")|$again" \
        "32400|0|32400" "the retried dump deletes them; history has each sample once"

    # 16-18. dump with Redis empty, down, and with the mirror off
    is "$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")" 0 "dump with nothing in Redis moves nothing"
    rstop
    err=$(sql -c "SELECT ipflow.dump()" 2>&1 || true)
    rstart
    ok "$(echo "$err" | grep -q 'could not connect to Redis'; echo $?)" "dump with Redis down says so" "$err"
    sql -c "TRUNCATE ipflow.history" -c "ALTER SYSTEM SET ipflow.redis_url = ''" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    is "$(sql -c "SET ipflow.dump_lag = 0" -c "SELECT ipflow.dump()")|$(sql -c "SELECT count(*) FROM ipflow.history")" "32400|32400" \
        "with the mirror off, dump fills history from events"
}
