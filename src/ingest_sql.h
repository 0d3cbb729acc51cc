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

#endif
