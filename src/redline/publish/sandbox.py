"""The template sandbox: Jinja2's SandboxedEnvironment with a cap on what a template can make.

Templates come from pull requests, so a template must not be able to make redline build a
100 MB subject or a 10 GB string. Three checks share one byte limit (``max_bytes``):

- output is rendered chunk by chunk and stops as soon as it passes the limit of the render;
- ``*`` and ``**`` are refused when their result would pass the limit (``'x' * 10**9``), and so
  are ``%`` and ``str.format`` with a field width or precision over it;
- no filter, function or method is called with a whole number over the limit
  (``'x'|center(10**9)``).

Each refusal is an :class:`OutputLimitError`, a :class:`~jinja2.exceptions.SecurityError`.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

# A printf-style conversion's width and precision (``%-10.3f``, ``%*d``).
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d+)?(?:\.(\d+))?")
_DIGITS = re.compile(r"\d+")
_SEQUENCES = (str, bytes, list, tuple)


class OutputLimitError(SecurityError):
    """A template would produce more than the configured number of bytes."""

    def __init__(self, limit: int, what: str = "output") -> None:
        super().__init__(f"template {what} exceeds the limit of {limit:,} bytes")
        self.limit = limit


class LimitedSandbox(SandboxedEnvironment):
    """A SandboxedEnvironment whose templates can't make values or output over ``max_bytes``."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, max_bytes: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_bytes = max_bytes

    def add_filters(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        """Register ``filters`` and guard every filter's arguments (built-in ones included)."""
        self.filters.update(filters)
        for name, function in list(self.filters.items()):
            if not getattr(function, "_redline_guarded", False):
                self.filters[name] = self._guard(function, printf=name == "format")

    def _guard(self, function: Callable[..., Any], *, printf: bool) -> Callable[..., Any]:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check_arguments(args, kwargs.values())
            if printf and args and isinstance(args[0], str):
                self._check_printf(args[0], tuple(args[1:]))
            return function(*args, **kwargs)

        guarded._redline_guarded = True  # type: ignore[attr-defined]
        return guarded

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` from a template once its numeric arguments are within the limit."""
        __self._check_arguments(args, kwargs.values())
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``left operator right`` for ``*``, ``**`` and ``%``, refused if it would be too big."""
        if operator == "*":
            self._check_repeat(left, right)
            self._check_repeat(right, left)
        elif operator == "**":
            self._check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            self._check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Sandboxed ``str.format``/``format_map``, refusing field widths over the limit."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        self._check_format_spec(value.__self__)
        return wrapped

    # -- checks -------------------------------------------------------------------------------

    def _refuse(self, what: str = "output") -> OutputLimitError:
        return OutputLimitError(self.max_bytes, what)

    def _check_arguments(self, args: Iterable[Any], kwargs: Iterable[Any]) -> None:
        for value in (*args, *kwargs):
            if isinstance(value, int) and not isinstance(value, bool) and value > self.max_bytes:
                raise self._refuse(f"argument {value:,}")

    def _check_repeat(self, sequence: Any, count: Any) -> None:
        if (
            isinstance(sequence, _SEQUENCES)
            and isinstance(count, int)
            and len(sequence) * count > self.max_bytes
        ):
            raise self._refuse("value")

    def _check_power(self, base: Any, exponent: Any) -> None:
        if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2:
            return
        if exponent * math.log2(abs(base)) > 8 * self.max_bytes:
            raise self._refuse("number")

    def _check_printf(self, template: str, values: Any) -> None:
        for match in _PRINTF_FIELD.finditer(template):
            for group in match.groups():
                if group and int(group) > self.max_bytes:
                    raise self._refuse(f"field width {int(group):,}")
        if not isinstance(values, tuple):
            values = (values,)
        self._check_arguments(values, ())

    def _check_format_spec(self, template: str) -> None:
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return  # str.format itself reports the malformed template
        for _, _, spec, _ in fields:
            for digits in _DIGITS.findall(spec or ""):
                if int(digits) > self.max_bytes:
                    raise self._refuse(f"field width {int(digits):,}")

    def render_limited(self, chunks: Iterable[str], limit: int) -> str:
        """Join a template's output ``chunks``, stopping once they pass ``limit`` bytes."""
        parts: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)  # characters: never more than the UTF-8 bytes
            if size > limit:
                raise OutputLimitError(limit)
            parts.append(chunk)
        text = "".join(parts)
        if len(text.encode("utf-8", "surrogatepass")) > limit:
            raise OutputLimitError(limit)
        return text
