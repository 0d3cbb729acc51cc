#!/usr/bin/env bash
# pg_cron really runs ipflow's dump job as ipflow_admin: events go through
# Kafka into Postgres and the Redis mirror, ipflow.schedule_jobs() registers
# the dump every minute, and within ~70 s pg_cron's run has moved every
# sample into ipflow.history, emptied the mirror, and shows in ipflow.jobs
# as succeeded.  Needs the harness (pg_cron preloaded, cron.database_name =
# the test database).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
login=$(sql -c "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'ipflow_admin'" 2>/dev/null || true)
trap 'rm -rf "$work"
      sql -c "SELECT ipflow.unschedule_jobs()" >/dev/null 2>&1 || true
      [ "$login" = t ] || sql -c "ALTER ROLE ipflow_admin NOLOGIN" >/dev/null 2>&1 || true' EXIT

sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS ipflow" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    || { echo "1..1"; echo "not ok 1 - an ingest worker is consuming"; exit 1; }
wait_for "SELECT coalesce(sum(lag), 0) FROM ipflow.stats WHERE kind = 'ingest'" 0 60 || true
sql -c "SELECT ipflow.unschedule_jobs()" >/dev/null
sql -c "TRUNCATE ipflow.events, ipflow.ips, ipflow.rejects, ipflow.history, ipflow.mirror_progress" >/dev/null
redis_cli flushall >/dev/null

echo "1..10"

# 1-2. 20 IPs x 30 hours of 2022 (older than ipflow.dump_lag), in Redis
generate_events 20 30 '2022-02-01 00:00' 11 >"$work/events"
produce LogTopic <"$work/events"
ok_wait "SELECT count(*) FROM ipflow.events" 600 60 "600 events stored"
ok_wait "SELECT mirror || ' ' || mirror_lag FROM ipflow.stats WHERE kind = 'ingest'" "live 0" 60 \
    "the mirror holds them"
# the series index of IPs that the worker knew before the flush
sql -c "SELECT count(*) FROM ipflow.init() WHERE kind = 'redis'" >/dev/null

# 3. the jobs run as ipflow_admin, which needs LOGIN (pg_cron 1.4, PG 15)
sql -c "ALTER ROLE ipflow_admin LOGIN" >/dev/null
got=$(sql -c "SELECT string_agg(jobname || ' ' || schedule || ' ' || run_as, ', ')
                FROM ipflow.schedule_jobs(dump => '* * * * *', train => NULL, detect => NULL, gbt => NULL)")
is "$got" "ipflow-dump * * * * * ipflow_admin" "only the dump job is scheduled, every minute, as ipflow_admin"

# 4-5. pg_cron fires it at the next minute
ok_wait "SELECT last_status FROM ipflow.jobs WHERE jobname = 'ipflow-dump'" succeeded 75 \
    "pg_cron ran the dump job and ipflow.jobs shows it succeeded"
ok_wait "SELECT count(*) FROM ipflow.history" 5400 5 "the run moved all 600 x 9 samples into ipflow.history"

# 6-7. exactly the values stored, under the run-as role
got=$(sql -c "SELECT count(*) FROM ipflow.history h JOIN ipflow.events e USING (src_ip)
               WHERE h.ds = e.ts AND h.feature = 'bytesin' AND h.value = e.bytesin")
is "$got" 600 "history holds the events' values"
got=$(sql -c "SELECT string_agg(DISTINCT d.username, ',') FROM cron.job_run_details d
                JOIN ipflow.jobs j USING (jobid) WHERE j.jobname = 'ipflow-dump'")
is "$got" ipflow_admin "pg_cron ran it as ipflow_admin, not as a superuser"

# 8. ipflow.jobs: duration, message, start time and counts of the run
got=$(sql -c "SELECT last_duration >= '0'::interval AND last_start > now() - interval '3 minutes'
                     AND last_message IS NOT NULL AND runs >= 1 AND failed_runs = 0 AND last_success = last_start
                FROM ipflow.jobs WHERE jobname = 'ipflow-dump'")
is "$got" t "ipflow.jobs shows the run's start, duration and message"

# 9. the dump emptied the mirror it moved
got=$(sql -c "SELECT sum((SELECT count(*) FROM ipflow.redis_series(src_ip, f)))
                FROM ipflow.ips, unnest(ipflow.features()) AS f")
is "$got" 0 "the moved samples are gone from Redis"

# 10. removed
is "$(sql -c "SELECT ipflow.unschedule_jobs()")" 1 "unschedule_jobs removes the job"
