"""How notifgql is installed: the locks cover pyproject.toml and are what runs here, the
scripts run pip only when something changed, and the Dockerfile installs from the lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPOSITORY = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
RUNTIME_LOCK = REPOSITORY / "requirements.lock"
DEV_LOCK = REPOSITORY / "requirements-dev.lock"
NPM_CI = "npm ci --no-audit --no-fund --loglevel=error"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, Version]:
    """The ``name==version`` lines of a lock, by normalised name."""
    found: dict[str, Version] = {}
    for line in lock.read_text().splitlines():
        if not line or line[0] in "# -" or line.startswith(" "):
            continue
        match = _PIN.match(line)
        assert match, f"{lock.name}: not an exact pin: {line!r}"
        found[canonicalize_name(match[1])] = Version(match[2])
    return found


def requirements(extra: str | None = None) -> list[Requirement]:
    declared = PYPROJECT["optional-dependencies"][extra] if extra else PYPROJECT["dependencies"]
    return [Requirement(text) for text in declared]


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution ``roots`` need here, following the installed metadata."""
    seen: set[str] = set()
    pending = [(root, frozenset(root.extras)) for root in roots]
    for _ in range(10_000):  # bounded: far more than any real dependency tree
        if not pending:
            return seen
        requirement, extras = pending.pop()
        if requirement.marker and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in extras or {""}
        ):
            continue
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for text in distribution(name).requires or []:
            child = Requirement(text)
            pending.append((child, frozenset(requirement.extras) | frozenset(child.extras)))
    raise AssertionError("the dependency walk did not end")


class TestLocks:
    @pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
    def test_every_line_is_an_exact_pin_with_hashes(self, lock: Path) -> None:
        lines = [line for line in lock.read_text().splitlines() if not line.startswith("#")]
        found = pins(lock)
        assert found
        entries = re.split(r"\n(?=[A-Za-z0-9])", "\n".join(lines).strip())
        assert len(entries) == len(found)
        for entry in entries:
            assert "--hash=sha256:" in entry, entry.splitlines()[0]

    @pytest.mark.parametrize(
        ("lock", "extras"), [(RUNTIME_LOCK, [None]), (DEV_LOCK, [None, "dev"])], ids=["rt", "dev"]
    )
    def test_covers_and_satisfies_pyproject(self, lock: Path, extras: list[str | None]) -> None:
        found = pins(lock)
        for extra in extras:
            for requirement in requirements(extra):
                name = canonicalize_name(requirement.name)
                assert name in found, f"{lock.name} does not pin {requirement}"
                assert requirement.specifier.contains(found[name], prereleases=True), (
                    f"{lock.name} pins {name}=={found[name]}, outside {requirement}"
                )

    def test_runtime_lock_is_the_runtime_part_of_the_dev_lock(self) -> None:
        runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
        assert {name: dev.get(name) for name in runtime} == runtime
        needed = {key.split("[")[0] for key in closure(requirements())}
        assert needed <= set(runtime), f"missing from the runtime lock: {needed - set(runtime)}"
        # And nothing beyond it: the runtime lock holds no development tool.
        assert set(runtime) <= needed, f"not needed at run time: {set(runtime) - needed}"

    def test_what_runs_here_is_the_dev_lock(self) -> None:
        """scripts/test.sh (so CI) installs the dev lock: the suite tests exactly its pins."""
        for name, pinned in pins(DEV_LOCK).items():
            try:
                installed = Version(distribution(name).version)
            except PackageNotFoundError:
                pytest.fail(f"{name}=={pinned} is locked but not installed: run scripts/test.sh")
            assert installed == pinned, f"{name}: {installed} installed, {pinned} locked"
        everything = {key.split("[")[0] for key in closure([*requirements(), *requirements("dev")])}
        assert everything <= set(pins(DEV_LOCK)), everything - set(pins(DEV_LOCK))

    def test_upper_bounds(self) -> None:
        """Each range stops before the next major release, except the time zone data."""
        for requirement in [*requirements(), *requirements("dev")]:
            if requirement.name in {"tzdata", "packaging"}:
                continue
            assert any(spec.operator == "<" for spec in requirement.specifier), requirement


