#!/usr/bin/env bash
# Fault: the ingest worker is killed with SIGKILL: the postmaster crash-restarts the server.
# During a steady stream; afterwards events, ip_stats, the Redis mirror,
# dump/history and the aggregate topic must all be exact (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here/../.."
fault_setup
echo "1..10"
stream_start 7000
sleep 2
pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
kill -9 "$pid" && r=0 || r=$?
ok "$r" "the ingest worker is killed with SIGKILL mid-stream"
sleep 2
ok_wait "SELECT 1" 1 60 "the server is back after the crash restart"
stream_wait
check_all "worker_sigkill"
