"""A policy's bytes as text: UTF-8 (a byte order mark dropped), or one line saying why not.

Used for the working tree and every revision alike, so both fail the same way.
"""

from __future__ import annotations

from redline.errors import InputError


def decode_policy(data: bytes, where: str) -> str:
    """Decode policy bytes as UTF-8, with one-line errors for binary or other encodings."""
    if b"\x00" in data:
        raise InputError(f"{where}: is a binary file, not Markdown", hint="policies are UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{where}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None
