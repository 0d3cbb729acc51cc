#!/usr/bin/env bash
# Starts Superset provisioned for ipflow: its metadata schema, the admin from
# SUPERSET_ADMIN_*, the dashboard bundle (dashboard/) imported with the ipflow
# database connected as the read-only login IPFLOW_READER_USER, then the server.
set -euo pipefail

: "${SUPERSET_ADMIN_PASSWORD:?}" "${IPFLOW_READER_PASSWORD:?}"
here=$(cd "$(dirname "$0")" && pwd)

superset db upgrade
# create-admin refuses an existing user, which is fine on a restart
superset fab create-admin --username "${SUPERSET_ADMIN_USER:-admin}" --firstname Superset --lastname Admin \
    --email "${SUPERSET_ADMIN_EMAIL:-admin@example.com}" --password "$SUPERSET_ADMIN_PASSWORD" || true
superset init

work=$(mktemp -d)
python3 "$here/bundle.py" "$here/dashboard" "$work/ipflow-dashboard.zip"
superset import-dashboards --path "$work/ipflow-dashboard.zip" --username "${SUPERSET_ADMIN_USER:-admin}"
rm -rf "$work"
# A database already known (same uuid) keeps its old connection on import:
# set it again so a changed password takes effect on restart.
superset set-database-uri --database_name ipflow --uri "$(python3 "$here/bundle.py" --uri)"

exec /usr/bin/run-server.sh
