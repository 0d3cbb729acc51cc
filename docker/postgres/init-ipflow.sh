#!/usr/bin/env bash
# Sets up ipflow in a new database: run once by the postgres image's
# entrypoint (/docker-entrypoint-initdb.d), and by test/integration against
# the test harness.  Each step can be run on its own:
#
#   init-ipflow.sh [STEP...]      default: $IPFLOW_INIT_STEPS, or
#                                 extensions config reader init schedule sender
#
# Environment: PGDATABASE/PGUSER (default POSTGRES_DB/POSTGRES_USER), IPFLOW_DATA_DIR
# (seed-config.json and logs.csv, as the server reads them), IPFLOW_READER_USER and
# IPFLOW_READER_PASSWORD (the login Superset uses), IPFLOW_SENDER_IPS,
# IPFLOW_SENDER_DAYS, IPFLOW_SENDER_SECONDS_PER_HOUR (the generated stream).
set -euo pipefail

export PGDATABASE=${PGDATABASE:-${POSTGRES_DB:-ipflow}} PGUSER=${PGUSER:-${POSTGRES_USER:-postgres}}
data=${IPFLOW_DATA_DIR:-/usr/local/share/ipflow}

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
say() { echo "init-ipflow: $*" >&2; }

step_extensions() {
    sql -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "CREATE EXTENSION IF NOT EXISTS ipflow"
}

# The original config.json: topics, sender cursor, IP partition map.
step_config() {
    sql -v config="$(cat "$data/seed-config.json")" <<'SQL'
SELECT kind || ' ' || name FROM ipflow.load_config(:'config'::jsonb);
SQL
}

# A login role for dashboards: a member of the NOLOGIN group ipflow_reader
# (which holds the grants), read-only by default as a second guard.
step_reader() {
    : "${IPFLOW_READER_PASSWORD:?set IPFLOW_READER_PASSWORD (see docker/.env.example)}"
    sql -v reader="${IPFLOW_READER_USER:-superset}" -v password="$IPFLOW_READER_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'reader')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER ROLE :"reader" SET default_transaction_read_only = on;
GRANT ipflow_reader TO :"reader";
SQL
}

# The original InitialDag: Kafka topics and one Redis series per known IP and feature.
step_init() {
    sql -c "SELECT kind || ' ' || name || ': ' || status FROM ipflow.init()"
}

# The periodic jobs (dump, train, detect, gbt) in pg_cron, run as
# ipflow_admin: pg_cron starts each run as a session of it, so it needs
# LOGIN (it has no password; jobs start as background workers here).
step_schedule() {
    sql -c "ALTER ROLE ipflow_admin LOGIN" -c "SELECT * FROM ipflow.schedule_jobs()"
}

# Profiles learned from the real logs, then a stream of synthetic IPs that
# starts IPFLOW_SENDER_DAYS ago, one simulated hour every N seconds.
step_sender() {
    sql -v csv="$data/logs.csv" -v ips="${IPFLOW_SENDER_IPS:-100}" -v days="${IPFLOW_SENDER_DAYS:-7}" \
        -v sph="${IPFLOW_SENDER_SECONDS_PER_HOUR:-5}" <<'SQL'
SELECT count(ipflow.load_csv(:'csv')) FROM (SELECT WHERE NOT EXISTS (SELECT FROM ipflow.real_events)) AS empty \gset
SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events') \gset
SELECT stream, resumed FROM ipflow.start_sender(:ips, date_trunc('hour', now()) - make_interval(days => :days),
                                              42, seconds_per_hour => :sph);
SQL
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || read -r -a steps <<<"${IPFLOW_INIT_STEPS:-extensions config reader init schedule sender}"
for s in "${steps[@]}"; do
    declare -F "step_$s" >/dev/null || { say "unknown step $s"; exit 2; }
done
for s in "${steps[@]}"; do
    say "$s"
    "step_$s"
done
