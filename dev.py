#!/usr/bin/env python3
"""Bootstrap and run redline's two everyday jobs with nothing but python3 and git.

python3 dev.py demo   # set up .venv on first use, then run the release demo
python3 dev.py test   # set up .venv on first use, then lint and run the whole test suite
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
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


def test(extra: list[str]) -> None:
    """Lint (ruff, import layers, workflow linters) and run pytest."""
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "lint-imports", "--no-cache")  # the layer contracts in pyproject.toml
    lint_workflows = ROOT / ".ci" / "lint-workflows"
    if lint_workflows.exists():
        _run("bash", lint_workflows, VENV=str(VENV))
    _run(PYTHON, "-m", "pytest", *extra)


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
