#!/usr/bin/env bash
# Re-resolve requirements-dev.lock and requirements.lock from pyproject.toml: the newest
# versions its ranges allow, pinned with ==, with the hashes of every published file.
# Run it, then `bash scripts/test.sh`, and commit the two locks with pyproject.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"${PYTHON:-python3}" -m venv "$tools"
"$tools/bin/python" -m pip install -q pip-tools

compile=("$tools/bin/pip-compile" -q --upgrade --generate-hashes --allow-unsafe --strip-extras
  --no-annotate --no-emit-index-url --no-emit-find-links)
export CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh"  # the command the locks' header names
"${compile[@]}" --extra dev -o requirements-dev.lock pyproject.toml
# The runtime lock is the dev lock's runtime part: the same versions, without the dev tools.
"${compile[@]}" --constraint requirements-dev.lock -o requirements.lock pyproject.toml
