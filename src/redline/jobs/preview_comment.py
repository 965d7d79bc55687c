"""The Markdown body of the preview comment, cut fairly to GitHub's comment limit.

Each policy's redline and email text may be cut at line boundaries, each with a pointer to the
full HTML redline; the rest of the body is kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.compare.views import render_markdown
from redline.jobs.preview import MARKER
from redline.md import md_escape
from redline.publish.filters import plural

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.jobs.preview import PolicyPreview, Preview
    from redline.release import PolicyRelease

_STATUS_ICON = {"pass": "✅ pass", "warn": "⚠️ warning", "fail": "❌ fail"}
_CLASS_TEXT = {
    "material": "Material change",
    "editorial": "Editorial change",
    "none": "No change in wording",
}


@dataclass(frozen=True)
class _Part:
    """A piece of the body; ``note`` is set for pieces that may be cut (and says so)."""

    text: str
    note: str | None = None


def _md(text: object) -> str:
    return md_escape(text, one_line=True)


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def render_body(preview: Preview, *, pointer: str | None, limit: int | None) -> str:
    """The Markdown comment; with ``limit``, cut to at most that many characters."""
    parts = _header(preview)
    for item in preview.policies:
        parts.extend(_policy_parts(item, pointer or ""))
    if not preview.policies:
        parts.append(_Part("No policy changed, and nothing is waiting to be released.\n"))
    return _fit(parts, limit)


def _header(preview: Preview) -> list[_Part]:
    check = preview.check
    lines = [
        MARKER,
        "## redline preview",
        "",
        f"Compared with {_md(check.base_ref)} (`{check.base_commit[:10]}`) on "
        f"{preview.today.isoformat()}; {check.notice_days} days of notice are required.",
        "",
    ]
    releases = [p.release for p in preview.policies if p.release is not None]
    if preview.plan_error:
        lines += [
            "> [!CAUTION]",
            f"> After merging, `redline release` would stop: {_md(preview.plan_error)}",
            "> Nothing would be released or sent until that is fixed.",
            "",
        ]
    else:
        if preview.left_out:
            lines += ["> [!CAUTION]", "> After merging, `redline release` would leave out:"]
            lines += [f"> - {_md(warning)}" for warning in preview.left_out]
            lines += ["> Everything else would be released as usual.", ""]
        if releases:
            emailed = sum(1 for item in releases if item.notify)
            names = ", ".join(f"**{_md(i.policy.slug)} v{i.version}**" for i in releases)
            lines.append(
                f"If merged now, `redline release` would release {names}, and email the "
                f"subscribers of {emailed} of {len(releases)}."
            )
            lines.append("")
        else:
            lines += ["If merged now, `redline release` would release nothing.", ""]
    if check.policies:
        lines += [
            f"Notice window (`redline check`): {_STATUS_ICON[check.status]}: "
            f"{check.count('fail')} failed, {check.count('warn')} with warnings, "
            f"{check.count('pass')} passed.",
            "",
        ]
    return [_Part("\n".join(lines) + "\n")]


def _policy_parts(item: PolicyPreview, pointer: str) -> list[_Part]:
    parts = [_Part("\n".join(_policy_lines(item)) + "\n")]
    if item.diff is not None:
        parts += _redline_parts(item, item.diff, pointer)
    elif item.release is not None and item.release.previous is None:
        parts.append(_Part("This is the first release of the policy: all of it is new.\n\n"))
    if item.message is not None:
        parts += _email_parts(item, pointer)
    return parts


def _policy_lines(item: PolicyPreview) -> list[str]:
    """The policy's heading, release facts and notice-window findings."""
    release = item.release
    path = f"`{_md(item.policy.path)}`"
    lines: list[str] = []
    if release is not None:
        since = f"replaces v{release.previous.version}" if release.previous else "first version"
        lines += [
            f"### {_md(item.policy.slug)} v{release.version}: "
            f"{_CLASS_TEXT.get(release.classification, release.classification)}",
            "",
            f"- **Policy:** {path} ({since})",
            f"- **Effective date the release would set:** {release.effective_date.isoformat()} "
            f"({release.notice_days} days after the release)"
            + (" — **short notice**" if release.short_notice else ""),
            f"- **Subscribers:** {_subscribers_line(release)}",
            f"- **Release decision:** {_md(release.reason)}",
            f"- **Summary:** {_md(release.summary)}",
        ]
        if not item.in_pull_request:
            lines.append("- Changed before this pull request and not released yet.")
    else:
        classification = item.check.classification if item.check else None
        if item.check is not None and item.check.change == "removed":
            title = "Removed"
        else:
            title = _CLASS_TEXT.get(classification or "", "Changed")
        lines += [
            f"### {_md(item.policy.slug)}: {title}",
            "",
            f"- **Policy:** {path}",
            f"- **Release:** {_md(item.skipped) if item.skipped else 'nothing would be released'}",
        ]
    if item.check is not None:
        check = item.check
        lines.append(f"- **Notice window (`redline check`):** {_STATUS_ICON[check.status]}")
        for finding in check.findings:
            where = f"line {finding.line}: " if finding.line else ""
            lines.append(f"  - {where}{_md(finding.message)}")
    lines.append("")
    return lines


