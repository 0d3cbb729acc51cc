#!/usr/bin/env bash
# ipflow.train end to end: generated traffic sent through Kafka and ingested,
# then one model per IP fitted in background workers; the same models in
# the calling backend; the workers act as the caller (a role that may not
# write models fails every series, with the reason); a full
# max_worker_processes leaves the rest to the caller; a cancelled training
# stops its workers.  Needs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"

ready_for_generated_traffic

echo "1..12"

# 1. four weeks of 120 generated IPs through Kafka
args="120, '2033-01-03', 672, 303"
want=$(sql -c "SELECT count(*) FROM ipflow.generate_events($args)")
is "$(sql -c "SELECT ipflow.send($args)")" "$want" "the $want generated events are sent"
ok_wait "SELECT count(*) FROM ipflow.events e JOIN (SELECT DISTINCT src_ip FROM ipflow.generate_events($args)) g USING (src_ip)" \
    "$want" 90 "and ingested"
mine="src_ip IN (SELECT DISTINCT src_ip FROM ipflow.generate_events($args))"
series=$(sql -c "SELECT count(*) FROM ipflow.ips WHERE feature_count[1] > 0")

# 2. in workers
row=$(sql -c "SET ipflow.train_workers = 2" -c "SELECT models + skipped, failed, workers FROM ipflow.train('unq_dst_ip')")
is "$row" "$series|0|2" "train() in 2 workers handles every IP with unq_dst_ip samples ($series), none failed"
is "$(sql -c "SELECT count(*) FROM ipflow.models WHERE feature = 'unq_dst_ip' AND $mine")" 120 \
    "each of the 120 generated IPs has a model"
is "$(sql -c "SELECT count(*) FROM ipflow.forecasts WHERE feature = 'unq_dst_ip' AND y IS NULL AND $mine")" 960 \
    "and 8 forecast rows after its history"
sql -c "DROP TABLE IF EXISTS parallel_models" \
    -c "CREATE TABLE parallel_models AS SELECT src_ip, model::text AS model FROM ipflow.models WHERE feature = 'unq_dst_ip'" >/dev/null

# 3. in the calling backend: the same models
is "$(sql -c "SET ipflow.train_workers = 0" -c "SELECT models + skipped, failed, workers FROM ipflow.train('unq_dst_ip')")" \
    "$series|0|0" "train() in the calling backend handles the same series"
is "$(sql -c "SELECT count(*) FROM (SELECT src_ip, model::text FROM ipflow.models WHERE feature = 'unq_dst_ip'
                                    EXCEPT SELECT * FROM parallel_models) d")" 0 \
    "and fits exactly the models the workers fitted"
sql -c "DROP TABLE parallel_models" >/dev/null

# 4. the workers act as the caller: a role that may train but not write models fails each series
sql -c "DROP ROLE IF EXISTS ipflow_train_probe" \
    -c "CREATE ROLE ipflow_train_probe LOGIN IN ROLE ipflow_reader" \
    -c "GRANT EXECUTE ON FUNCTION ipflow.train(text, int, jsonb) TO ipflow_train_probe" >/dev/null
out=$(psql -qAtX -U ipflow_train_probe -c "SET ipflow.train_workers = 2" \
      -c "SELECT models, failed = models + failed, workers FROM ipflow.train('allow')" 2>&1)
ok "$(echo "$out" | grep -qx '0|t|2' && echo "$out" | grep -q 'permission denied for table models'; echo $?)" \
    "workers run as the calling role: without INSERT on models every series fails, with the reason" "$out"
sql -c "REVOKE EXECUTE ON FUNCTION ipflow.train(text, int, jsonb) FROM ipflow_train_probe" \
    -c "DROP ROLE ipflow_train_probe" >/dev/null

# 5. more workers than max_worker_processes has room for
out=$(sql -c "SET ipflow.train_workers = 64" -c "SELECT models + skipped, failed FROM ipflow.train('unq_dst_ip', 4)" 2>&1)
ok "$(echo "$out" | grep -q 'NOTICE:  started [0-9]* of 64 training workers' && echo "$out" | grep -qx "$series|0"; echo $?)" \
    "with too few worker slots the caller fits the rest: every series still handled" "$out"

# 6. a cancelled training stops its workers
out=$(sql -c "SET ipflow.train_workers = 2" -c "SET statement_timeout = '300ms'" \
      -c "SELECT * FROM ipflow.train(NULL, 8, '{\"uncertainty_samples\": 20000}')" 2>&1 || true)
ok "$(echo "$out" | grep -q 'canceling statement due to statement timeout'; echo $?)" \
    "a training can be cancelled" "$out"
ok_wait "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ipflow train'" 0 30 \
    "its workers stop after their current series"
is "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ipflow train'")" 0 "and none is left behind"
