"""The file side of ``redline site``: a staging directory written page by page, checked and
swapped in place of the previous build as a whole."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from redline.errors import InputError
from redline.layout import SITE_MARKER


class Writer:
    """Writes the pages of one build below a root directory, keeping count."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0

    def write(self, relpath: str, text: str) -> None:
        """Write ``text`` (UTF-8) to ``relpath`` below the root."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        self.files += 1


def check_outdir(outdir: Path) -> None:
    """Refuse an ``outdir`` that is a file, the root, or a directory redline did not build."""
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: is not a directory", hint="choose a directory for the site")
    if outdir.is_dir() and any(outdir.iterdir()) and not (outdir / SITE_MARKER).is_file():
        raise InputError(
            f"{outdir}: is not empty and was not built by redline",
            hint="choose an empty or new directory; redline replaces the whole directory",
        )
    if outdir == Path(outdir.anchor):
        raise InputError(f"{outdir}: cannot build a site at the file system root")


def staging_dir(outdir: Path) -> Path:
    """A new private directory beside ``outdir`` for the build."""
    outdir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))


def finalise_modes(staging: Path) -> None:
    """Give the staged tree ordinary permissions (mkdtemp makes its directory private)."""
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)


def swap(staging: Path, outdir: Path) -> None:
    """Put ``staging`` in the place of ``outdir``; the old build is removed afterwards."""
    if not outdir.exists():
        os.replace(staging, outdir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".old", dir=outdir.parent))
    os.rmdir(old)
    os.replace(outdir, old)
    try:
        os.replace(staging, outdir)
    except OSError:
        os.replace(old, outdir)
        raise
    shutil.rmtree(old, ignore_errors=True)
