"""A policy file rewritten byte for byte: its text, byte order mark and an atomic write."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from redline.document.dates.edit import edit_effective_date
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.results import DateEdit
from redline.document.source import decode_policy
from redline.errors import InputError
from redline.files import atomic_write, read_inside

if TYPE_CHECKING:
    from redline.config import Settings


@dataclass(frozen=True)
class PolicyFile:
    """A policy's text with what is needed to write it back byte for byte."""

    path: Path
    text: str
    bom: bytes

    def encode(self, text: str) -> bytes:
        """``text`` in the file's encoding, with its byte order mark if it had one."""
        return self.bom + text.encode("utf-8")


def read_policy_file(
    path: Path, *, name: str | None = None, root: Path | None = None
) -> PolicyFile:
    """Read a policy for rewriting: UTF-8 text and its byte order mark, if any.

    With ``root`` (the repository), a link that leads outside it is refused.
    """
    where = name or str(path)
    try:
        data = path.read_bytes() if root is None else read_inside(root, path)
    except FileNotFoundError:
        raise InputError(f"{where}: no such file", hint="check the policy name") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror}") from None
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    return PolicyFile(path, decode_policy(data, where), bom)


def write_policy_date(
    path: Path,
    value: date,
    settings: Settings | DateOptions | None = None,
    *,
    name: str | None = None,
    insert: bool = False,
    order: str | None = None,
) -> DateEdit:
    """Set the managed date of the policy file at ``path``; the write is atomic.

    ``order`` is the numeric order :func:`resolve_date_order` found. The file is left untouched
    when the date is already ``value`` in its written form. A link is never written through,
    and nothing outside the repository of ``settings`` is touched.
    """
    root = None if settings is None or isinstance(settings, DateOptions) else settings.repo_root
    policy = read_policy_file(path, name=name, root=root)
    opts = date_options(settings).with_order(order)
    edit = edit_effective_date(policy.text, value, opts, name=name or str(path), insert=insert)
    if edit.changed:
        atomic_write(path, policy.encode(edit.text), root=root)
    return edit
