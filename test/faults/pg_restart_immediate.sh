#!/usr/bin/env bash
# Fault: pg_ctl restart -m immediate: no shutdown checkpoint, crash recovery.
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
stream_start 8000
sleep 2
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres "$(pg_config --bindir)/pg_ctl" -D "$IPFLOW_HARNESS_DIR/pg" -l "$IPFLOW_HARNESS_DIR/postgres.log" \
    -m immediate -w -t 60 restart >/dev/null && r=0 || r=$?
ok "$r" "the server restarts with -m immediate mid-stream"
stream_wait
check_all "pg_restart_immediate"
