#!/usr/bin/env bash
# The streaming detector's alerts and states do not depend on how the
# stream is cut into batches: a week of 300 generated IPs (each IP's events
# in time order on its partition) is ingested in batches of thousands of
# messages, where the fold scores and writes the detector states of a
# batch's IPs 128 at a time, then the same events again into emptied rows
# in batches of 50 messages; both give the same alerts and the same
# states.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
trap 'sql -c "ALTER SYSTEM RESET ipflow.batch_size" -c "SELECT pg_reload_conf()" >/dev/null' EXIT

ready_for_generated_traffic

echo "1..6"
start='2033-03-07 00:00+00'
args="300, '$start', 168, 302"
sql -c "CREATE TABLE IF NOT EXISTS batches_ips AS SELECT DISTINCT src_ip FROM ipflow.generate_events($args)" >/dev/null
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events($args)")
mine="src_ip IN (SELECT src_ip FROM batches_ips)"
forget() {	# the test's IPs as if never seen
    sql -c "DELETE FROM ipflow.anomalies WHERE $mine" -c "DELETE FROM ipflow.events WHERE $mine" \
        -c "DELETE FROM ipflow.ips WHERE $mine" >/dev/null
}
alerts() { sql -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(concat_ws(' ', src_ip, feature, ts, score), ','
                                                               ORDER BY src_ip, feature, ts), ''))
                     FROM ipflow.anomalies WHERE $mine AND source = 'stream'"; }
states() { sql -c "SELECT count(detector) || ' ' || md5(string_agg(detector::text, '' ORDER BY src_ip)) FROM ipflow.ips WHERE $mine"; }
batches() { stat_sum batches; }

# 1. in large batches (the default, 10,000 messages)
forget
before=$(batches)
sql -c "SELECT ipflow.send($args)" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.events WHERE $mine" "$want" 120 "the $want events of 300 IPs are stored"
large=$(( $(batches) - before ))
first_alerts=$(alerts)
first_states=$(states)
ok "$([ "${first_alerts%% *}" -gt 0 ] && [ "${first_states%% *}" = 300 ]; echo $?)" \
    "in $large batches, with ${first_alerts%% *} alerts and the states of all 300 IPs"

# 2. the same events again, into emptied rows, 50 messages a batch
forget
sql -c "ALTER SYSTEM SET ipflow.batch_size = 50" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
before=$(batches)
sql -c "SELECT ipflow.send($args)" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.events WHERE $mine" "$want" 120 "sent again, they are stored again"
small=$(( $(batches) - before ))
ok "$([ "$small" -ge $(( want / 50 )) ] && [ "$large" -lt $(( want / 128 )) ]; echo $?)" \
    "in $small batches of at most 50 messages, against $large" "large batches held more than 128 messages on average"
is "$(alerts)" "$first_alerts" "the same alerts"
is "$(states)" "$first_states" "and the same detector states"
# leave nothing behind for the tests that count events and alerts
forget
sql -c "DELETE FROM ipflow.generated_anomalies WHERE $mine" -c "DROP TABLE batches_ips" >/dev/null
