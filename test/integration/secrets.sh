#!/usr/bin/env bash
# Secrets stay secret: a Redis password and a SASL password that the
# servers refuse (the harness's Redis has none; the test broker speaks no
# SASL) make the workers fail and report, and the passwords appear in none
# of what a user or the log sees: ipflow.stats, the dashboards' views,
# pg_settings, the server log, error messages.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
redis_secret='Redis-Secret-7f3a9e'
sasl_secret='Sasl-Secret-c41e2b'
reset_all() {
    sql -c "ALTER SYSTEM RESET ipflow.redis_password" -c "ALTER SYSTEM RESET ipflow.kafka_security_protocol" \
        -c "ALTER SYSTEM RESET ipflow.kafka_sasl_username" -c "ALTER SYSTEM RESET ipflow.kafka_sasl_password" \
        -c "SELECT pg_reload_conf()" >/dev/null
}
trap reset_all EXIT
log_start=$(wc -c <"$IPFLOW_HARNESS_DIR/postgres.log")
# neither secret anywhere a user looks; $1 names the place
nowhere() {	# nowhere WHAT TEXT
    if printf '%s' "$2" | grep -qE "$redis_secret|$sasl_secret"; then
        ok 1 "no secret in $1" "$(printf '%s' "$2" | grep -E "$redis_secret|$sasl_secret" | head -3)"
    else
        ok 0 "no secret in $1"
    fi
}

sql -c "CREATE EXTENSION IF NOT EXISTS ipflow" >/dev/null
echo "1..10"
sql -c "ALTER SYSTEM SET ipflow.redis_password = '$redis_secret'" -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND last_error LIKE 'redis:%AUTH%'" 1 30 \
    "a Redis password the server refuses shows in ipflow.stats as an AUTH failure"
err=$(sql -c "SELECT * FROM ipflow.redis_series('192.0.2.1', 'allow')" 2>&1 || true)
ok "$(printf '%s' "$err" | grep -q 'AUTH'; echo $?)" "redis_series fails with the AUTH error" "$err"
nowhere "the error message" "$err"

sql -c "ALTER SYSTEM SET ipflow.kafka_security_protocol = 'sasl_plaintext'" \
    -c "ALTER SYSTEM SET ipflow.kafka_sasl_username = 'ipflow'" \
    -c "ALTER SYSTEM SET ipflow.kafka_sasl_password = '$sasl_secret'" -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND last_error LIKE 'kafka:%'" 1 60 \
    "with SASL the test broker refuses cannot give, the worker reports a Kafka error"
nowhere "ipflow.stats" "$(sql -c "SELECT s::text FROM ipflow.stats AS s")"
nowhere "ipflow.v_ingest_stats" "$(sql -c "SELECT v::text FROM ipflow.v_ingest_stats AS v")"
nowhere "pg_settings, as the admin" "$(sql -c "SET ROLE ipflow_admin" -c "SELECT string_agg(setting, ' ') FROM pg_settings")"
ok "$(sql -c "SET ROLE ipflow_admin" -c "SHOW ipflow.redis_password" >/dev/null 2>&1; [ $? -ne 0 ]; echo $?)" \
    "the admin cannot SHOW the Redis password"
sleep 2
reset_all
ok_wait "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND state = 'consuming' AND mirror = 'live'" 1 60 \
    "with the settings reset the worker consumes and mirrors again"
nowhere "the server log" "$(tail -c +"$((log_start + 1))" "$IPFLOW_HARNESS_DIR/postgres.log" | grep -v 'ALTER SYSTEM')"
