#!/usr/bin/env bash
# Soak (not a timed test, not in CI): the whole pipeline under a steady load
# for a long time, to show that nothing grows and nothing falls behind.
#
#   bench/soak.sh [MINUTES] [EVENTS_PER_SECOND] [IPS]
#
# (defaults 30, 5000, 2000).  The sender worker streams generated events
# of IPS source IPs (with the generator's anomalies) into the log topic at
# EVENTS_PER_SECOND (simulated time from 2015 on, so that dump finds them
# old enough); one ingest worker stores them with streaming anomaly
# detection on and mirrors them into Redis.  With SOAK_DUMP_EVERY=N,
# ipflow.dump() moves Redis into ipflow.history N seconds after each run
# ends, in the background (what the pg_cron dump job does); by default it
# does not run, and Redis grows by every sample (about 6 GB in 30 min at
# 5,000 events/s): at that rate dump moves 45,000 samples a second and
# takes most of a core of this 2-core machine.
# Every 10 s it samples the ingest and sender workers' private memory
# (RssAnon: RSS would also count the shared buffers they touched), the
# consumer lag, the mirror's lag, the events stored and Redis' memory.
# At the end: bench/out/soak.csv (the samples), bench/out/soak.svg (the
# curves) and a summary, also in bench/out/soak.txt, with the log's
# errors and warnings.  Runs its own harness on its own ports.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
minutes=${1:-30}
rate=${2:-5000}
ips=${3:-2000}
dump_every=${SOAK_DUMP_EVERY:-0}
out=$top/bench/out
mkdir -p "$out"
. bench/lib.sh
bench_harness soak 55462 56399
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

sql -c "CREATE EXTENSION ipflow" \
    -c "SELECT count(*) FROM ipflow.load_config(pg_read_file('$top/data/seed-config.json')::jsonb)" >/dev/null
until [ "$(sql -c "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND partitions <> 'LogTopic[]'")" = 1 ]; do
    sleep 0.5
done
sql -c "SELECT ipflow.load_csv('$top/data/logs.csv')" \
    -c "SELECT count(*) FROM ipflow.learn_profiles('ipflow.real_events')" >/dev/null
sql -c "SELECT * FROM ipflow.start_sender($ips, '2015-01-05', 7, events_per_second => $rate)" >/dev/null
echo "== soak: $minutes min at $rate events/s from $ips IPs (sender, detection, mirror; dump every ${dump_every}s after the last, 0: none)"

# the dump job, in the background
: >"$out/soak-dumps.txt"
if [ "$dump_every" -gt 0 ]; then
    (while :; do
        sleep "$dump_every"
        sql -c "SET ipflow.dump_lag = '30s'" -c "SELECT ipflow.dump()" >>"$out/soak-dumps.txt"
     done) &
    dumper=$!
    trap 'kill $dumper 2>/dev/null; test/harness stop' EXIT
fi

