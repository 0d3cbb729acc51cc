/*
 * ingest_sql.h - the statements an ingest batch runs
 */
#ifndef IPFLOW_INGEST_SQL_H
#define IPFLOW_INGEST_SQL_H

/*
 * One statement per batch stores the events and folds only the newly
 * inserted rows (RETURNING of ON CONFLICT DO NOTHING) into the per-IP and
 * per-IP × feature aggregates, so a replayed batch counts nothing twice.
 * Means and squared deviations merge as in Chan et al.'s parallel algorithm.
 */
#define INGEST_INSERT_SQL \
"WITH batch AS (" \
"  SELECT * FROM unnest($1::inet[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[]," \
"                       $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[]," \
"                       $12::int4[], $13::int8[])" \
"    AS b(src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent, pkts_received," \
"         bytesin, bytesout, unq_dst_port, kafka_partition, kafka_offset)" \
"), ins AS (" \
"  INSERT INTO ipflow.events AS e (src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent," \
"         pkts_received, bytesin, bytesout, unq_dst_port, kafka_partition, kafka_offset)" \
"  SELECT * FROM batch ON CONFLICT (src_ip, ts) DO NOTHING" \
"  RETURNING e.*" \
"), per_ip AS (" \
"  INSERT INTO ipflow.ips AS p (src_ip, events, first_ts, last_ts)" \
"  SELECT src_ip, count(*), min(ts), max(ts) FROM ins GROUP BY src_ip" \
"  ON CONFLICT (src_ip) DO UPDATE SET events = p.events + EXCLUDED.events," \
"     first_ts = least(p.first_ts, EXCLUDED.first_ts), last_ts = greatest(p.last_ts, EXCLUDED.last_ts)," \
"     updated_at = now()" \
"  RETURNING 1" \
"), per_feature AS (" \
"  INSERT INTO ipflow.ip_stats AS s (src_ip, feature, count, mean, m2, min, max, first_ts, last_ts)" \
"  SELECT i.src_ip, f.feature, count(*), avg(f.value::float8)," \
"         coalesce(var_pop(f.value::float8) * count(*), 0), min(f.value), max(f.value), min(i.ts), max(i.ts)" \
"    FROM ins i CROSS JOIN LATERAL (VALUES ('unq_dst_ip', i.unq_dst_ip), ('allow', i.allow)," \
"         ('drop', i.\"drop\"), ('frequency', i.frequency), ('pkts_sent', i.pkts_sent)," \
"         ('pkts_received', i.pkts_received), ('bytesin', i.bytesin), ('bytesout', i.bytesout)," \
"         ('unq_dst_port', i.unq_dst_port)) AS f(feature, value)" \
"   WHERE f.value IS NOT NULL" \
"   GROUP BY i.src_ip, f.feature" \
"  ON CONFLICT (src_ip, feature) DO UPDATE SET" \
"     count = s.count + EXCLUDED.count," \
"     mean = s.mean + (EXCLUDED.mean - s.mean) * EXCLUDED.count / (s.count + EXCLUDED.count)," \
"     m2 = s.m2 + EXCLUDED.m2" \
"          + (EXCLUDED.mean - s.mean) ^ 2 * s.count * EXCLUDED.count / (s.count + EXCLUDED.count)," \
"     min = least(s.min, EXCLUDED.min), max = greatest(s.max, EXCLUDED.max)," \
"     first_ts = least(s.first_ts, EXCLUDED.first_ts), last_ts = greatest(s.last_ts, EXCLUDED.last_ts)," \
"     updated_at = now()" \
"  RETURNING 1" \
")" \
"SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM per_ip), (SELECT count(*) FROM per_feature)"

/* Bad messages, kept with their position; a replay adds nothing. */
#define INGEST_REJECT_SQL \
"INSERT INTO ipflow.rejects (topic, kafka_partition, kafka_offset, payload, reason)" \
" SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[], $4::bytea[], $5::text[])" \
" ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING"

/* The current aggregate of each IP of the batch, as the message to publish. */
#define INGEST_AGGREGATE_SQL \
"SELECT host(p.src_ip), m.partition, json_build_object(" \
"   'src_ip', host(p.src_ip), 'events', p.events, 'first_ts', p.first_ts, 'last_ts', p.last_ts," \
"   'avg_unq_dst_ip', (SELECT s.mean FROM ipflow.ip_stats s" \
"                      WHERE s.src_ip = p.src_ip AND s.feature = 'unq_dst_ip')," \
"   'mean', (SELECT json_object_agg(s.feature, s.mean ORDER BY s.feature)" \
"            FROM ipflow.ip_stats s WHERE s.src_ip = p.src_ip)," \
"   'updated_at', p.updated_at)::text" \
"  FROM ipflow.ips p LEFT JOIN ipflow.ip_partitions m ON m.src_ip = p.src_ip" \
" WHERE p.src_ip = ANY ($1::inet[])"

#endif
