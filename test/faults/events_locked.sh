#!/usr/bin/env bash
# Fault: a session holds an ACCESS EXCLUSIVE lock on ipflow.events for 4 s.
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
stream_start 9000
sleep 2
sql -c "BEGIN" -c "LOCK TABLE ipflow.events IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null && r=0 || r=$?
ok "$r" "a lock on ipflow.events was held for 4 s mid-stream"
stream_wait
check_all "events_locked"