csv=$out/soak.csv
echo "seconds,ingest_kb,sender_kb,lag,mirror_lag,events,sent,redis_kb,anomalies,history" >"$csv"
start=$(date +%s)
end=$((start + minutes * 60))
while [ "$(date +%s)" -lt "$end" ]; do
    sleep 10
    now=$(date +%s)
    IFS='|' read -r ingest_pid lag mirror_lag events <<<"$(sql -c "
        SELECT pid, lag, mirror_lag, inserted FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL LIMIT 1")"
    IFS='|' read -r sender_pid sent <<<"$(sql -c "SELECT coalesce(pid, 0), sent FROM ipflow.sender")"
    redis_kb=$(( $(redis-cli -p "$IPFLOW_REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r') / 1024 ))
    anomalies=$(sql -c "SELECT count(*) FROM ipflow.anomalies")
    history=$(sql -c "SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables WHERE relname = 'history'")
    line="$((now - start)),$(anon_kb "$ingest_pid"),$(anon_kb "$sender_pid"),$lag,$mirror_lag,$events,$sent,$redis_kb,$anomalies,$history"
    echo "$line" >>"$csv"
    echo "$line"
done

# the curves: private memory of both workers, and the consumer lag
awk -F, -v minutes="$minutes" '
BEGIN { n = 0 }
NR == 1 { next }
{ t[n] = $1 / 60; a[n] = $2 / 1024; s[n] = $3 / 1024; l[n] = $4; n++
  if (a[n-1] > mmax) mmax = a[n-1]; if (s[n-1] > mmax) mmax = s[n-1]; if (l[n-1] > lmax) lmax = l[n-1] }
function x(v) { return 60 + v / minutes * 620 }
function path(arr, top, h, max,   i, p) {
  p = ""; for (i = 0; i < n; i++) p = p sprintf("%s%.1f,%.1f ", i ? "L" : "M", x(t[i]), top + h - arr[i] / max * h); return p }
END {
  mmax = (mmax < 10 ? 10 : mmax * 1.2); lmax = (lmax < 100 ? 100 : lmax * 1.2)
  print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"420\" font-family=\"sans-serif\" font-size=\"12\">"
  print "<rect width=\"720\" height=\"420\" fill=\"white\"/>"
  printf "<text x=\"60\" y=\"20\">worker private memory (MB, max %.0f)</text>\n", mmax
  printf "<rect x=\"60\" y=\"30\" width=\"620\" height=\"150\" fill=\"none\" stroke=\"#888\"/>\n"
  printf "<path d=\"%s\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n", path(a, 30, 150, mmax)
  printf "<path d=\"%s\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>\n", path(s, 30, 150, mmax)
  print "<text x=\"500\" y=\"20\" fill=\"#1f77b4\">ingest</text><text x=\"560\" y=\"20\" fill=\"#ff7f0e\">sender</text>"
  printf "<text x=\"60\" y=\"220\">consumer lag (events, max %.0f)</text>\n", lmax
  printf "<rect x=\"60\" y=\"230\" width=\"620\" height=\"150\" fill=\"none\" stroke=\"#888\"/>\n"
  printf "<path d=\"%s\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n", path(l, 230, 150, lmax)
  printf "<text x=\"60\" y=\"400\">0</text><text x=\"660\" y=\"400\">%d min</text>\n", minutes
  print "</svg>" }' "$csv" >"$out/soak.svg"

# the summary: memory at the start (after the first minute), the end and
# its peak; lag; throughput; the log's errors and warnings
problems=$(grep -cE '(ERROR|FATAL|PANIC|WARNING):' "$IPFLOW_HARNESS_DIR/postgres.log" || true)
awk -F, -v problems="$problems" -v rate="$rate" '
NR == 1 { next }
{ n++; sec[n] = $1; ing[n] = $2; snd[n] = $3; lag[n] = $4; mlag[n] = $5; ev[n] = $6; red[n] = $8; an[n] = $9; hist[n] = $10
  if ($4 > lagmax) lagmax = $4; if ($5 > mlagmax) mlagmax = $5; if ($2 > ingmax) ingmax = $2; if ($3 > sndmax) sndmax = $3 }
END {
  first = (n >= 7 ? 7 : 1)
  printf "samples: %d over %.1f min\n", n, sec[n] / 60
  printf "events stored: %d (%.0f/s over the run; target %d/s)\n", ev[n], ev[n] / sec[n], rate
  printf "ingest worker private memory: %.1f MB after 1 min, %.1f MB at the end, peak %.1f MB\n", ing[first] / 1024, ing[n] / 1024, ingmax / 1024
  printf "sender worker private memory: %.1f MB after 1 min, %.1f MB at the end, peak %.1f MB\n", snd[first] / 1024, snd[n] / 1024, sndmax / 1024
  printf "consumer lag: max %d events, at the end %d\n", lagmax, lag[n]
  printf "mirror lag: max %d events, at the end %d\n", mlagmax, mlag[n]
  printf "Redis memory at the end: %.1f MB; samples in ipflow.history (dumped): %d\n", red[n] / 1024, hist[n]
  printf "anomalies raised: %d\n", an[n]
  printf "errors and warnings in the server log: %d\n", problems }' "$csv" | tee "$out/soak.txt"
grep -E '(ERROR|FATAL|PANIC|WARNING):' "$IPFLOW_HARNESS_DIR/postgres.log" | head -20 | tee -a "$out/soak.txt" || true
echo "report: $csv, $out/soak.svg, $out/soak.txt"
