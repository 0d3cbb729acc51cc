#!/usr/bin/env bash
# Installs the Debian packages ipflow needs to build, run, test and benchmark.
# Shared by the demo, the test command, CI and docker/ (one list, one place).
set -euo pipefail

packages=(
    gcc make pkg-config
    postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl
    librdkafka-dev libhiredis-dev libzstd-dev
    redis-server redis-tools kcat
    valgrind cppcheck bc libxml2-utils
)

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