def _redline_parts(item: PolicyPreview, diff: DiffResult, pointer: str) -> list[_Part]:
    """The redline in a details block; the redline itself may be cut."""
    html_name = next((p.name for p in item.files if p.name.endswith(".redline.html")), None)
    stats = diff.stats
    against = f" against {_md(item.diff_label)}" if item.diff_label else ""
    where = f"`{html_name}` in {pointer}" if html_name else pointer
    return [
        _Part(
            f"<details open><summary>Redline{against}: "
            f"{stats.words_inserted} {plural(stats.words_inserted, 'word')} inserted, "
            f"{stats.words_deleted} deleted"
            "</summary>\n\n"
        ),
        _Part(
            _demote(_redline_markdown(diff)),
            note=f"\n*The redline is cut here to fit GitHub's comment limit; the full "
            f"HTML redline: {where}.*\n",
        ),
        _Part("\n</details>\n\n"),
    ]


def _email_parts(item: PolicyPreview, pointer: str) -> list[_Part]:
    """The notice email's subject and text; the text may be cut."""
    assert item.message is not None
    body = item.message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    fence = _fence(text)
    eml = next((p.name for p in item.files if p.name.endswith(".eml")), None)
    where = f"`{eml}` in {pointer}" if eml else pointer
    return [
        _Part(
            f"**Notice email subject:** {_md(item.message['Subject'])}\n\n"
            "<details><summary>Notice email text (sent to each subscriber; here to a "
            "sample recipient)</summary>\n\n"
            f"{fence}text\n"
        ),
        _Part(text, note=f"[... cut to fit GitHub's comment limit; the full email: {where}]\n"),
        _Part(f"{fence}\n\n</details>\n\n"),
    ]


def _subscribers_line(release: PolicyRelease) -> str:
    if not release.notify:
        return "not emailed"
    base = release.notice_base
    if base is not None and release.previous and base.version != release.previous.version:
        return f"emailed the notice below (it shows the changes since v{base.version})"
    return "emailed the notice below"


def _redline_markdown(diff: DiffResult) -> str:

    return render_markdown(diff, heading_level=4)


def _demote(markdown: str) -> str:
    """The redline without its own title line (the comment has one per policy)."""
    lines = markdown.splitlines(keepends=True)
    if lines and lines[0].startswith("#### Redline"):
        lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
    return "".join(lines)


def _cut(text: str, size: int) -> str:
    """The longest run of whole lines of ``text`` that fits in ``size`` characters."""
    if size <= 0:
        return ""
    end = text.rfind("\n", 0, size + 1)
    return text[: end + 1] if end >= 0 else ""


def _fit(parts: list[_Part], limit: int | None) -> str:
    """Join ``parts``; with ``limit``, cut the cuttable ones fairly so the result fits."""
    whole = "".join(part.text for part in parts)
    if limit is None or len(whole) <= limit:
        return whole
    cuttable = [part for part in parts if part.note is not None]
    fixed = sum(len(part.text) for part in parts if part.note is None)
    budget = limit - fixed - sum(len(part.note or "") for part in cuttable)
    allowance: dict[int, int] = {}
    remaining = max(budget, 0)
    ordered = sorted(range(len(cuttable)), key=lambda i: len(cuttable[i].text))
    for position, index in enumerate(ordered):
        share = remaining // (len(ordered) - position)
        allowance[index] = min(len(cuttable[index].text), share)
        remaining -= allowance[index]
    out: list[str] = []
    index = 0
    for part in parts:
        if part.note is None:
            out.append(part.text)
            continue
        allowed = allowance[index]
        index += 1
        if len(part.text) <= allowed:
            out.append(part.text)
        else:
            out.append(_cut(part.text, allowed) + part.note)
    body = "".join(out)
    if len(body) > limit:  # the fixed parts alone are too long: cut the end of the body
        note = "\n*The preview is cut here to fit GitHub's comment limit.*\n"
        body = _cut(body, limit - len(note)) + note
    return body
