"""Normalised text: a block's inline source without formatting-only differences (emphasis,
entities, HTML tags, escapes, spacing; typography on request), for comparison.

What a reader cannot see as words but a diff must still tell apart stays, in one form each:

* a link ``[label](target)`` reads ``label ⟨target⟩`` (the target dropped when it is the label):
  the visible words and the target are apart, and the target is one token
  (:mod:`redline.compare.tokens`);
* a hard line break (``\\`` or two spaces before a line end) reads ``\\``;
* kramdown attribute lists (``{: #anchor }``) stay; :func:`strip_attribute_lists` takes them
  out of a heading's title.
"""

from __future__ import annotations

import html
import re
import unicodedata

_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")


_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


_ESCAPED_MARKUP = re.compile(r"\\([*_`])")


_GITBOOK_TAG = re.compile(r"\{%-?.*?-?%\}", re.S)


_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


#: Around a link target in normalised text.
LINK_OPEN, LINK_CLOSE = "\u27e8", "\u27e9"


# A label may hold escaped brackets ("partners\\[2\\]"), a target balanced parentheses or <...>.
_LINK = re.compile(
    r"\[((?:\\.|[^\]\\])*)\]\(\s*(<[^>\n]*>|(?:\([^()\s]*\)|[^()\s])*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)


_TARGET_SLOT = re.compile(f"{LINK_OPEN}(\\d+){LINK_CLOSE}")


_HARD_BREAK = re.compile(r"(?: {2,}|\\)\n")


_ATTRIBUTE_LIST = re.compile(r"\s*\{(?::[^{}]*|[#.][^{}\s][^{}]*)\}")


_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")


_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+|[^@>\s]+@[^@>\s]+\.[^>\s]+)>")


# Formatting tags only: anything else in angle brackets ("<Company Name>", "<script>") is text.
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|br|center|cite|code|del|details|div|em|figure|figcaption|font|h[1-6]|"
    r"hr|i|img|ins|kbd|mark|p|s|small|span|strike|strong|sub|summary|sup|table|tbody|td|th|"
    r"thead|tr|u|ul|ol|li|blockquote|section|article|header|footer|nav|main)"
    r"(?:\s[^<>]*)?/?>",
    re.I,
)


# An emphasis run touches a word on at least one side; a lone "*" as in "2 * 3" is text.
_STARS = re.compile(r"(?<!\s)\*+|\*+(?!\s)")


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


_UNDERSCORES = re.compile(r"(?<![\w])_+|_+(?![\w])")


_CODE_TICKS = re.compile(r"`+")


_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")


# After whitespace is collapsed, the only whitespace left is single spaces.
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?)\]])")


_SPACE_AFTER_OPEN = re.compile(r"([(\[]) ")


_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def decode_entities(text: str) -> str:
    """Decode HTML entities, also double-encoded ones (``&amp;#x20;``)."""
    for _ in range(3):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


def normalize(text: str, *, fold_typography: bool = False) -> str:
    """Return ``text`` without formatting-only differences, for comparison.

    Each step runs only when its trigger character is present: most paragraphs of a
    policy are plain text, and this is the hottest function of a parse.
    """
    if "{" in text:  # a one-character test is several times faster than one for "{%"
        text = _GITBOOK_TAG.sub(" ", text)
    text = decode_entities(text)
    if not text.isascii():  # ASCII is already NFKC and has no invisible characters
        text = unicodedata.normalize("NFKC", text)
        text = _INVISIBLE.sub("", text)
    targets: list[str] = []  # kept apart from the steps below, which are for visible text
    if "[" in text:
        text = _IMAGE.sub(" ", text)
        text = _LINK.sub(lambda match: _link_text(match, targets), text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _HTML_COMMENT.sub(" ", text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _HTML_TAG.sub(" ", text)
    if "\n" in text:
        text = _HARD_BREAK.sub("\\\\\n", text)
    if "\\" in text:
        text = _ESCAPED_MARKUP.sub(r"\1", text)  # before the runs, so no backslash is left behind
    if "*" in text:
        text = _STARS.sub("", text)
    if "_" in text:
        text = _UNDERSCORES.sub("", text)
    if "`" in text:
        text = _CODE_TICKS.sub("", text)
    if "\\" in text:
        text = _BACKSLASH_ESCAPE.sub(r"\1", text)
    if fold_typography:
        text = text.translate(_TYPOGRAPHY)
    # Every whitespace character but " " is unprintable, so a printable text without
    # doubled or outer spaces is already collapsed (and this test is faster than the split).
    if not text.isprintable() or "  " in text or text.startswith(" ") or text.endswith(" "):
        text = " ".join(text.split())
    if _SPACE_BEFORE_PUNCT.search(text):
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if ("(" in text and "( " in text) or ("[" in text and "[ " in text):
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    if targets:
        text = _TARGET_SLOT.sub(lambda slot: _target(slot, targets), text)
    return text


def strip_attribute_lists(text: str) -> str:
    """``text`` without kramdown attribute lists: a heading's title is its words."""
    return _ATTRIBUTE_LIST.sub("", text).strip() if "{" in text else text


def _link_text(match: re.Match[str], targets: list[str]) -> str:
    """``label ⟨N⟩``, N the index of the target kept in ``targets``; or the label alone."""
    label, target = match.group(1), match.group(2).strip("<>")
    if not target or not label.strip() or label.strip() == target:
        return label or target
    targets.append(" ".join(target.split()))
    return f"{label} {LINK_OPEN}{len(targets) - 1}{LINK_CLOSE}"


def _target(slot: re.Match[str], targets: list[str]) -> str:
    index = int(slot.group(1))
    return f"{LINK_OPEN}{targets[index]}{LINK_CLOSE}" if index < len(targets) else slot.group(0)
