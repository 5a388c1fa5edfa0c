#!/usr/bin/env bash
# Start notifgql on the embedded SQLite file with demo data; prints a token and the GraphiQL URL.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
make_venv runtime
make_graphiql_assets
exec .venv/bin/notifgql serve --demo "$@"
