"""Parsed documents cached on disk by git blob id, so that each text is parsed once.

A cache file, ``<folder>/<blob id>-<fold_typography 0 or 1>``, is a header line (the
fingerprint of the code that wrote it and a CRC-32 of the rest) and a marshal dump of the
document's parts. A file that is missing, unreadable, truncated, corrupt or written by
other code is ignored and replaced; writing is best effort. The least recently used files
are removed when the folder grows beyond ``MAX_BYTES``.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from pathlib import Path

from redline import __version__
from redline.console import LOG
from redline.document import chunks, headings, model, normalize
from redline.document.model import (
    Block,
    Document,
    make_document,
    parse_document,
    split_front_matter,
)
from redline.errors import InputError
from redline.files import atomic_write

FORMAT = 1
MAX_BYTES = 64 * 1024 * 1024


def parse_cached(
    text: str, *, blob: str, folder: Path, name: str = "<policy>", fold_typography: bool = False
) -> Document:
    """``parse_document(text)`` for the git blob ``blob``, through the cache in ``folder``."""
    path = folder / f"{blob}-{int(fold_typography)}"
    fingerprint = _fingerprint()
    document = _load(path, fingerprint, text, name)
    if document is None:
        document = parse_document(text, name=name, fold_typography=fold_typography)
        _store(path, fingerprint, document)
    return document


def _fingerprint() -> bytes:
    """What a cache file must have been written by: this format, redline and the code that
    parses a document (the model and the modules it parses with)."""
    try:
        stats = [os.stat(part.__file__) for part in (model, chunks, headings, normalize)]
    except OSError:
        return f"redline-doc-{FORMAT} {__version__}".encode()
    code = " ".join(f"{info.st_mtime_ns} {info.st_size}" for info in stats)
    return f"redline-doc-{FORMAT} {__version__} {code}".encode()


def _load(path: Path, fingerprint: bytes, text: str, name: str) -> Document | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, _, payload = data.partition(b"\n")
    if header != b"%s %08x" % (fingerprint, zlib.crc32(payload)):
        return None
    try:
        size, front_matter_text, front_matter, rows = marshal.loads(payload)
        blocks = [Block(*row) for row in rows]
    except (EOFError, ValueError, TypeError):
        return None
    if size != len(text):
        return None
    if front_matter is None:  # it held values marshal cannot store (dates): read it again
        front_matter_text, front_matter = split_front_matter(text, name)
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used
    return make_document(text, front_matter_text, front_matter, blocks)


def _store(path: Path, fingerprint: bytes, document: Document) -> None:
    rows = [
        (b.kind, b.text, b.norm, b.line, b.end_line, b.level, b.label, b.title)
        for b in document.blocks
    ]
    size, front_matter_text = len(document.source), document.front_matter_text
    try:
        payload = marshal.dumps((size, front_matter_text, document.front_matter, rows))
    except ValueError:
        payload = marshal.dumps((size, front_matter_text, None, rows))
    try:
        atomic_write(path, b"%s %08x\n" % (fingerprint, zlib.crc32(payload)) + payload)
    except InputError as error:
        LOG.debug("parsed document not cached: %s", error)
        return
    _prune(path.parent)


def _prune(folder: Path) -> None:
    """Remove the least recently used files until ``folder`` holds at most ``MAX_BYTES``."""
    files = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            files.append((info.st_mtime_ns, info.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    for _, size, file in sorted(files):
        if total <= MAX_BYTES:
            break
        with contextlib.suppress(OSError):
            os.unlink(file)
        total -= size
