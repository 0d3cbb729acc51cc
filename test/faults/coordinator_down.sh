#!/usr/bin/env bash
# Fault: the consumer group's coordinator goes down for 3 s and comes back.
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
echo "coordinator ipflow 3" >"$IPFLOW_KAFKA_CONTROL"
stream_start 2000
sleep 2
echo "down 3" >"$IPFLOW_KAFKA_CONTROL"
sleep 3
echo "up 3" >"$IPFLOW_KAFKA_CONTROL"
stream_wait
check_all "coordinator_down"
