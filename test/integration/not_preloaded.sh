#!/usr/bin/env bash
# Without shared_preload_libraries, CREATE EXTENSION warns that the workers
# will not run, ipflow.preloaded() says so, and the functions that need no
# worker still work; without pg_cron, schedule_jobs says how to load it and
# ipflow.jobs is empty.  Starts a second, short-lived cluster of its own.
set -euo pipefail
pgbin=$(pg_config --bindir)
port=$((${IPFLOW_PGPORT:-55432} + 1))
dir=$(mktemp -d "${IPFLOW_HARNESS_DIR:-/tmp/ipflow-harness}-nopreload.XXXXXX")
chmod 755 "$dir"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    as_postgres "$pgbin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres: "$dir"

as_postgres "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust --locale=C -E UTF8 >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
    -o "-p $port -k $dir -c listen_addresses=''" start >/dev/null

q() { psql -h "$dir" -p "$port" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }

echo "1..8"
warning=$(q -c "CREATE EXTENSION ipflow" 2>&1)
if grep -q "not in shared_preload_libraries" <<<"$warning"; then
    echo "ok 1 - CREATE EXTENSION warns that the workers will not run"
else
    echo "not ok 1 - CREATE EXTENSION warns that the workers will not run (got: $warning)"
fi
[ "$(q -c "SELECT ipflow.preloaded()")" = f ] && echo "ok 2 - preloaded() is false" \
    || echo "not ok 2 - preloaded() is false"
[ "$(q -c "SELECT ipflow.partition_for('46.39.79.251', 3) BETWEEN 0 AND 2")" = t ] \
    && echo "ok 3 - partition_for works without the workers" \
    || echo "not ok 3 - partition_for works without the workers"
loaded=$(q -c "SELECT count(*) FROM ipflow.load_config('{\"topic_configs\":[{\"name\":\"LogTopic\",\"num_partitions\":3,\"replication_factor\":1}],\"dag_configs\":{\"last_processed_file\":\"1.json\"},\"source_partition_map\":{}}')")
[ "$loaded" = 2 ] && echo "ok 4 - load_config works without the workers" \
    || echo "not ok 4 - load_config works without the workers (loaded $loaded)"
refused=$(q -c "SELECT ipflow.kafka_bootstrap()" 2>&1 || true)
if grep -q "requires ipflow to be loaded via shared_preload_libraries" <<<"$refused"; then
    echo "ok 5 - kafka_bootstrap() refuses clearly without preloading"
else
    echo "not ok 5 - kafka_bootstrap() refuses clearly without preloading (got: $refused)"
fi
refused=$(q -c "SELECT * FROM ipflow.stats" 2>&1 || true)
if grep -q "ipflow.stats requires ipflow to be loaded via shared_preload_libraries" <<<"$refused"; then
    echo "ok 6 - ipflow.stats refuses clearly without preloading"
else
    echo "not ok 6 - ipflow.stats refuses clearly without preloading (got: $refused)"
fi
refused=$(q -c "SELECT * FROM ipflow.schedule_jobs()" 2>&1 || true)
if grep -q "pg_cron is not loaded in this server" <<<"$refused" && grep -q "HINT:  Add pg_cron to shared_preload_libraries" <<<"$refused"; then
    echo "ok 7 - schedule_jobs() refuses clearly without pg_cron"
else
    echo "not ok 7 - schedule_jobs() refuses clearly without pg_cron (got: $refused)"
fi
[ "$(q -c "SELECT count(*) FROM ipflow.jobs")" = 0 ] && echo "ok 8 - ipflow.jobs is empty without pg_cron" \
    || echo "not ok 8 - ipflow.jobs is empty without pg_cron"
