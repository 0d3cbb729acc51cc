#!/usr/bin/env bash
# The README's first command, in its short mode (20 IPs x 1 week), on its
# own stack (own ports and directory): it must finish, print the summary
# with models, anomalies against the ground truth and the boosted-trees
# RMSE, and write demo/report.html with charts, which headless Chromium
# must render as a page that is not blank.  Run again, it must succeed
# again (a fresh stack).  Needs nothing of the test harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib/common.sh"
export IPFLOW_DEMO_DIR=/tmp/ipflow-demo-test IPFLOW_DEMO_PGPORT=55482 IPFLOW_DEMO_REDIS_PORT=56429
work=$(mktemp -d)
trap '"$top/demo/stop" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "1..9"
for run in first second; do
    if "$top/demo/run" --short >"$work/demo-$run.log" 2>&1; then rc=0; else rc=$?; fi
    ok "$rc" "demo/run --short completes ($run run)" "$(tail -15 "$work/demo-$run.log")"
done
log=$work/demo-second.log
ok "$(grep -Eq '^  models: +[1-9][0-9]* \(median fit [0-9.]+ ms\)' "$log"; echo $?)" \
    "the summary names the models fitted and their fit time" "$(grep -A6 '== summary' "$log")"
ok "$(grep -Eq '^  anomalies: +precision [0-9.]+, recall [0-9.]+, F1 [0-9.]+' "$log"; echo $?)" \
    "it scores the anomalies found against the injected ones" "$(grep -A6 '== summary' "$log")"
ok "$(grep -Eq '^  boosted trees: +test RMSE [0-9.]+' "$log"; echo $?)" "and gives the boosted trees' RMSE"
ok "$(grep -q 'Stop it with: demo/stop' "$log"; echo $?)" "it says how to stop the stack"

report=$top/demo/report.html
ok "$(grep -q '<svg' "$report" && grep -q '</html>' "$report"; echo $?)" "demo/report.html holds the charts"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
    --screenshot="$work/report.png" "file://$report" >"$work/chromium.log" 2>&1 || true
ok "$( [ -s "$work/report.png" ]; echo $?)" "headless Chromium renders it" "$(tail -5 "$work/chromium.log")"
out=$(/usr/bin/python3 "$here/lib/nonblank.py" "$work/report.png" 0.02 2>&1) && rc=0 || rc=1
ok "$rc" "and the screenshot is not blank ($out)"
