#!/usr/bin/env bash
# Fault: the ingest worker is terminated (pg_terminate_backend: SIGTERM).
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
stream_start 6000
sleep 2
pid=$(sql -c "SELECT pid FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")
is "$(sql -c "SELECT pg_terminate_backend($pid)")" t "the ingest worker is terminated mid-stream"
stream_wait
check_all "worker_sigterm"
