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
}
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
