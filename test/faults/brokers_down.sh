#!/usr/bin/env bash
# Fault: every broker goes down for 4 s and comes back.
# During a steady stream; afterwards events, ip_stats, the Redis mirror,
# dump/history and the aggregate topic must all be exact (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here/../.."
fault_setup
echo "1..8"
stream_start 3000
sleep 2
echo "down all" >"$IPFLOW_KAFKA_CONTROL"
sleep 4
echo "up all" >"$IPFLOW_KAFKA_CONTROL"
stream_wait
check_all "brokers_down"
