"""The root command: help, version, and the one-line error contract."""

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "redline", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "Exit codes" in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert "redline" in result.stdout
