#!/usr/bin/env bash
# Install GraphiQL's browser files into the notifgql package (npm ci in graphiql/, then copy).
# scripts/serve.sh and scripts/test.sh do this themselves; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
make_graphiql_assets
