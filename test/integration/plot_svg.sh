#!/usr/bin/env bash
# ipflow.plot_svg on the real logs (data/logs.csv, 3 IPs, January-July
# 2022) with forecasts and anomalies written by hand: every chart is a
# well-formed SVG document to xmllint, with its real values, forecast line,
# interval band, anomaly markers, axes, title and legend, from a day to the
# whole half-year; the reader role may draw them.  Needs the harness.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/test/integration/lib/common.sh"
db=plot_svg
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS plot_svg_viewer" >/dev/null 2>&1
}
trap cleanup EXIT

psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
    -c "DROP ROLE IF EXISTS plot_svg_viewer" -c "CREATE DATABASE $db" >/dev/null
q() { sql -d "$db" "$@"; }
q -c "CREATE EXTENSION ipflow" 2>/dev/null
q <<SQL
CREATE TEMP TABLE logs (src_ip inet, unq_dst_ip bigint, allow bigint, "drop" bigint, frequency bigint,
                        pkts_sent bigint, pkts_received bigint, bytesin bigint, bytesout bigint,
                        unq_dst_port bigint, "timestamp" timestamp);
\copy logs FROM '$top/data/logs.csv' CSV HEADER
INSERT INTO ipflow.events (src_ip, ts, unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received,
                           bytesin, bytesout, unq_dst_port)
SELECT src_ip, "timestamp" AT TIME ZONE 'UTC', unq_dst_ip, allow, "drop", frequency, pkts_sent, pkts_received,
       bytesin, bytesout, unq_dst_port
  FROM logs ON CONFLICT DO NOTHING;
-- a week of forecasts after the last event: the mean of the same hour, +- 2 sd
INSERT INTO ipflow.forecasts (src_ip, feature, ds, yhat, yhat_lower, yhat_upper, trained_at)
SELECT e.src_ip, 'allow', e.ts + interval '7 days', avg(h.allow), greatest(avg(h.allow) - 2 * stddev(h.allow), 0),
       avg(h.allow) + 2 * stddev(h.allow), now()
  FROM ipflow.events e JOIN ipflow.events h
    ON h.src_ip = e.src_ip AND extract(hour FROM h.ts) = extract(hour FROM e.ts)
 WHERE e.ts > '2022-07-22' GROUP BY e.src_ip, e.ts;
-- the values far above that mean are anomalies
INSERT INTO ipflow.anomalies (src_ip, feature, ts, value, expected, lower, upper, score, source)
SELECT src_ip, 'allow', ts, allow, m, 0, m * 3, 0.9, 'stream'
  FROM (SELECT src_ip, ts, allow, avg(allow) OVER (PARTITION BY src_ip) AS m FROM ipflow.events) AS e
 WHERE allow > m * 3;
CREATE ROLE plot_svg_viewer LOGIN IN ROLE ipflow_reader;
SQL

svg() {		# svg FILE ARGUMENTS...: the chart, as the reader
    local file=$1; shift
    psql -qAtX -v ON_ERROR_STOP=1 -U plot_svg_viewer -d "$db" -c "SELECT ipflow.plot_svg($*)" >"$work/$file"
}
xcount() {	# xcount FILE XPATH: how many nodes (SVG namespace ignored)
    xmllint --xpath "count($2)" "$work/$1"
}
el() { echo "//*[local-name()='$1']"; }	# any element of that name
ch() { echo "*[local-name()='$1']"; }	# a child of that name

echo "1..13"

# 1. the default window (the last 14 days up to the last forecast)
svg default.svg "'46.39.79.251', 'allow'"
xmllint --noout "$work/default.svg" && r=0 || r=$?
ok $r "the default chart is well-formed XML"
is "$(xmllint --xpath "namespace-uri(/*)" "$work/default.svg")" "http://www.w3.org/2000/svg" \
    "its root is an SVG element"
is "$(xmllint --xpath "string($(el text)[@class='title'])" "$work/default.svg")" \
    "allow of 46.39.79.251, 2022-07-22 18:00 to 2022-08-05 18:00 UTC" "the title names the feature, the IP and the window"
is "$(xcount default.svg "$(el path)[@class='actual']") $(xcount default.svg "$(el path)[@class='forecast']") $(xcount default.svg "$(el path)[@class='band']")" \
    "1 1 1" "a path each for the real values, the forecast and its band"
want=$(q -c "SELECT count(DISTINCT ts) FROM ipflow.anomalies WHERE src_ip = '46.39.79.251'
               AND ts BETWEEN '2022-07-22 18:00+00' AND '2022-08-05 18:00+00'")
is "$(xcount default.svg "$(el g)[@class='anomalies']/$(ch circle)")" "$want" "one marker per anomaly of the window"
is "$(xmllint --xpath "$(el g)[@class='legend']/$(ch text)/text()" "$work/default.svg" | paste -sd,)" \
    "actual,forecast,interval,anomaly" "the legend names all four"
ok "$([ "$(xcount default.svg "$(el g)[@class='axis x']/$(ch text)")" -ge 5 ] && [ "$(xcount default.svg "$(el g)[@class='axis y']/$(ch text)")" -ge 4 ]; echo $?)" \
    "both axes have tick labels"

# 2. every feature of every IP over the half-year, and a day, as XML
bad=0
for ip in 46.39.79.251 187.44.158.33 229.46.205.74; do
    for f in $(q -c "SELECT unnest(ipflow.features())"); do
        svg "$f-$ip.svg" "'$ip', '$f', '2022-01-01', '2022-08-01'"
        xmllint --noout "$work/$f-$ip.svg" 2>>"$work/xmllint.err" || bad=$((bad + 1))
    done
done
is "$bad" 0 "27 half-year charts (3 IPs x 9 features) are well-formed"
is "$(xmllint --xpath "$(el g)[@class='axis x']/$(ch text)/text()" "$work/allow-46.39.79.251.svg" | paste -sd,)" \
    "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,UTC" "a half-year is labelled by month"
points=$(xmllint --xpath "string($(el path)[@class='actual']/@d)" "$work/bytesin-46.39.79.251.svg" | tr -cd 'ML' | wc -c)
is "$points" "$(q -c "SELECT count(*) FROM ipflow.events WHERE src_ip = '46.39.79.251'")" \
    "the half-year chart draws every real value"
svg day.svg "'46.39.79.251', 'bytesin', '2022-03-01 06:00', '2022-03-01 20:00'"
xmllint --noout "$work/day.svg" && r=0 || r=$?
ok $r "a day's chart is well-formed"
is "$(xmllint --xpath "$(el g)[@class='axis x']/$(ch text)/text()" "$work/day.svg" | paste -sd,)" \
    "06:00,08:00,10:00,12:00,14:00,16:00,18:00,20:00,UTC" "a day is labelled by hour"

# 3. an IP with no data: a chart that says so
svg none.svg "'192.0.2.99', 'allow'"
is "$(xmllint --xpath "string($(el text)[@class='note'])" "$work/none.svg")" "no data of allow for 192.0.2.99" \
    "an unknown IP gives an empty chart with a note"
