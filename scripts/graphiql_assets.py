"""GraphiQL's browser files: copy them from graphiql/node_modules into the notifgql package.

`check` exits 0 when the files graphiql/package.json names are all in place and were copied
from the current graphiql/package-lock.json (a stamp beside them says which); `copy` copies
them (after `npm ci` in graphiql/) and writes the stamp. Standard library only: scripts run
it before notifgql's own environment exists.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "graphiql"
VENDOR = ROOT / "src" / "notifgql" / "graphiql" / "vendor"
STAMP = VENDOR / ".stamp"


def manifest() -> dict[str, str]:
    """Where each file goes (its name in the package) and where npm put it."""
    declared = json.loads((PACKAGE / "package.json").read_text())["notifgql"]
    return {**declared["assets"], **{f"licenses/{k}": v for k, v in declared["licenses"].items()}}


def stamp() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((PACKAGE / name).read_bytes())
    return digest.hexdigest()


def check() -> int:
    current = STAMP.is_file() and STAMP.read_text().strip() == stamp()
    present = all((VENDOR / name).is_file() for name in manifest())
    return 0 if current and present else 1


def copy() -> int:
    modules = PACKAGE / "node_modules"
    for name, source in manifest().items():
        origin = modules / source
        if not origin.is_file():
            print(f"graphiql: {origin} is missing after npm ci", file=sys.stderr)
            return 1
        target = VENDOR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)
    STAMP.write_text(stamp() + "\n")
    return 0


if __name__ == "__main__":
    commands = {"check": check, "copy": copy}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print("usage: graphiql_assets.py check|copy", file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
