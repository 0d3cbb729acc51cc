-- ipflow.redis_series and ipflow.dump refuse bad arguments before any Redis call
SELECT * FROM ipflow.redis_series('192.0.2.1', 'nope');
SELECT * FROM ipflow.redis_series(NULL, 'allow');
SELECT * FROM ipflow.redis_series('192.0.2.1', NULL);
SELECT * FROM ipflow.redis_series('192.0.2.1', 'allow', '2022-01-02', '2022-01-01');
SELECT ipflow.dump('nope');
