#!/usr/bin/env bash
# The Docker stack (docker/), as far as it can be checked without a Docker
# engine: the compose file is valid and wired as intended (docker-compose
# config), the postgres image builds ipflow with the scripts CI uses (the
# Dockerfile's own build command is run here), the init script sets up the
# test cluster step by step, and every Superset chart's SQL, taken from the
# bundle's YAML, returns rows when run as the read-only login after a short
# stream.  Forecasts, models and anomalies are written by hand where nothing
# in this build produces them yet.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
work=$(mktemp -d)
chmod 755 "$work"
reader=ipflow_stack_reader
compose=(docker-compose --env-file "$top/docker/.env.example" -f "$top/docker/docker-compose.yml")
bundle=$top/docker/superset/dashboard
jobs_before=
admin_login=
cleanup() {
    sql -c "SELECT ipflow.stop_sender()" >/dev/null 2>&1 || true
    sql -c "DELETE FROM ipflow.anomalies WHERE src_ip << '10.77.0.0/16'" \
        -c "DELETE FROM ipflow.forecasts WHERE src_ip << '10.77.0.0/16'" \
        -c "DELETE FROM ipflow.models WHERE src_ip << '10.77.0.0/16'" \
        -c "DROP ROLE IF EXISTS $reader" >/dev/null 2>&1 || true
    if [ -n "$jobs_before" ]; then
        sql -c "SELECT count(cron.unschedule(jobid)) FROM cron.job WHERE jobid > $jobs_before" >/dev/null 2>&1 || true
    fi
    # the schedule step gives ipflow_admin LOGIN; other tests expect the extension's NOLOGIN
    [ "$admin_login" = f ] && sql -c "ALTER ROLE ipflow_admin NOLOGIN" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
# "0<TAB>description[<TAB>why]" lines from check_stack.py as TAP
ok_lines() { while IFS=$'\t' read -r status desc why; do ok "$status" "$desc" "$why"; done; }
as_reader() { psql -qAtX -v ON_ERROR_STOP=1 -U "$reader" "$@"; }

# 1. the compose file
if "${compose[@]}" config >"$work/compose.yml" 2>"$work/compose.err"; then
    ok 0 "docker-compose config accepts docker/docker-compose.yml with docker/.env.example"
    ok_lines < <(python3 "$here/lib/check_stack.py" compose "$work/compose.yml")
else
    ok 1 "docker-compose config accepts docker/docker-compose.yml with docker/.env.example" "$(cat "$work/compose.err")"
fi
: >"$work/empty.env"
err=$(env -u POSTGRES_PASSWORD -u IPFLOW_READER_PASSWORD docker-compose --env-file "$work/empty.env" \
      -f "$top/docker/docker-compose.yml" config 2>&1 >/dev/null || true)
ok "$([[ $err == *'set POSTGRES_PASSWORD in docker/.env'* ]]; echo $?)" \
    "without docker/.env the stack refuses to start: passwords have no defaults" "$err"
ok "$(cd "$top" && git ls-files docker | grep -qE '(^|/)\.env$'; [ $? = 1 ]; echo $?)" "no docker/.env is committed"
bad=$(grep -E '^[A-Z_]*(PASSWORD|SECRET)[A-Z_]*=' "$top/docker/.env.example" | grep -v '=change-me' || true)
ok "$([ -z "$bad" ]; echo $?)" ".env.example holds only change-me placeholders for secrets" "$bad"

# 2. the postgres image builds ipflow with the scripts CI uses
dockerfile=$top/docker/postgres/Dockerfile
ok "$(grep -qx 'ARG PG_IMAGE=postgres:15-bookworm' "$dockerfile" && \
      [ "$(grep -c '^FROM ' "$dockerfile")" = "$(grep -c '^FROM \${PG_IMAGE}' "$dockerfile")" ]; echo $?)" \
    "every stage of the Dockerfile is the official postgres:15 image on Debian bookworm"
for script in scripts/install-deps.sh scripts/build.sh; do
    ok "$(grep -v '^ *#' "$top/test/run" | grep -q "$script" && grep -q "^RUN .*$script\|^ *&& .*$script" "$dockerfile"; echo $?)" \
        "test/run (CI's command) and the Dockerfile both run $script"
done
# The build stage's RUN, continuation lines joined, split at &&.
run=$(awk '/^FROM .* AS build/{b=1} b && /^RUN /{r=1} r{print} r && !/\\$/{exit}' "$dockerfile" \
      | sed 's/\\$//' | tr '\n' ' ' | sed 's/^RUN //')
groups=$(echo "$run" | grep -oE 'scripts/install-deps\.sh [a-z ]+' | sed 's|scripts/install-deps.sh ||')
missing=$(for p in $("$top/scripts/install-deps.sh" --list $groups); do
              dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
          done)
ok "$([ -n "$groups" ] && [ -z "$missing" ]; echo $?)" \
    "the Dockerfile's packages (groups: $(echo $groups)) are Debian packages, installed here by the same script" \
    "not installed: $missing"
build=$(echo "$run" | tr '&' '\n' | grep 'scripts/build.sh' | sed "s|/out|$work/out|g")
if (cd "$top" && eval "$build") >"$work/build.log" 2>&1; then
    ok 0 "the Dockerfile's build command runs here: $(echo $build | sed "s|$work|WORK|g")"
else
    ok 1 "the Dockerfile's build command runs here" "$(tail -5 "$work/build.log")"
fi
found=$(cd "$work/out" 2>/dev/null && find . -name 'ipflow.so' -o -name 'ipflow.control' -o -name 'ipflow--0.2.0.sql' | sort | tr '\n' ' ')
is "$found" ".$(pg_config --pkglibdir)/ipflow.so .$(pg_config --sharedir)/extension/ipflow--0.2.0.sql .$(pg_config --sharedir)/extension/ipflow.control " \
    "it installs the library, the control file and the install script, which the image copies"
ok "$(grep -qx 'COPY --from=build /out/ /' "$dockerfile"; echo $?)" "the server stage copies exactly that tree"

# 3. the init script, step by step, against the test cluster
export IPFLOW_DATA_DIR=$top/data IPFLOW_READER_USER=$reader IPFLOW_READER_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export IPFLOW_SENDER_IPS=20 IPFLOW_SENDER_DAYS=2 IPFLOW_SENDER_SECONDS_PER_HOUR=0.2
init=$top/docker/postgres/init-ipflow.sh
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND partitions <> 'LogTopic[]'" 1 60 \
    >/dev/null 2>&1 || true
started=$(sql -c "SELECT now()")
for step in extensions config reader init; do
    if "$init" "$step" >"$work/init-$step.log" 2>&1; then ok 0 "init step $step"; else ok 1 "init step $step" "$(tail -3 "$work/init-$step.log")"; fi
done
is "$(IPFLOW_INIT_STEPS='extensions config' "$init" 2>&1 >/dev/null | grep '^init-ipflow:' | tr '\n' ' ')" "init-ipflow: extensions init-ipflow: config " \
    "IPFLOW_INIT_STEPS picks the steps, and running them again is harmless"
err=$("$init" extensions nonsense 2>&1 || true)
ok "$([[ $err == 'init-ipflow: unknown step nonsense' ]]; echo $?)" "an unknown step is refused before any step runs" "$err"
is "$(sql -c "SELECT string_agg(extname, ' ' ORDER BY extname) FROM pg_extension WHERE extname IN ('ipflow', 'pg_cron')")" \
    "ipflow pg_cron" "the extensions exist"
is "$(sql -c "SELECT count(*) FROM ipflow.ip_partitions WHERE src_ip IN ('46.39.79.251', '229.46.205.74', '187.44.158.33')")" 3 \
    "the seed config's partition map is loaded"
is "$(grep -c '^topic .*: \(created\|exists\)' "$work/init-init.log")" \
    "$(sql -c "SELECT count(*) FROM ipflow.topics")" "ipflow.init() saw every topic of the config"
is "$(sql -c "SELECT rolcanlogin AND NOT rolsuper AND pg_has_role(oid, 'ipflow_reader', 'MEMBER') FROM pg_roles WHERE rolname = '$reader'")" t \
    "the reader login is a member of ipflow_reader, not a superuser"
is "$(as_reader -c "SHOW default_transaction_read_only")" on "its sessions are read-only"
err=$(as_reader -c "BEGIN READ WRITE" -c "DELETE FROM ipflow.topics" 2>&1 || true)
ok "$([[ $err == *'permission denied'* ]]; echo $?)" "and even in a read-write transaction it cannot write" "$err"
admin_login=$(sql -c "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'ipflow_admin'")
jobs_before=$(sql -c "SELECT coalesce(max(jobid), 0) FROM cron.job")
if "$init" schedule >"$work/init-schedule.log" 2>&1; then ok 0 "init step schedule"; else ok 1 "init step schedule" "$(tail -3 "$work/init-schedule.log")"; fi
is "$(sql -c "SELECT string_agg(jobname || ' ' || username, ',' ORDER BY jobname) FROM cron.job WHERE jobid > $jobs_before")" \
    "ipflow-detect ipflow_admin,ipflow-dump ipflow_admin,ipflow-gbt ipflow_admin,ipflow-train ipflow_admin" \
    "it scheduled the four jobs in pg_cron, run as ipflow_admin"
if "$init" sender >"$work/init-sender.log" 2>&1; then ok 0 "init step sender"; else ok 1 "init step sender" "$(tail -3 "$work/init-sender.log")"; fi
ok_wait "SELECT sent > 0 AND state NOT IN ('stopped', 'finished') FROM ipflow.sender" t 60 "the sender streams generated events"
ok_wait "SELECT count(*) > 0 FROM ipflow.events WHERE ingested_at > '$started'" t 60 "and they are ingested"

# 4. a short stream of known events, and forecasts, models and anomalies for some of them
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events(6, '2031-06-02', 48, 4242, '{\"anomaly_rate\": 0}')")
generate_events 6 48 2031-06-02 77 | produce LogTopic
ok_wait "SELECT count(*) FROM ipflow.events WHERE src_ip << '10.77.0.0/16'" 288 60 "a short stream of 288 events is ingested"
sql >/dev/null <<'SQL'
INSERT INTO ipflow.models (src_ip, feature, params, model, n_points, history_from, history_until, horizon, fit_ms, sigma, iterations)
SELECT src_ip, 'unq_dst_ip', '{}', '{}', count(*), min(ts), max(ts) - interval '6 hours', 10, 1, 1, 1
  FROM ipflow.events WHERE src_ip << '10.77.0.0/16' GROUP BY src_ip;
-- the last 6 hours forecast (y arrived) and 4 hours ahead
INSERT INTO ipflow.forecasts (src_ip, feature, ds, y, yhat, yhat_lower, yhat_upper, trained_at)
SELECT m.src_ip, m.feature, ds, NULL, 20, 10, 30, m.trained_at
  FROM ipflow.models m, generate_series(m.history_until + interval '1 hour', m.history_until + interval '10 hours', interval '1 hour') AS ds
 WHERE m.src_ip << '10.77.0.0/16';
-- the largest value of each IP, flagged against a band below it
INSERT INTO ipflow.anomalies (src_ip, feature, ts, value, expected, lower, upper, score, source)
SELECT DISTINCT ON (src_ip) src_ip, 'unq_dst_ip', ts, unq_dst_ip, 2, 0, 4, 0.9, 'forecast'
  FROM ipflow.events WHERE src_ip << '10.77.0.0/16' ORDER BY src_ip, unq_dst_ip DESC, ts;
SQL
is "$(sql -c "SELECT count(*) FILTER (WHERE actual IS NOT NULL AND yhat IS NOT NULL), count(*) FILTER (WHERE actual IS NULL),
                     count(*) FILTER (WHERE yhat IS NULL)
                FROM ipflow.v_forecast_vs_actual WHERE src_ip << '10.77.0.0/16'")" "36|24|252" \
    "v_forecast_vs_actual: 6 IPs x (6 forecast hours with a real value, 4 ahead without, 42 history hours)"
is "$(sql -c "SELECT count(*) FROM ipflow.v_forecast_vs_actual v JOIN ipflow.events e ON e.src_ip = v.src_ip AND e.ts = v.ds
               WHERE v.src_ip << '10.77.0.0/16' AND v.actual IS DISTINCT FROM e.unq_dst_ip")" 0 \
    "its real values are the events' unq_dst_ip"
is "$(sql -c "SELECT count(*), count(*) FILTER (WHERE direction = 'above' AND detection_delay_s >= 0)
                FROM ipflow.v_anomalies WHERE src_ip << '10.77.0.0/16'")" "6|6" \
    "v_anomalies: each anomaly above its band, flagged after its event was stored"
is "$(sql -c "SELECT sum(total) FROM ipflow.v_ip_activity WHERE src_ip << '10.77.0.0/16' AND feature = 'bytesout'")" \
    "$(sql -c "SELECT sum(bytesout) FROM ipflow.events WHERE src_ip << '10.77.0.0/16'")" \
    "v_ip_activity: totals add up to the events'"
# one statement, one snapshot: the sender is still storing events
is "$(sql -c "SELECT (SELECT sum(events) FROM ipflow.v_ingest_stats WHERE minute >= date_bin('1 minute', '$started', '2000-01-01 00:00+00'))
               = (SELECT count(*) FROM ipflow.events WHERE ingested_at >= date_bin('1 minute', '$started', '2000-01-01 00:00+00'))")" t \
    "v_ingest_stats counts every event stored since this test started"

# 5. the Superset bundle: consistent, on the views' real columns, every chart's SQL returns rows
ok_lines < <(python3 "$here/lib/check_stack.py" bundle "$bundle")
for f in "$bundle"/datasets/*/*.yaml; do
    read -r schema table cols < <(python3 -c "import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))
print(d['schema'], d['table_name'], ','.join(c['column_name'] for c in d['columns']))" "$f")
    is "$(as_reader -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
                         WHERE table_schema = '$schema' AND table_name = '$table'")" "$cols" \
        "dataset $table has the view's columns, as the reader sees them"
done
IPFLOW_DB_HOST=db IPFLOW_READER_PASSWORD='p@ss:w/rd' python3 "$top/docker/superset/bundle.py" "$bundle" "$work/bundle.zip"
is "$(python3 -c "import sys, zipfile, yaml; z = zipfile.ZipFile(sys.argv[1])
print(len(z.namelist()), yaml.safe_load(z.read('ipflow_dashboard/databases/ipflow.yaml'))['sqlalchemy_uri'])" "$work/bundle.zip")" \
    "$(find "$bundle" -name '*.yaml' | wc -l) postgresql+psycopg2://$reader:p%40ss%3Aw%2Frd@db:5432/ipflow" \
    "bundle.py zips every file and writes the connection, password quoted, into the database"
python3 "$here/lib/superset_sql.py" "$bundle" >"$work/charts.jsonl"
charts=0
while IFS=$'\t' read -r chart query; do
    charts=$((charts + 1))
    if rows=$(as_reader -c "$query" 2>"$work/chart.err" | wc -l) && [ "$rows" -gt 0 ]; then
        ok 0 "chart \"$chart\": its SQL returns $rows rows to the reader"
    else
        ok 1 "chart \"$chart\": its SQL returns rows to the reader" "$query $(cat "$work/chart.err")"
    fi
done < <(python3 -c "import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line); print(c['chart'] + '\t' + c['sql'])" "$work/charts.jsonl")
is "$charts" "$(ls "$bundle"/charts/*.yaml | wc -l)" "every chart of the bundle was run"

echo "1..$tap_n"
