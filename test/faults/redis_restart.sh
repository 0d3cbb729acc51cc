#!/usr/bin/env bash
# Fault: redis-server stops (SHUTDOWN SAVE, as on SIGTERM) for 3 s and starts again.
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
stream_start 5000
sleep 2
redis_stop
before=$(sql -c "SELECT count(*) FROM ipflow.events")
sleep 3
after=$(sql -c "SELECT count(*) FROM ipflow.events")
ok "$([ "$after" -gt "$before" ]; echo $?)" "ingestion goes on while Redis is down ($before, then $after events)"
redis_start
stream_wait
check_all "redis_restart"
