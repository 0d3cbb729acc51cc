-- ipflow.* parameters: defaults, ranges, and values refused when set

SELECT name, setting, unit, context, vartype, min_val, max_val, enumvals
  FROM pg_settings
 WHERE name LIKE 'ipflow.%'
   AND name NOT IN ('ipflow.kafka_brokers', 'ipflow.redis_url', 'ipflow.database')
 ORDER BY name;

-- secrets are hidden from SHOW ALL and pg_settings
SELECT count(*) FROM pg_settings WHERE name IN ('ipflow.redis_password', 'ipflow.kafka_sasl_password');

-- server-wide settings cannot be changed in a session
SET ipflow.batch_size = 5;
-- the prefix is reserved: typos are errors, not silent placeholders
SET ipflow.batch_sise = 5;

-- every value is checked when set
ALTER SYSTEM SET ipflow.batch_size = 0;
ALTER SYSTEM SET ipflow.batch_size = 1000001;
ALTER SYSTEM SET ipflow.batch_timeout = 0;
ALTER SYSTEM SET ipflow.batch_timeout = '2min';
ALTER SYSTEM SET ipflow.ingest_workers = -1;
ALTER SYSTEM SET ipflow.ingest_workers = 65;
ALTER SYSTEM SET ipflow.redis_backend = 'memcached';
ALTER SYSTEM SET ipflow.max_message_size = '512B';
ALTER SYSTEM SET ipflow.max_message_size = '1GB';
ALTER SYSTEM SET ipflow.batch_max_bytes = '100kB';
ALTER SYSTEM SET ipflow.redis_timeout = '10ms';
ALTER SYSTEM SET ipflow.mirror_max_buffer = '8GB';
ALTER SYSTEM SET ipflow.database = '';
ALTER SYSTEM SET ipflow.kafka_brokers = '';
ALTER SYSTEM SET ipflow.kafka_brokers = 'kafka1';
ALTER SYSTEM SET ipflow.kafka_brokers = 'kafka1:9092,kafka2:99999';
ALTER SYSTEM SET ipflow.log_topic = 'Log Topic';
ALTER SYSTEM SET ipflow.aggregate_topic = '';
ALTER SYSTEM SET ipflow.consumer_group = 'my group';
ALTER SYSTEM SET ipflow.kafka_security_protocol = 'tls';
ALTER SYSTEM SET ipflow.kafka_sasl_mechanism = 'GSSAPI';
ALTER SYSTEM SET ipflow.redis_url = 'http://cache:6379';
-- a password in the URL is refused without being echoed back
ALTER SYSTEM SET ipflow.redis_url = 'redis://:hunter2@cache:6379/0';

-- good values are accepted (and reset again)
ALTER SYSTEM SET ipflow.batch_size = 500;
ALTER SYSTEM SET ipflow.batch_timeout = '250ms';
ALTER SYSTEM SET ipflow.ingest_workers = 4;
ALTER SYSTEM SET ipflow.redis_backend = 'sorted_set';
ALTER SYSTEM SET ipflow.max_message_size = '64kB';
ALTER SYSTEM SET ipflow.batch_max_bytes = '16MB';
ALTER SYSTEM SET ipflow.redis_timeout = '2s';
ALTER SYSTEM SET ipflow.mirror_max_buffer = '256MB';
ALTER SYSTEM SET ipflow.kafka_brokers = 'kafka1:9092, [::1]:9093';
ALTER SYSTEM SET ipflow.redis_url = '';
ALTER SYSTEM SET ipflow.redis_url = 'unix:///run/redis/redis.sock?db=2';
ALTER SYSTEM SET ipflow.log_topic = 'raw-events.v2';
ALTER SYSTEM SET ipflow.kafka_security_protocol = 'SASL_SSL';
ALTER SYSTEM SET ipflow.kafka_sasl_mechanism = 'scram-sha-512';
ALTER SYSTEM RESET ALL;
