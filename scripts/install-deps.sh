#!/usr/bin/env bash
# Installs the Debian packages ipflow needs, by group (default: all).
# Shared by the demo, the test command, CI and docker/ (one list, one place):
#
#   scripts/install-deps.sh              everything: build, run, test, benchmark
#   scripts/install-deps.sh build run    what docker/postgres/Dockerfile's build stage needs
#   scripts/install-deps.sh run          what a server running ipflow needs
#   scripts/install-deps.sh --list GROUP...   only print the packages
set -euo pipefail

declare -A groups=(
    # compile ipflow with PGXS (the server's headers pull in clang for JIT bitcode)
    [build]="gcc make pkg-config postgresql-server-dev-15 librdkafka-dev libhiredis-dev libzstd-dev"
    # a server with ipflow preloaded: pg_cron and the client libraries
    [run]="postgresql-15-cron librdkafka1 libhiredis0.14"
    # the harness (Postgres, Redis, Kafka clients), the suites and the linters;
    # docker-compose only validates docker/docker-compose.yml here; Chromium
    # and PIL take and check a screenshot of the demo's report
    [test]="postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
            redis-server redis-tools kcat valgrind cppcheck bc libxml2-utils docker-compose
            chromium python3-pil"
)

list_only=0
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(build run test)
packages=()
for g in "${wanted[@]}"; do
    [ -n "${groups[$g]:-}" ] || { echo "install-deps: unknown group $g (build, run, test)" >&2; exit 2; }
    read -r -a list <<<"$(echo ${groups[$g]})"
    packages+=("${list[@]}")
done
if [ $list_only = 1 ]; then printf '%s\n' "${packages[@]}"; exit 0; fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or install them with apt-get" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
