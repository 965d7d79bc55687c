"""Files in the policy repository: atomic writes, and reads and writes that links can't divert.

Policy files, changelogs and templates come from pull requests, so a symbolic link among them
could point anywhere (``policies/evil.md -> /etc/passwd``). Two rules hold everywhere:

- a read may follow a link only while the real path stays inside the repository;
- a write never follows a link: the target must not be one, and its folder must resolve
  inside the repository when the file belongs to it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from redline.errors import InputError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(root).as_posix()
    return str(path)


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every link resolved, lies within ``root`` (also resolved)."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real_root in real.parents


def _outside_error(path: Path, root: Path) -> InputError:
    real = os.path.realpath(path)
    return InputError(
        f"{_display(path, root)}: is a link to {real}, outside the repository",
        hint="redline reads and writes only files inside the repository; replace the link "
        "with the file itself",
    )


def read_inside(root: Path, path: Path) -> bytes:
    """The bytes of ``path``, refused when a link leads outside ``root``.

    ``FileNotFoundError`` passes through, so callers can explain a missing file their way.
    """
    if not inside(root, path):
        raise _outside_error(path, root)
    real = os.path.realpath(path)
    try:
        fd = os.open(real, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"{_display(path, root)}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


@contextlib.contextmanager
def atomic_open(
    path: Path,
    *,
    root: Path | None = None,
    text: bool = False,
    private: bool = False,
    create_dirs: bool = True,
) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside ``path`` that becomes ``path`` when the block ends.

    The data is flushed and fsynced, then renamed over ``path``, so a reader sees the old
    file or the new one, never half of either; if the block fails, ``path`` is untouched.
    ``text`` gives a UTF-8 handle without newline translation. The file keeps the permission
    bits of the one it replaces, else gets those ``open()`` would give, or 0600 when
    ``private``. A link at ``path`` is refused, never followed; with ``root``, so is a folder
    that resolves outside it. Without ``create_dirs`` a missing folder is an error.
    """
    where = _display(path, root)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_symlink():
        raise InputError(
            f"{where}: is a symbolic link; redline never writes through links",
            hint="replace the link with a regular file, or write to the file it points at",
        )
    if root is not None and not inside(root, directory):
        raise _outside_error(directory, root)
    if not create_dirs and not directory.is_dir():
        raise InputError(f"{directory}: no such directory", hint="create it or choose another")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        mode = _mode_for(path, private=private)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{where}: cannot write: {exc.strerror}", hint="check the path") from None
    try:
        handle_mode = "w" if text else "wb"
        encoding = "utf-8" if text else None
        with os.fdopen(fd, handle_mode, encoding=encoding, newline="" if text else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise InputError(f"{where}: cannot write: {exc.strerror}", hint="check the path") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def atomic_write(
    path: Path, data: str | bytes, *, encoding: str = "utf-8", root: Path | None = None
) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    ``str`` data is encoded with ``encoding`` and written without newline translation, so
    line endings are kept as given.
    """
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_open(path, root=root) as handle:
        handle.write(payload)


def _mode_for(path: Path, *, private: bool) -> int:
    """Permission bits of the new file: 0600 if private, else those of the one it replaces."""
    if private:
        return 0o600
    return path.lstat().st_mode & 0o7777 if path.exists() else _default_mode()


def _default_mode() -> int:
    """Permission bits of a newly created file under the current umask (0o666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
