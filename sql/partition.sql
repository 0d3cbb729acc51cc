-- ipflow.partition_for and ipflow.map_ips_to_partitions

-- before any config, the partition count must be given
DELETE FROM ipflow.topics;
DELETE FROM ipflow.ip_partitions;
SELECT ipflow.partition_for('46.39.79.251');
SELECT ipflow.partition_for('46.39.79.251', 3) BETWEEN 0 AND 2 AS in_range;

-- bad arguments
SELECT ipflow.partition_for(NULL, 3);
SELECT ipflow.partition_for('10.0.0.0/8', 3);
SELECT ipflow.partition_for('10.0.0.1', 0);

-- keys spread over every partition, and the same key always lands on the same one
SELECT p, count(*) FROM (
  SELECT ipflow.partition_for('10.0.0.0'::inet + i, 4) AS p FROM generate_series(1, 4000) AS i
) s GROUP BY p ORDER BY p;
SELECT count(DISTINCT ipflow.partition_for('192.0.2.7', 12)) AS one_partition
  FROM generate_series(1, 50);
SELECT ipflow.partition_for('2001:db8::1', 12) = ipflow.partition_for('2001:0DB8:0:0::1', 12) AS canonical;

-- with the seed config the explicit map wins, and the log topic's count is the default
\set seed `cat data/seed-config.json`
SELECT count(*) FROM ipflow.load_config(:'seed');
SELECT ip, ipflow.partition_for(ip::inet) FROM unnest(ARRAY['46.39.79.251', '229.46.205.74', '187.44.158.33']) AS ip;
SELECT ipflow.partition_for('187.44.158.33', 2);
SELECT ipflow.partition_for('8.8.8.8') = ipflow.partition_for('8.8.8.8', 3) AS default_count;

-- sequential assignment, wrapping, duplicates keep their first place
SELECT * FROM ipflow.map_ips_to_partitions(
  ARRAY['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.2', '2001:db8::9']::inet[]);
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.1', '10.1.0.3']::inet[], 2);
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.1']::inet[], 5);
SELECT src_ip, partition FROM ipflow.ip_partitions WHERE src_ip << '10.1.0.0/16' OR family(src_ip) = 6
  ORDER BY src_ip;
SELECT ipflow.partition_for('10.1.0.4');
SELECT count(*) FROM ipflow.map_ips_to_partitions(ARRAY[]::inet[]);

SELECT * FROM ipflow.map_ips_to_partitions(NULL);
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.1', NULL]::inet[]);
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.0/24']::inet[]);
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.1']::inet[], 0);
DELETE FROM ipflow.topics WHERE name = 'LogTopic';
SELECT * FROM ipflow.map_ips_to_partitions(ARRAY['10.1.0.1']::inet[]);
