#!/usr/bin/env bash
# Fault: Redis accepts connections but never answers (redis-server stopped
# with SIGSTOP: the kernel still accepts and buffers) for 8 s, with
# ipflow.redis_timeout = 1s.  Ingestion must go on, the mirror must give up
# on the silent connection and say why, SQL reading Redis must fail within
# the timeout instead of hanging, the worker's memory must stay bounded;
# after SIGCONT everything is exact (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d)
redis_pid=$(cat "$IPFLOW_HARNESS_DIR/redis.pid")
trap 'kill -CONT "$redis_pid" 2>/dev/null || true; kill "${sampler_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$here/../.."
fault_setup
echo "1..14"
sql -c "ALTER SYSTEM SET ipflow.redis_timeout = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
sample_memory "$work/memory"
stream_start 11000
sleep 2
kill -STOP "$redis_pid"
before=$(sql -c "SELECT count(*) FROM ipflow.events")
ok_wait "SELECT mirror FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL" behind 10 \
    "the mirror gives up on the silent Redis"
is "$(sql -c "SELECT last_error ~ '^redis: .*no reply within ipflow.redis_timeout \(1000 ms\)'
               FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL")" t \
    "ipflow.stats says why: $(sql -c "SELECT last_error FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL")"
start=$(date +%s%N)
if out=$(sql -c "SELECT count(*) FROM ipflow.redis_series('10.0.43.1', 'bytesin')" 2>&1); then
    ok 1 "ipflow.redis_series fails while Redis is silent" "$out"
else
    ok 0 "ipflow.redis_series fails while Redis is silent: $out"
fi
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "$([ "$ms" -lt 5000 ]; echo $?)" "and within the timeout, not hanging ($ms ms)"
sleep 5
after=$(sql -c "SELECT count(*) FROM ipflow.events")
ok "$([ "$after" -gt $((before + 5000)) ]; echo $?)" \
    "ingestion goes on while Redis is silent ($before, then $after events 5 s later)"
kill -CONT "$redis_pid"
stream_wait
memory_under 150
check_all "redis_silent"
sql -c "ALTER SYSTEM RESET ipflow.redis_timeout" -c "SELECT pg_reload_conf()" >/dev/null
