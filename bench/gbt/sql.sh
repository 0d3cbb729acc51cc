#!/usr/bin/env bash
# GBT from SQL on ROWS synthetic events (default 1,000,000): gbt_train with
# the original pipeline's defaults, then scoring every row with the
# set-based gbt_predict(name, query) and with the row form
# gbt_predict(name, jsonb) per row, each beside a baseline query that reads
# the same rows without predicting.  Runs against the harness of the
# environment (eval "$(test/harness env)") in a database of its own.
#
#   bench/gbt/sql.sh [ROWS]
set -euo pipefail
rows=${1:-1000000}
db=gbt_bench
ips=10
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q() { psql -qAtX -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# Milliseconds a statement takes, best of three (the machine is shared).
best() {
    local t best=""
    for _ in 1 2 3; do
        t=$(q -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}

q -c "CREATE EXTENSION ipflow" 2>/dev/null
q <<SQL
CREATE TABLE events (LIKE ipflow.events INCLUDING DEFAULTS);
INSERT INTO events (src_ip, ts, unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received,
                    bytesin, bytesout, unq_dst_port)
SELECT '10.0.0.0'::inet + (i % $ips), '2010-01-01'::timestamptz + make_interval(hours => i / $ips),
       (h % 50) + (i % $ips), h % 100, h % 20, h % 120, h % 1000, (h >> 10) % 1000,
       (h >> 20) % 100000, (h >> 30) % 1000000, h % 9
  FROM generate_series(0, $rows - 1) AS i, LATERAL (SELECT abs(hashint8(i)) AS h) AS x;
VACUUM ANALYZE events;
SQL

echo "rows: $rows ($ips IPs), features: one-hot src_ip, prev_unq_dst_ip, 8 columns"
read -r train_ms total_ms test_rmse < <(q -F ' ' -c "SET maintenance_work_mem = '1GB'" \
    -c "SELECT m->>'training_ms', m->>'total_ms', round((m->'test'->>'rmse')::numeric, 3)
          FROM ipflow.gbt_train('bench', 'SELECT * FROM events', 'unq_dst_ip') AS m")
echo "gbt_train: whole call $total_ms ms, of which the core's training $train_ms ms (test RMSE $test_rmse)"

scan=$(best "SELECT count(*) FROM events")
set_ms=$(best "SELECT sum(prediction) FROM ipflow.gbt_predict('bench', 'SELECT * FROM events')")
set_nokey=$(best "SELECT sum(prediction) FROM ipflow.gbt_predict('bench', 'SELECT * FROM events', '{}')")
json_base=$(best "SELECT count(j) FROM (SELECT to_jsonb(e) AS j FROM events e) AS x")
json_ms=$(best "SELECT sum(ipflow.gbt_predict('bench', to_jsonb(e))) FROM events e")
rate() { echo "scale=0; $rows * 1000 / $1" | bc -l; }
echo "count(*) over the table:                     $scan ms"
echo "set form, key (src_ip, ts) as jsonb:         $set_ms ms = $(rate "$set_ms") rows/s"
echo "set form, no key:                            $set_nokey ms = $(rate "$set_nokey") rows/s"
echo "to_jsonb(e) of every row (row form's input): $json_base ms"
echo "row form, gbt_predict(name, to_jsonb(e)):    $json_ms ms = $(rate "$json_ms") rows/s"
