#!/usr/bin/env bash
# Builds and installs ipflow into the Postgres found by pg_config, plus the
# test helpers and unit tests.  Shared by the demo, the tests, CI and docker/.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s -j"$(nproc)" "$@"
make -s install "$@" >/dev/null
if [ "${IPFLOW_BUILD_TESTS:-1}" = 1 ]; then
    make -s -j"$(nproc)" helpers unit "$@"
fi
