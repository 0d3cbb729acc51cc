#!/usr/bin/env bash
# ipflow.partition_for agrees with librdkafka's murmur2_random partitioner
# (Kafka's Java default) on thousands of IPv4 and IPv6 keys: the helper
# produces one keyed message per address to the test broker and reports the
# partition the broker stored it in.  Needs the harness (test/harness env).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -qX -d postgres -c "DROP DATABASE IF EXISTS murmur2_check" >/dev/null 2>&1' EXIT

psql -qX -d postgres -c "DROP DATABASE IF EXISTS murmur2_check" -c "CREATE DATABASE murmur2_check" >/dev/null
psql -qX -d murmur2_check -c "CREATE EXTENSION ipflow" >/dev/null

# 3000 IPv4 and 1000 IPv6 addresses, keyed as Postgres prints them.
psql -qAtX -d murmur2_check >"$work/keys" <<'SQL'
SELECT host('0.0.0.0'::inet + (hashint8(i) & 4294967295))
  FROM generate_series(1, 3000) AS i
UNION ALL
SELECT host(('2001:db8::'::inet + (hashint8(i) & 4294967295)) - 1)
  FROM generate_series(1, 1000) AS i;
SQL

echo "1..8"
n=0
for partitions in 1 3 7 12; do
    "$top/test/bin/kafkatool" partitions --bootstrap "$IPFLOW_KAFKA_BOOTSTRAP" \
        --topic "murmur2_check_$partitions" <"$work/keys" >"$work/acked"
    read -r total agree used < <(psql -qAtX -F ' ' -d murmur2_check <<SQL
CREATE TEMP TABLE acked (key text, partition int);
\copy acked FROM '$work/acked'
SELECT count(*), count(*) FILTER (WHERE ipflow.partition_for(key::inet, $partitions) = partition),
       count(DISTINCT partition)
  FROM acked;
SQL
)
    n=$((n + 1))
    if [ "$total" = 4000 ] && [ "$agree" = "$total" ]; then
        echo "ok $n - $partitions partitions: all $total keys agree with librdkafka"
    else
        echo "not ok $n - $partitions partitions: $agree of $total keys agree (want 4000 of 4000)"
    fi
    n=$((n + 1))
    if [ "$used" = "$partitions" ]; then
        echo "ok $n - $partitions partitions: every partition received keys"
    else
        echo "not ok $n - $partitions partitions: only $used partitions received keys"
    fi
done
