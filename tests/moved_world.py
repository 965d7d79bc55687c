"""A policy whose second version moves a section and edits it, for the move, count and
summary tests: two real release tags in a real git repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import GitPolicyRepo

POLICY = "policies/privacy-policy.md"

V1 = """\
# Privacy Policy

Effective date: 01/15/2024

## 1. Introduction

Northwind Kites explains here how the Kiteboard app handles personal data.

## 2. Data We Collect

We collect your name, your email address and your flight logs.

## 3. Sharing

We share data with our hosting partner. Read about your rights at
https://ec.europa.eu/info/law/data-protection today.

## 4. Security

We protect data with encryption at rest and in transit.

We review our security measures every year.

## 5. Data Retention

We keep flight logs for 30 days after you delete your account.

## 6. Contact

Write to privacy@example.com.
"""

NEW_PARAGRAPH = (
    "(d) an analytics provider that measures how the app is used, under a contract that "
    "forbids any other use of the data."
)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.index("\n## ", start + 1) + 1
    return text[start:end]


def move_retention(text: str) -> str:
    """``text`` with Section 5 (Data Retention) moved up before Section 4 (Security)."""
    retention = _section(text, "## 5. Data Retention")
    text = text.replace(retention, "")
    return text.replace("## 4. Security", retention + "## 4. Security")


def v2() -> str:
    """Version 2: the date, Section 5 moved and edited, a new paragraph and a new URL."""
    text = move_retention(V1)
    return (
        text.replace("01/15/2024", "03/01/2024")
        .replace("30 days", "90 days")
        .replace(
            "https://ec.europa.eu/info/law/data-protection", "https://commission.europa.eu/law"
        )
        .replace("flight logs.\n", f"flight logs.\n\n{NEW_PARAGRAPH}\n")
        .replace("We review our security measures every year.\n\n", "")
    )


def released(
    policy_repo: Callable[..., GitPolicyRepo], tag_release: Callable[..., Any]
) -> GitPolicyRepo:
    """A repository with version 1 and version 2 of the privacy policy released."""
    repo = policy_repo("moved")
    repo.write(POLICY, V1)
    repo.commit("Privacy policy")
    tag_release(repo, "privacy-policy", 1, "2024-01-15", when="2024-01-10T09:00:00+00:00")
    repo.write(POLICY, v2())
    repo.commit("Privacy policy: retention moved up and longer, analytics")
    tag_release(repo, "privacy-policy", 2, "2024-03-01", when="2024-01-31T09:00:00+00:00")
    return repo


def release_of(repo: GitPolicyRepo, version: int = 2, **overrides: object) -> tuple[Any, ...]:
    """``(policies, policy, release, diff, settings)`` of ``version`` of the privacy policy."""
    from redline.history.repo import PolicyRepo
    from redline.publish.changelog import release_diff

    settings = repo.settings(**overrides)
    policies = PolicyRepo(settings)
    policy = policies.resolve("privacy-policy")
    release = next(r for r in policies.releases(policy) if r.version == version)
    return policies, policy, release, release_diff(policies, policy, release), settings
