# Shared by the benchmark scripts (sourced from the top of the tree): builds
# and installs ipflow and runs a harness of the benchmark's own, stopped at
# exit.  Each benchmark has its own directory and ports, so none disturbs
# another or the tests' harness; IPFLOW_BENCH_DIR, IPFLOW_BENCH_PGPORT and
# IPFLOW_BENCH_REDIS_PORT move them.
bench_harness() {	# bench_harness NAME PGPORT REDIS_PORT
    export IPFLOW_HARNESS_DIR=${IPFLOW_BENCH_DIR:-/tmp/ipflow-bench-$1}
    export IPFLOW_PGPORT=${IPFLOW_BENCH_PGPORT:-$2} IPFLOW_REDIS_PORT=${IPFLOW_BENCH_REDIS_PORT:-$3}
    scripts/install-deps.sh
    scripts/build.sh >/dev/null
    trap 'test/harness stop' EXIT
    test/harness start
    eval "$(test/harness env)"
    # The polls share one session: a psql and a backend started several
    # times a second took a fifth of the two cores from what was measured.
    coproc POLL { psql -qAtX -v ON_ERROR_STOP=1; }
    # a pipe nobody writes to: a read of it with a timeout is a sleep without
    # a fork (a loop of subshells and sleeps cost some 8 ms of CPU a round
    # here, taken from what was measured)
    exec {NAP}<> <(:)
}
# wait_until CONDITION [REPORT]: waits until the SQL condition holds, checked
# every 20 ms; sets WAITED_AT to the time it did (epoch seconds, the
# server's clock) and WAITED_VALUE to the SQL expression REPORT then.
# Forks nothing, so it takes no CPU from what is measured.
wait_until() {
    local row
    while :; do
        echo "SELECT CASE WHEN $1 THEN extract(epoch FROM clock_timestamp()) || ' ' || (${2:-0})::text END;" >&"${POLL[1]}"
        read -r -t 60 row <&"${POLL[0]}" || { echo "bench: no answer to: $1" >&2; exit 1; }
        [ -n "$row" ] && break
        read -r -t 0.02 -u "$NAP" || :
    done
    WAITED_AT=${row%% *}
    WAITED_VALUE=${row#* }
}
# the rows ingested so far (ipflow.ips is small, unlike a count(*) of events)
ROWS_SQL='(SELECT coalesce(sum(events), 0) FROM ipflow.ips)'
poll() {	# poll QUERY: its one value, from the benchmark's polling session
    local value
    echo "$1;" >&"${POLL[1]}"
    read -r -t 60 value <&"${POLL[0]}" || { echo "bench: no answer to: $1" >&2; exit 1; }
    echo "$value"
}
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
settings() {	# settings NAME=VALUE...: ipflow settings applied and reloaded
    local args=() kv
    for kv in "$@"; do args+=(-c "ALTER SYSTEM SET ipflow.${kv%%=*} = '${kv#*=}'"); done
    sql "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null
}
