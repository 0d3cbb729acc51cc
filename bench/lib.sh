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
}
poll() {	# poll QUERY: its one value, from the benchmark's polling session
    local value
    echo "$1;" >&"${POLL[1]}"
    read -r -t 60 value <&"${POLL[0]}" || { echo "bench: no answer to: $1" >&2; exit 1; }
    echo "$value"
}
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
