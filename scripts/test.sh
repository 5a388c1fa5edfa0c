#!/usr/bin/env bash
# Run the whole test suite, on SQLite and on a throwaway PostgreSQL (and Redis) it starts itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
want_system_packages
make_venv dev
make_graphiql_assets
exec .venv/bin/python -m pytest "$@"
