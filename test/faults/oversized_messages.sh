#!/usr/bin/env bash
# Fault: oversized messages in the stream (1 MiB + 1 byte to 3 MB), then a
# lowered ipflow.max_message_size, then a backlog of large messages with a
# lowered ipflow.batch_max_bytes.  Each oversized message goes to
# ipflow.rejects with its size in the reason and only its first 64 kB kept;
# the worker's memory stays bounded; batches stay within their byte bound;
# every event of the stream is stored exactly (see lib.sh).  The test
# broker keeps only 5 MiB per partition (dropping the oldest, compressed
# bytes), so the large messages go zstd-compressed: 11 MB of them on one
# partition would otherwise push out what a slow worker had not read yet.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d)
trap 'kill "${sampler_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$here/../.."
fault_setup
echo "1..17"

# a valid event of IP, hour H, padded to SIZE bytes: only its size is wrong
big_event() {	# big_event SIZE IP H
    python3 -c "
import sys
size, ip, h = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
head = '{\"src_ip\": \"%s\", \"timestamp\": \"2022-01-05 %02d:00:00\", \"unq_dst_ip\": \"1\", \"pad\": \"' % (ip, h)
sys.stdout.write(head + 'x' * (size - len(head) - 2) + '\"}')" "$@"
}
produce_file() {	# produce_file KEY FILE: one message per line
    kcat -P -b "$IPFLOW_KAFKA_BOOTSTRAP" -t LogTopic -k "$1" -X message.max.bytes=10000000 \
         -X compression.codec=zstd <"$2"
}

sample_memory "$work/memory"
stream_start 12000
sleep 1
for size in 1048577 1500000 3000000 1048577 1500000 3000000; do
    big_event $size 10.250.0.1 4 >"$work/big"
    produce_file 10.250.0.1 "$work/big"
    sleep 0.5
done
stream_wait
ok_wait "SELECT count(*) FROM ipflow.rejects" 6 60 "all 6 oversized messages are rejected"
is "$(sql -c "SELECT count(*) FROM ipflow.rejects
               WHERE reason ~ '^message of [0-9]+ bytes exceeds the limit of 1048576 bytes \(ipflow.max_message_size\); payload cut to its first 65536 of [0-9]+ bytes$'")" 6 \
    "each reason gives its size, the limit and the setting to change"
is "$(sql -c "SELECT count(*) FROM ipflow.rejects WHERE length(payload) = 65536
                AND convert_from(substring(payload FROM 1 FOR 14), 'UTF8') = '{\"src_ip\": \"10'")" 6 \
    "each keeps the first 64 kB of its payload"
is "$(sql -c "SELECT string_agg(DISTINCT substring(reason FROM '^message of ([0-9]+)'), ',')
               FROM ipflow.rejects")" "1048577,1500000,3000000" "the three sizes are named"
memory_under 200
check_all "oversized_messages"

# a lowered limit applies after a reload
sql -c "ALTER SYSTEM SET ipflow.max_message_size = '2kB'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 2
{ big_event 3000 10.250.0.2 5; echo; big_event 200 10.250.0.2 6; } >"$work/small"
produce_file 10.250.0.2 "$work/small"
ok_wait "SELECT count(*) FROM ipflow.rejects WHERE reason LIKE 'message of 3000 bytes exceeds the limit of 2048 bytes%'" 1 30 \
    "after a reload, a 3000-byte event exceeds ipflow.max_message_size = 2kB"
ok_wait "SELECT count(*) FROM ipflow.events WHERE src_ip = '10.250.0.2'" 1 30 "the small event beside it is stored"
sql -c "ALTER SYSTEM RESET ipflow.max_message_size" >/dev/null

# a backlog of ten 400 kB events meets ipflow.batch_max_bytes = 1MB:
# batches of at most three
sql -c "ALTER SYSTEM SET ipflow.ingest_workers = 0" -c "SELECT pg_reload_conf()" >/dev/null
wait_for "SELECT count(*) FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL" 0 30 || true
for h in $(seq 10 19); do big_event 400000 10.250.0.3 $h; echo; done >"$work/backlog"
produce_file 10.250.0.3 "$work/backlog"
sql -c "ALTER SYSTEM SET ipflow.batch_max_bytes = '1MB'" -c "ALTER SYSTEM RESET ipflow.ingest_workers" \
    -c "SELECT pg_reload_conf()" >/dev/null
ok_wait "SELECT count(*) FROM ipflow.events WHERE src_ip = '10.250.0.3'" 10 60 "the ten 400 kB events are stored"
batches=$(sql -c "SELECT batches FROM ipflow.stats WHERE kind = 'ingest' AND pid IS NOT NULL")
ok "$([ "$batches" -ge 4 ]; echo $?)" \
    "the worker stored them in batches of at most 1 MB (three such events): $batches batches, at least 4"
sql -c "ALTER SYSTEM RESET ipflow.batch_max_bytes" -c "SELECT pg_reload_conf()" >/dev/null
