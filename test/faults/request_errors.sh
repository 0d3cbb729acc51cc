#!/usr/bin/env bash
# Fault: injected Fetch, OffsetCommit and Produce errors (Kafka API keys 1, 8, 0).
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
stream_start 4000
sleep 2
echo "errors 1 5 6" >"$IPFLOW_KAFKA_CONTROL"      # NOT_LEADER_OR_FOLLOWER
echo "errors 8 3 7" >"$IPFLOW_KAFKA_CONTROL"      # REQUEST_TIMED_OUT
echo "errors 0 3 19" >"$IPFLOW_KAFKA_CONTROL"     # NOT_ENOUGH_REPLICAS
stream_wait
check_all "request_errors"
