-- ipflow.plot_svg: a well-formed SVG document with the real values, the
-- forecast and its band, the anomalies, axes, title and legend; default and
-- chosen windows from hours to months; notes instead of errors when there
-- is nothing to show; errors for bad arguments.
SET timezone = 'UTC';
-- business hours of one week, a forecast for the next Monday, anomalies
INSERT INTO ipflow.events (src_ip, ts, bytesin, allow, "drop")
SELECT '192.0.2.10', t, (extract(hour FROM t) * 100)::bigint, 5, 1
  FROM generate_series('2022-01-03 08:00+00'::timestamptz, '2022-01-07 18:00+00', '1 hour') AS t
 WHERE extract(hour FROM t) BETWEEN 8 AND 18;
INSERT INTO ipflow.forecasts (src_ip, feature, ds, yhat, yhat_lower, yhat_upper, trained_at)
SELECT '192.0.2.10', 'bytesin', t, 1000, 600, 1400, '2022-01-08'
  FROM generate_series('2022-01-10 08:00+00'::timestamptz, '2022-01-10 18:00+00', '1 hour') AS t;
INSERT INTO ipflow.anomalies (src_ip, feature, ts, value, expected, lower, upper, score, source) VALUES
    ('192.0.2.10', 'bytesin', '2022-01-05 12:00+00', 1200, 900, 700, 1100, 0.75, 'stream'),
    ('192.0.2.10', 'bytesin', '2022-01-05 12:00+00', 1200, 950, 800, 1150, 0.5, 'forecast'),
    ('192.0.2.10', 'bytesin', '2022-01-06 09:00+00', 900, NULL, NULL, NULL, 0.2, 'stream');
CREATE FUNCTION pg_temp.x(svg text, path text) RETURNS text[] LANGUAGE sql AS $$
    SELECT xpath(path, XMLPARSE(DOCUMENT svg), ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])::text[]
$$;
CREATE TEMP TABLE chart AS SELECT ipflow.plot_svg('192.0.2.10', 'bytesin') AS svg;
SELECT xml_is_well_formed_document(svg) AS well_formed, length(svg) < 20000 AS small FROM chart;
SELECT pg_temp.x(svg, 'name(/*)') AS root, pg_temp.x(svg, '/s:svg/s:title/text()') AS title,
       pg_temp.x(svg, '//s:text[@class="title"]/text()') = pg_temp.x(svg, '/s:svg/s:title/text()') AS shown
  FROM chart;
-- one stroke per day of real values (the nights break the line), the
-- forecast's day, its band closed, one marker per anomalous time
SELECT (SELECT count(*) FROM regexp_matches(d[1], 'M', 'g')) AS actual_runs,
       (SELECT count(*) FROM regexp_matches(f[1], 'M', 'g')) AS forecast_runs,
       (SELECT count(*) FROM regexp_matches(b[1], 'Z', 'g')) AS band_shapes
  FROM chart, LATERAL (SELECT pg_temp.x(svg, '//s:path[@class="actual"]/@d') AS d,
                              pg_temp.x(svg, '//s:path[@class="forecast"]/@d') AS f,
                              pg_temp.x(svg, '//s:path[@class="band"]/@d') AS b) AS p;
SELECT unnest(pg_temp.x(svg, '//s:g[@class="anomalies"]/s:circle/s:title/text()')) AS anomaly FROM chart;
SELECT pg_temp.x(svg, '//s:g[@class="legend"]/s:text/text()') AS legend,
       pg_temp.x(svg, '//s:g[@class="axis y"]/s:text/text()') AS value_ticks,
       pg_temp.x(svg, '//s:g[@class="axis x"]/s:text/text()') AS time_ticks,
       pg_temp.x(svg, '//s:g[@class="axis x"]/s:text/s:tspan/text()') AS second_lines,
       pg_temp.x(svg, 'count(//s:text[@class="note"])') AS notes
  FROM chart;
-- hours, and months
SELECT pg_temp.x(svg, '//s:g[@class="axis x"]/s:text/text()') AS time_ticks,
       pg_temp.x(svg, '//s:g[@class="axis x"]/s:text/s:tspan/text()') AS second_lines,
       pg_temp.x(svg, 'count(//s:circle[parent::s:g[@class="anomalies"]])') AS anomalies
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '2022-01-05 06:00', '2022-01-05 20:00') AS svg) AS c;
SELECT pg_temp.x(svg, '//s:g[@class="axis x"]/s:text/text()') AS time_ticks,
       pg_temp.x(svg, '/s:svg/s:title/text()') AS title
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'allow', '2022-01-01', '2022-07-01') AS svg) AS c;
-- "drop" is a keyword: the column is quoted
SELECT pg_temp.x(svg, '//s:g[@class="axis y"]/s:text/text()') AS value_ticks
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'drop') AS svg) AS c;
-- nothing to show: a chart with a note
SELECT pg_temp.x(svg, '//s:text[@class="note"]/text()') AS note, pg_temp.x(svg, '/s:svg/s:title/text()') AS title,
       pg_temp.x(svg, 'count(//s:path)') AS paths
  FROM (SELECT ipflow.plot_svg('203.0.113.1', 'bytesin', '2022-01-01', '2022-01-02') AS svg) AS c;
SELECT pg_temp.x(svg, '//s:text[@class="note"]/text()') AS note
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '2021-01-01', '2021-01-02') AS svg) AS c;
SELECT pg_temp.x(svg, '/s:svg/s:title/text()') AS one_instant
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '2022-01-04 12:00', '2022-01-04 12:00') AS svg) AS c;
SELECT pg_temp.x(svg, '/s:svg/s:title/text()') AS from_only
  FROM (SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '2022-01-06') AS svg) AS c;
-- bad arguments
SELECT ipflow.plot_svg(NULL, 'bytesin');
SELECT ipflow.plot_svg('192.0.2.10', NULL);
SELECT ipflow.plot_svg('192.0.2.10', 'bytesin; DROP TABLE ipflow.events');
SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '2022-01-02', '2022-01-01');
SELECT ipflow.plot_svg('192.0.2.10', 'bytesin', '-infinity', '2022-01-01');
DELETE FROM ipflow.anomalies WHERE src_ip = '192.0.2.10';
DELETE FROM ipflow.forecasts WHERE src_ip = '192.0.2.10';
DELETE FROM ipflow.events WHERE src_ip = '192.0.2.10';
