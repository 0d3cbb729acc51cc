/*
 * ingest_sql.h - the statements an ingest batch runs
 */
#ifndef IPFLOW_INGEST_SQL_H
#define IPFLOW_INGEST_SQL_H

/* Bad messages, kept with their position; a replay adds nothing. */
#define INGEST_REJECT_SQL \
"INSERT INTO ipflow.rejects (topic, kafka_partition, kafka_offset, payload, reason)" \
" SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[], $4::bytea[], $5::text[])" \
" ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING"

/* The current aggregate of each IP of the batch, as the message to publish. */
#define INGEST_AGGREGATE_SQL \
"SELECT host(p.src_ip), m.partition, json_build_object(" \
"   'src_ip', host(p.src_ip), 'events', p.events, 'first_ts', p.first_ts, 'last_ts', p.last_ts," \
"   'avg_unq_dst_ip', CASE WHEN p.feature_count[1] > 0 THEN p.feature_mean[1] END," \
"   'mean', (SELECT json_object_agg(f.feature, p.feature_mean[f.n] ORDER BY f.n)" \
"            FROM unnest(ipflow.features()) WITH ORDINALITY AS f(feature, n)" \
"            WHERE p.feature_count[f.n] > 0)," \
"   'updated_at', p.updated_at)::text" \
"  FROM ipflow.ips p LEFT JOIN ipflow.ip_partitions m ON m.src_ip = p.src_ip" \
" WHERE p.src_ip = ANY ($1::inet[])"

#endif
