-- ipflow.load_config: the original config.json, and every way it can be wrong
\set seed `cat data/seed-config.json`

SELECT * FROM ipflow.load_config(:'seed') ORDER BY kind, name;
SELECT name, num_partitions, replication_factor FROM ipflow.topics ORDER BY name;
SELECT src_ip, partition FROM ipflow.ip_partitions ORDER BY src_ip;
SELECT last_processed_file FROM ipflow.sender_cursor;

-- loading the same file again changes nothing
SELECT count(*) FROM ipflow.load_config(:'seed');
SELECT count(*) AS topics FROM ipflow.topics;
SELECT count(*) AS mappings FROM ipflow.ip_partitions;

-- unknown keys are reported and ignored
SELECT kind, name FROM ipflow.load_config(
  '{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":1,"retention":"7d"}],
    "dag_configs":{"last_processed_file":"1.json","schedule":"20s"},
    "source_partition_map":{},"comment":"x"}') ORDER BY kind, name;

-- bad documents fail with the offending key and change nothing
SELECT * FROM ipflow.load_config(NULL);
SELECT * FROM ipflow.load_config('[]');
SELECT * FROM ipflow.load_config('{"dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":"3","replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":0}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"A","num_partitions":1,"replication_factor":1},
  {"name":"A","num_partitions":1,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{"10.0.0.1":3}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{"10.0.0.300":0}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"Log Topic","num_partitions":3,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{}}');
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":3,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"latest"},"source_partition_map":{}}');
-- fewer partitions would strand an earlier mapping (187.44.158.33 -> 2): refused, nothing written
SELECT * FROM ipflow.load_config('{"topic_configs":[{"name":"LogTopic","num_partitions":2,"replication_factor":1}],
  "dag_configs":{"last_processed_file":"2.json"},"source_partition_map":{"10.9.9.9":1}}');

SELECT name, num_partitions, replication_factor FROM ipflow.topics ORDER BY name;
SELECT src_ip, partition FROM ipflow.ip_partitions ORDER BY src_ip;
SELECT last_processed_file FROM ipflow.sender_cursor;

-- the map may refer to a log topic stored earlier
SELECT kind, name, value FROM ipflow.load_config(
  '{"topic_configs":[{"name":"AnotherTopic","num_partitions":1,"replication_factor":1}],
    "dag_configs":{"last_processed_file":"3.json"},
    "source_partition_map":{"2001:DB8::7":2}}') ORDER BY kind, name;
SELECT src_ip, partition FROM ipflow.ip_partitions WHERE family(src_ip) = 6;
