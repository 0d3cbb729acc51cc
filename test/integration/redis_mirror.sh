#!/usr/bin/env bash
# The Redis mirror against the harness's plain redis-server: the sorted_set
# backend, picked by ipflow.redis_backend = auto.  ipflow.init() twice,
# mirror == events after a stream, Redis stopped mid-stream (ingestion goes
# on, the mirror catches up exactly), ipflow.dump() moving everything once,
# also when its delete step fails and is retried, and dump with Redis empty,
# down, or off (lib/redis_mirror.sh).  redis_mirror_timeseries.sh runs the
# same checks with RedisTimeSeries.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/redis_mirror.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"; redis_cli ping >/dev/null 2>&1 || redis_start
      redis_cli ACL SETUSER default on nopass "~*" "&*" +@all >/dev/null || true
      sql -c "ALTER SYSTEM RESET ipflow.redis_url" -c "SELECT pg_reload_conf()" >/dev/null' EXIT

backend=sorted_set
rcli() { redis_cli "$@"; }
rstop() { redis_stop; }
rstart() { redis_start; }

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects, ipflow.history, ipflow.mirror_progress" >/dev/null
redis_cli flushall >/dev/null

echo "1..$MIRROR_CHECKS"
mirror_checks