class TestInstallScripts:
    """serve.sh installs the runtime lock once, and runs pip again only after a change."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
            shutil.copy(REPOSITORY / name, tmp_path / name)
        shutil.copytree(REPOSITORY / "scripts", tmp_path / "scripts")
        (tmp_path / "graphiql").mkdir()
        for name in ("package.json", "package-lock.json"):
            shutil.copy(REPOSITORY / "graphiql" / name, tmp_path / "graphiql" / name)
        bin_dir = tmp_path / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        log = tmp_path / "calls.log"
        # A stand-in venv: pip and notifgql only record how they were called.
        (bin_dir / "python").write_text(
            "#!/bin/sh\n"
            f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "pip $*" >> {log}; exit 0; fi\n'
            f'exec {sys.executable} "$@"\n'
        )
        (bin_dir / "notifgql").write_text(f'#!/bin/sh\necho "notifgql $*" >> {log}\n')
        # A stand-in npm on PATH: records the call, and "installs" the files package.json names.
        tools = tmp_path / "tools"
        tools.mkdir()
        (tools / "npm").write_text(
            f"#!{sys.executable}\n"
            "import json, pathlib, sys\n"
            f"with open({str(log)!r}, 'a') as log:\n"
            "    log.write(' '.join(['npm', *sys.argv[1:]]) + '\\n')\n"
            "declared = json.loads(pathlib.Path('package.json').read_text())['notifgql']\n"
            "for source in [*declared['assets'].values(), *declared['licenses'].values()]:\n"
            "    path = pathlib.Path('node_modules', source)\n"
            "    path.parent.mkdir(parents=True, exist_ok=True)\n"
            "    path.write_text('stand-in')\n"
        )
        for program in [*bin_dir.iterdir(), tools / "npm"]:
            program.chmod(0o755)
        return tmp_path

    def calls(self, project: Path, *command: str) -> list[str]:
        log = project / "calls.log"
        log.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFGQL_")}
        env["PATH"] = f"{project / 'tools'}{os.pathsep}{env['PATH']}"
        result = subprocess.run(
            list(command), cwd=project, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return log.read_text().splitlines() if log.exists() else []

    def test_serve_installs_the_runtime_lock_once(self, project: Path) -> None:
        serve = ("bash", "scripts/serve.sh", "--port", "9999")
        assert self.calls(project, *serve) == [
            "pip -m pip install -q -r requirements.lock",
            "pip -m pip install -q --no-deps -e .",
            NPM_CI,
            "notifgql serve --demo --port 9999",
        ]
        assert self.calls(project, *serve) == ["notifgql serve --demo --port 9999"]
        with (project / "requirements.lock").open("a") as lock:
            lock.write("# changed\n")
        assert self.calls(project, *serve)[0] == "pip -m pip install -q -r requirements.lock"

    def test_graphiql_files_are_installed_once_per_lock(self, project: Path) -> None:
        serve = ("bash", "scripts/serve.sh")
        assert NPM_CI in self.calls(project, *serve)
        vendor = project / "src" / "notifgql" / "graphiql" / "vendor"
        files = sorted(path.name for path in vendor.iterdir() if path.is_file())
        package = json.loads((project / "graphiql" / "package.json").read_text())
        assert files == sorted([".stamp", *package["notifgql"]["assets"]])
        assert (vendor / "licenses" / "graphiql.LICENSE").is_file()
        assert self.calls(project, *serve) == ["notifgql serve --demo"]
        (vendor / "graphiql.min.js").unlink()
        assert self.calls(project, *serve) == [NPM_CI, "notifgql serve --demo"]
        with (project / "graphiql" / "package-lock.json").open("a") as lock:
            lock.write("\n")
        assert self.calls(project, *serve) == [NPM_CI, "notifgql serve --demo"]
        assert self.calls(project, "bash", "scripts/graphiql-assets.sh") == []

    def test_a_dev_install_serves_as_it_is(self, project: Path) -> None:
        dev = ("bash", "-c", "source scripts/bootstrap.sh && make_venv dev")
        assert self.calls(project, *dev) == [
            "pip -m pip install -q -r requirements-dev.lock",
            "pip -m pip install -q --no-deps -e .",
        ]
        assert self.calls(project, *dev) == []
        assert self.calls(project, "bash", "scripts/serve.sh") == [NPM_CI, "notifgql serve --demo"]
        (project / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text() + "\n# changed\n"
        )
        assert len(self.calls(project, *dev)) == 2


class TestDockerfile:
    text = (REPOSITORY / "Dockerfile").read_text()

    def test_installs_the_lock_then_notifgql_alone(self) -> None:
        runs = re.findall(r"^RUN (.*)$", self.text, re.MULTILINE)
        assert "pip install -r requirements.lock" in runs
        assert any(run.startswith("pip install --no-deps . ") for run in runs), runs
        assert "COPY requirements.lock ./" in self.text

    def test_installs_graphiql_files_from_the_npm_lock(self) -> None:
        stage, served = self.text.split("\nFROM python:3.12-slim\n")
        assert "FROM python:3.12-slim AS graphiql" in stage
        assert "COPY graphiql/package.json graphiql/package-lock.json ./graphiql/" in stage
        assert "RUN bash scripts/graphiql-assets.sh" in stage
        for script in re.findall(r"scripts/[\w.-]+", stage):
            assert (REPOSITORY / script).is_file(), script
        copy = (
            "COPY --from=graphiql /src/src/notifgql/graphiql/vendor ./src/notifgql/graphiql/vendor"
        )
        assert served.index("COPY src ./src") < served.index(copy)
        assert served.index(copy) < served.index("RUN pip install --no-deps . ")

    def test_keeps_the_sqlite_file_in_a_volume(self) -> None:
        (url,) = re.findall(r"NOTIFGQL_DATABASE_URL=(\S+)", self.text)
        directory = str(Path(url.removeprefix("sqlite+aiosqlite:///")).parent)
        assert f'VOLUME ["{directory}"]' in self.text

    def test_serves_publicly_on_the_exposed_port(self) -> None:
        assert 'CMD ["notifgql", "serve", "--host", "0.0.0.0"]' in self.text
        (port,) = re.findall(r"NOTIFGQL_PORT=(\d+)", self.text)
        assert f"EXPOSE {port}\n" in self.text
