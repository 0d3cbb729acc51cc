#!/usr/bin/env bash
# Fault: redis-server is killed with SIGKILL and starts again empty (no
# persistence): the mirror must notice what Redis lost and write it again.
# During a steady stream; afterwards events, ip_stats, the Redis mirror,
# dump/history and the aggregate topic must all be exact (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here/../.."
fault_setup
echo "1..9"
stream_start 10000
sleep 2
kill -9 "$(cat "$IPFLOW_HARNESS_DIR/redis.pid")"
while redis_cli ping >/dev/null 2>&1; do sleep 0.1; done
rm -f "$IPFLOW_HARNESS_DIR/dump.rdb"
before=$(sql -c "SELECT count(*) FROM ipflow.events")
sleep 3
after=$(sql -c "SELECT count(*) FROM ipflow.events")
ok "$([ "$after" -gt "$before" ]; echo $?)" "ingestion goes on while Redis is down ($before, then $after events)"
redis_start
stream_wait
check_all "redis_kill"
