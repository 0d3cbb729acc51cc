#!/usr/bin/env bash
# Forecast accuracy on the real logs (data/logs.csv), from SQL: loaded into
# ipflow.events, ipflow.backtest must score each of the 9 series of the
# benchmark protocol (unq_dst_ip, frequency, bytesin of each IP; 20 origins
# over the last 40 %, 8 points ahead) exactly as the core benchmark
# (bench/forecast.c) does, and meet issue 6's targets: mean MASE <= 0.85
# over the series not constant in the test period, 95 % intervals covering
# 93-97 %.  Needs the harness (test/harness env).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/test/integration/lib/common.sh"
db=forecast_logs
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT

psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q() { sql -d "$db" "$@"; }
q -c "CREATE EXTENSION ipflow" 2>/dev/null
q -c "SELECT ipflow.load_csv('$top/data/logs.csv')" >/dev/null
q -c "INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent, pkts_received,
                                 bytesin, bytesout, unq_dst_port)
      SELECT src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent, pkts_received, bytesin, bytesout,
             unq_dst_port FROM ipflow.real_events" >/dev/null

make -s -C "$top" bench/bin/forecast >/dev/null
bench=$("$top/bench/bin/forecast" "$top/data/logs.csv" '{}' 1)

echo "1..12"
n=0
sum_mase=0
sum_cov=0
while read -r ip feature points mase naive coverage smape rest; do
    got=$(q -c "SELECT to_char(mase, 'FM0.000') || ' ' || to_char(naive_mase, 'FM0.000') || ' ' || to_char(coverage, 'FM0.000')
                  FROM ipflow.backtest('$ip', '$feature', 20, 8)")
    is "$got" "$mase $naive $coverage" "backtest of $ip $feature from SQL scores as the core benchmark: MASE, naive MASE, coverage"
    if [ -z "$rest" ]; then
        n=$((n + 1))
        sum_mase=$(awk -v a="$sum_mase" -v b="${got%% *}" 'BEGIN { print a + b }')
        sum_cov=$(awk -v a="$sum_cov" -v b="${got##* }" 'BEGIN { print a + b }')
    fi
done < <(echo "$bench" | grep -E '^[0-9a-f.:]+ (unq_dst_ip|frequency|bytesin) ')
mean_mase=$(awk -v s="$sum_mase" -v n="$n" 'BEGIN { printf "%.3f", s / n }')
mean_cov=$(awk -v s="$sum_cov" -v n="$n" 'BEGIN { printf "%.3f", s / n }')
ok "$(awk -v m="$mean_mase" 'BEGIN { exit !(m <= 0.85) }'; echo $?)" \
    "mean MASE over the $n series not constant in the test period is $mean_mase (target <= 0.85)"
ok "$(awk -v c="$mean_cov" 'BEGIN { exit !(c >= 0.93 && c <= 0.97) }'; echo $?)" \
    "their 95 % intervals cover $mean_cov of the actuals (target 0.93 to 0.97)"
ok "$( [ "$n" = 6 ]; echo $?)" "6 of the 9 series are scored (the 3 of 229.46.205.74 are constant in the test period)"
