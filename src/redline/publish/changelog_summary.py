"""The summary of a changelog entry: given, from the commit messages, or generated.

In this order: ``--summary``, a ``Policy-Summary:`` trailer or a ``## Summary`` section in
the message of the (merge) commit that changed the policy, or one generated from the section
changes (:func:`redline.publish.prose.generate_summary`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from redline.history.git import GitCommandFailed
from redline.publish.prose import generate_summary

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.history.repo import Policy, PolicyRepo

FIRST_VERSION_SUMMARY = "First published version."
_TRAILER = re.compile(r"^policy-summary:[ \t]*(.*)$", re.I)
_ANY_TRAILER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_SUMMARY_HEADING = re.compile(r"^#{1,6}[ \t]+summary[ \t]*#*[ \t]*$", re.I)
_HEADING = re.compile(r"^#{1,6}[ \t]")


def summary_from_message(message: str) -> str | None:
    """The summary a commit message gives: a ``Policy-Summary:`` trailer or ``## Summary``."""
    lines = message.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        match = _TRAILER.match(line)
        if match:
            parts = [match.group(1).strip()]
            for follow in lines[index + 1 :]:
                if not follow[:1].isspace() or not follow.strip():
                    break
                parts.append(follow.strip())
            text = " ".join(part for part in parts if part)
            if text:
                return text
    for index, line in enumerate(lines):
        if _SUMMARY_HEADING.match(line.strip()):
            body: list[str] = []
            for follow in lines[index + 1 :]:
                if _HEADING.match(follow):
                    break
                body.append(follow.rstrip())
            text = _drop_trailer_block("\n".join(body).strip())
            if text:
                return text
    return None


def _drop_trailer_block(text: str) -> str:
    """``text`` without a final paragraph made only of ``Key: value`` trailers."""
    paragraphs = re.split(r"\n[ \t]*\n", text)
    last = paragraphs[-1].splitlines()
    if len(paragraphs) > 1 and last and all(_ANY_TRAILER.match(line) for line in last):
        paragraphs = paragraphs[:-1]
    return "\n\n".join(paragraphs).strip()


def commit_summary(repo: PolicyRepo, policy: Policy, since: str | None, until: str) -> str | None:
    """The summary given in the mainline commits that changed ``policy`` after ``since``.

    The newest commit that gives one wins; merge commits count (``--first-parent``).
    """
    if not repo.has_commits():
        return None
    span = f"{since}..{until}" if since else until

    try:
        log = repo.git.read("log", "--first-parent", "--format=%B%x00", span, "--", policy.path)
    except GitCommandFailed:
        return None
    for message in log.split("\x00"):
        found = summary_from_message(message.strip("\n"))
        if found:
            return found
    return None


def resolve_summary(
    repo: PolicyRepo,
    policy: Policy,
    diff: DiffResult | None,
    *,
    explicit: str | None = None,
    since: str | None = None,
    until: str = "HEAD",
) -> str:
    """The entry's summary: ``explicit``, else the commits' own summary, else generated."""
    if explicit and explicit.strip():
        return explicit.strip()
    found = commit_summary(repo, policy, since, until)
    if found:
        return found
    return generate_summary(diff) if diff is not None else FIRST_VERSION_SUMMARY
