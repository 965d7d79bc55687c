"""Locales: the one check of a locale code, wherever one is given (dates, subscribers, ledger).

A base module: imports babel and :mod:`redline.errors` only, so every layer may use it.
"""

from __future__ import annotations

from functools import lru_cache

from redline.errors import ConfigError, InputError


def parse_locale(value: str | None, *, config_key: str | None = None) -> str | None:
    """The canonical form of the locale ``value`` as babel knows it ('de', 'pt_BR'; ``-`` or
    ``_`` between the parts), or None when it is empty.

    An unknown locale raises InputError, or ConfigError naming ``config_key`` when the value
    comes from that config key.
    """
    text = (value or "").strip()
    if not text:
        return None
    from babel import UnknownLocaleError

    try:
        return _canonical(text)
    except (UnknownLocaleError, ValueError, TypeError):
        if config_key is not None:
            raise ConfigError(
                f"config key {config_key!r}: unknown locale {text!r}",
                hint='use a language code such as "de", "fr" or "pt_BR"',
            ) from None
        raise InputError(
            f"unknown locale {text!r}", hint="use a code such as en, de or pt_BR"
        ) from None


@lru_cache(maxsize=64)
def _canonical(text: str) -> str:
    from babel import Locale

    return str(Locale.parse(text.replace("-", "_")))
