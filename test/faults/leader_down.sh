#!/usr/bin/env bash
# Fault: the leader of a LogTopic partition goes down for 3 s and comes back.
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
echo "leader LogTopic 0 2" >"$IPFLOW_KAFKA_CONTROL"
stream_start 1000
sleep 2
echo "down 2" >"$IPFLOW_KAFKA_CONTROL"
sleep 3
echo "up 2" >"$IPFLOW_KAFKA_CONTROL"
stream_wait
check_all "leader_down"
