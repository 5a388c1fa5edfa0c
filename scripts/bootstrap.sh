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
  # The browser tests (tests/browser/) drive a headless Chromium.
  command -v chromium >/dev/null || missing+=(chromium)
  # The README's examples (tests/test_readme.py) are curl commands.
  command -v curl >/dev/null || missing+=(curl)
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

# make_venv runtime|dev: .venv holding exactly the locked dependencies (requirements.lock, or
# requirements-dev.lock for dev) and notifgql itself, editable. pip runs only when
# pyproject.toml or a lock changed since the last install (a stamp in .venv says which).
make_venv() {
  local want="${1:-dev}" lock
  case "$want" in
    runtime) lock=requirements.lock ;;
    dev) lock=requirements-dev.lock ;;
    *) echo "make_venv: expected runtime or dev, not $want" >&2; return 2 ;;
  esac
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  local stamp_file=.venv/notifgql-install.stamp stamp have
  stamp=$(.venv/bin/python -c 'import hashlib, sys
digest = hashlib.sha256()
for name in sys.argv[1:]:
    with open(name, "rb") as file:
        digest.update(file.read())
print(digest.hexdigest())' pyproject.toml requirements.lock requirements-dev.lock)
  have=$(cat "$stamp_file" 2>/dev/null || true)
  # A dev install holds everything a runtime one needs.
  if [ "$have" = "$want $stamp" ] || [ "$have" = "dev $stamp" ]; then
    return 0
  fi
  rm -f "$stamp_file"
  .venv/bin/python -m pip install -q -r "$lock"
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want $stamp" >"$stamp_file"
}
