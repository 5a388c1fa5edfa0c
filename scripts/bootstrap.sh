#!/usr/bin/env bash
# Prepare a fresh machine: the OS packages the suite needs and a .venv with notifgql.
# Sourced by scripts/test.sh and scripts/serve.sh; safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_system_packages() {
  local missing=()
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null \
    || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  # The GraphQL-over-HTTP conformance audit (graphql-http) runs on Node.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    # The Debian packages start system-wide servers; the suite runs its own throwaway ones.
    $sudo service postgresql stop >/dev/null 2>&1 || true
    $sudo service redis-server stop >/dev/null 2>&1 || true
  fi
}

make_venv() {
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${1:-dev}]"
}
