"""redline starts where fcntl does not exist (Windows): nothing POSIX-only at import time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_WITHOUT_FCNTL = textwrap.dedent(
    """
    import sys

    sys.modules["fcntl"] = None  # any `import fcntl` now raises ImportError
    import importlib
    import pkgutil

    import redline

    names = [redline.__name__]
    modules = pkgutil.walk_packages(redline.__path__, "redline.")
    # __main__ would run the command (``redline --help`` is tested on its own).
    names += [m.name for m in modules if not m.name.endswith(".__main__")]
    for name in names:
        importlib.import_module(name)
    print(len(names))
    """
)


def test_every_module_imports_without_fcntl():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 40


def test_help_runs_without_fcntl():
    code = (
        "import sys; sys.modules['fcntl'] = None; sys.argv = ['redline', '--help']\n"
        "from redline.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: redline" in result.stdout
