"""Dates that don't block: new forms, month-year precision, the numeric order from evidence,
and one problem per policy instead of an error for all."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import redline_in_process as redline
from redline.document import dates
from redline.errors import Problem

BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pga-versions.bundle"


def wrap(line: str, title: str = "# Privacy Policy") -> str:
    return f"{title}\n\n{line}\n\n## 1. Scope\n\nWe collect what we need.\n"


# (the date statement, date read, precision, the statement after setting 2026-02-09)
FORMS = [
    (
        "This policy is effective as of 3 February 2021.",
        date(2021, 2, 3),
        "This policy is effective as of 9 February 2026.",
    ),
    (
        "These terms were last updated on March 3, 2024.",
        date(2024, 3, 3),
        "These terms were last updated on February 9, 2026.",
    ),
    (
        "Version Effective Date: November 16, 2020",
        date(2020, 11, 16),
        "Version Effective Date: February 9, 2026",
    ),
    (
        "#### Last Updated: 14 August, 2025",
        date(2025, 8, 14),
        "#### Last Updated: 9 February, 2026",
    ),
    ("*August 7, 2024*", date(2024, 8, 7), "*February 9, 2026*"),
    ("June 23, 2016", date(2016, 6, 23), "February 9, 2026"),
    ("Modified: April 28, 2026", date(2026, 4, 28), "Modified: February 9, 2026"),
    (
        "Effective July 2, 2026 ([archived versions](https://example.com/revisions))",
        date(2026, 7, 2),
        "Effective February 9, 2026 ([archived versions](https://example.com/revisions))",
    ),
    (
        "Effective April 2, 2026 | [Archived versions](https://example.com/archive)",
        date(2026, 4, 2),
        "Effective February 9, 2026 | [Archived versions](https://example.com/archive)",
    ),
    (
        "Effective September 24, 2024. Last Revised March 24, 2026",
        date(2024, 9, 24),
        "Effective February 9, 2026. Last Revised March 24, 2026",
    ),
    ("Effective date: 05/14/2020", date(2020, 5, 14), "Effective date: 02/09/2026"),
    ("Effective date: 5/14/2020", date(2020, 5, 14), "Effective date: 2/9/2026"),
]


@pytest.mark.parametrize(("line", "expected", "after"), FORMS)
def test_new_forms_read_and_round_trip(line, expected, after):
    text = wrap(line)
    found = dates.find_effective_date(text)
    assert (found.date, found.primary.line, found.precision) == (expected, 3, "day")
    assert dates.set_effective_date(text, date(2026, 2, 9)) == wrap(after)


def test_a_date_in_a_sentence_deep_in_the_text_is_not_the_effective_date():
    text = wrap("Effective date: 2024-01-01") + "\nThe CCPA was last updated on 01/01/2020.\n"
    assert dates.find_effective_date(text).date == date(2024, 1, 1)
    body = "# Terms\n\n" + "\n\n".join(f"Paragraph {n}." for n in range(8))
    prose = body + "\n\nThese rules were last updated on March 3, 2024 for everyone, always.\n"
    assert dates.find_dates(prose) == []


def test_month_year_dates_keep_their_form_and_expose_their_imprecision():
    text = wrap("Last Updated: December 2025")
    found = dates.find_effective_date(text)
    assert (found.date, found.precision, found.primary.form) == (
        date(2025, 12, 1),
        "month",
        "Month YYYY",
    )
    assert found.to_json()["precision"] == "month"
    edit = dates.edit_effective_date(text, date(2026, 3, 11))
    assert edit.text == wrap("Last Updated: March 2026")
    assert edit.effective.date == date(2026, 3, 1)
    # Readers may take "March 2026" as March 1: notice is counted from there.
    assert dates.earliest_reading(date(2026, 3, 11), "month") == date(2026, 3, 1)
    assert dates.earliest_reading(date(2026, 3, 11), "day") == date(2026, 3, 11)
    assert dates.earliest_writable(date(2026, 3, 11), "month") == date(2026, 4, 1)
    assert dates.earliest_writable(date(2026, 12, 2), "month") == date(2027, 1, 1)
    assert dates.earliest_writable(date(2026, 3, 1), "month") == date(2026, 3, 1)
    assert dates.earliest_writable(date(2026, 3, 11), "day") == date(2026, 3, 11)


def test_date_label_is_a_per_policy_option():
    text = wrap("Effective date: 2024-01-01\n\nPublished: 2023-05-01")
    other = wrap("Effective date: 2022-02-02")
    published = dates.date_options(None, date_label="Published")
    assert dates.find_effective_date(text, published).date == date(2023, 5, 1)
    assert dates.find_effective_date(other).date == date(2022, 2, 2)  # unaffected
    assert dates.date_options(published, locale="de") == dates.DateOptions(
        None, "de", "Published", 30
    )


# -- the order from evidence ------------------------------------------------------------------

AMBIGUOUS = wrap("Effective date: 02/09/2026")
PROVES_MDY = wrap("Effective date: 05/14/2020")
PROVES_DMY = wrap("Effective date: 14/05/2020")


def test_config_wins_then_the_text_itself():
    config = dates.resolve_date_order(PROVES_MDY, dates.DateOptions(date_order="DMY"))
    assert (config.order, config.source) == ("DMY", "config")
    text = dates.resolve_date_order(PROVES_MDY)
    assert (text.order, text.source) == ("MDY", "text")
    assert "05/14/2020" in text.detail
    iso = dates.resolve_date_order(wrap("Effective date: 2020-05-14"))
    assert (iso.order, iso.needed) == (None, False)


def test_earlier_revisions_are_read_only_up_to_the_first_proof():
    read: list[str] = []

    def history():
        for revision, text in (
            ("c3", AMBIGUOUS),
            ("c2", PROVES_MDY),
            ("c1", PROVES_DMY),
        ):
            read.append(revision)
            yield revision, text

    found = dates.resolve_date_order(AMBIGUOUS, history=history())
    assert (found.order, found.source) == ("MDY", "history")
    assert "revision c2" in found.detail
    assert read == ["c3", "c2"]  # c1 never read


@pytest.mark.parametrize(
    ("locale", "order"), [("en-US", "MDY"), ("en_GB", "DMY"), ("de", "DMY"), ("fr", "DMY")]
)
def test_the_locale_gives_the_order(locale, order):
    found = dates.resolve_date_order(AMBIGUOUS, dates.DateOptions(locale=locale))
    assert (found.order, found.source) == (order, "locale")
    assert dates.locale_order("ja") is None  # year first: no evidence


def test_the_other_policies_of_the_same_locale_and_folder():
    orders = dates.RepositoryOrders(
        [
            ("us/terms.md", PROVES_MDY, dates.DateOptions()),
            ("eu/terms.md", PROVES_DMY, dates.DateOptions()),
            ("ja/terms.md", PROVES_MDY, dates.DateOptions(locale="ja")),
        ]
    )
    near = dates.resolve_date_order(AMBIGUOUS, repository=orders, path="us/privacy.md")
    assert (near.order, near.source) == ("MDY", "repository")
    assert "us/" in near.detail
    # Elsewhere the repository disagrees: no evidence, and the error stays clear.
    far = dates.resolve_date_order(AMBIGUOUS, repository=orders, path="other/privacy.md")
    assert (far.order, far.source) == (None, None)
    # An order never crosses locales: ja's MDY says nothing about policies without a locale,
    # and a ja policy only learns from ja policies.
    ja = dates.resolve_date_order(
        AMBIGUOUS, dates.DateOptions(locale="ja"), repository=orders, path="ja/privacy.md"
    )
    assert (ja.order, ja.source) == ("MDY", "repository")
    lone = dates.RepositoryOrders([("en/a.md", PROVES_MDY, dates.DateOptions(locale="en"))])
    de = dates.resolve_date_order(AMBIGUOUS, repository=lone, path="de/a.md")
    assert de.order is None


def test_only_a_date_without_any_evidence_is_a_problem():
    found = dates.inspect_policy_date(AMBIGUOUS, name="policies/a.md")
    assert found.effective is None
    assert isinstance(found.problem, Problem)
    assert found.problem.path == "policies/a.md"
    assert "policies/a.md:3: '02/09/2026' is ambiguous" in found.problem.message
    assert "date_order" in (found.problem.hint or "")
    ok = dates.inspect_policy_date(AMBIGUOUS, name="a.md", history=[("c1", PROVES_MDY)])
    assert ok.problem is None and ok.effective is not None
    assert ok.effective.date == date(2026, 2, 9)
    assert ok.to_json()["date_order"]["source"] == "history"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("# Policy\n\nNo date here.\n", "no effective-date statement found"),
        (
            wrap("Effective date: 2024-01-01\n\nEffective date: 2023-01-01"),
            "states different dates",
        ),
        (wrap("Effective date: 2024-02-30"), "not a valid date"),
    ],
)
def test_unreadable_dates_become_one_problem_with_its_fix(text, fragment):
    found = dates.inspect_policy_date(text, name="p.md")
    assert found.problem is not None and fragment in found.problem.message
    assert found.problem.hint
    assert str(found.problem).startswith("p.md")


def test_a_blank_date_is_no_problem():
    found = dates.inspect_policy_date(wrap("Effective date:"), name="p.md")
    assert found.problem is None and found.effective is not None
    assert found.effective.date is None


# -- in a repository ---------------------------------------------------------------------------


@pytest.fixture
def history_repo(policy_repo):
    repo = policy_repo()
    repo.write("redline.toml", "")
    repo.write("policies/privacy.md", PROVES_MDY)
    repo.write("policies/terms.md", wrap("Effective date: 2024-01-01", "# Terms"))
    repo.commit("first")
    repo.write("policies/privacy.md", wrap("Effective date: 03/01/2021"))
    repo.commit("ambiguous now")
    return repo


def test_effective_date_cli_reads_with_evidence_from_history(history_repo):
    result = redline(history_repo, "effective-date", "privacy", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["date"] == "2021-03-01"
    assert data["date_order"]["source"] == "history"
    written = redline(history_repo, "effective-date", "privacy", "--set", "2026-02-09")
    assert written.returncode == 0, written.stderr
    text = (history_repo.root / "policies/privacy.md").read_text()
    assert "Effective date: 02/09/2026" in text


def test_status_reports_each_problem_once_and_goes_on(policy_repo):
    repo = policy_repo()
    repo.write("redline.toml", "")
    for n in range(5):
        repo.write(f"policies/p{n}.md", f"# P{n}\n\nNo date.\n")
    repo.write("policies/month.md", wrap("Last Updated: December 2025"))
    repo.write("policies/ok.md", wrap("Effective date: 2024-01-01"))
    repo.commit("policies")
    result = redline(repo, "status", "--today", "2026-01-10")
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.startswith("policies/")) == 7
    assert sum(1 for line in lines if "problem:" in line) == 5
    assert "7 policies:" in lines[-1] and "5 with a date problem" in lines[-1]
    month = next(line for line in lines if line.startswith("policies/month.md"))
    assert "date line: 2025-12-01" in month

    data = json.loads(redline(repo, "status", "--json", "--problems").stdout)
    assert data["summary"]["date_problems"] == 5
    paths = {item["path"]: item for item in data["policies"]}
    assert "policies/p0.md" in paths
    assert paths["policies/p0.md"]["problems"][0]["hint"]


def test_status_in_a_shallow_clone_says_history_is_missing(history_repo, tmp_path):
    history_repo.tag("privacy/v1", "redline: privacy v1\n\nEffective-Date: 2021-03-01\n")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{history_repo.root}", str(clone)],
        check=True,
    )
    result = redline(SimpleNamespace(root=clone), "status")
    assert result.returncode == 0, result.stderr
    assert "shallow clone" in result.stderr and "history is missing" in result.stderr
    assert "never released" not in result.stdout


# -- the real repository -----------------------------------------------------------------------


@pytest.mark.skipif(not BUNDLE.is_file(), reason=f"real fixture {BUNDLE} is not here")
def test_every_real_policy_date_is_read_or_reported_once(tmp_path):
    from redline.config import load_settings
    from redline.env import Environment
    from redline.history.repo import PolicyRepo
    from redline.jobs.status import collect_status

    root = tmp_path / "pga"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(root)], check=True)
    (root / "redline.toml").write_text('policies_dir = "."\n')
    settings = load_settings(root, env=Environment())
    report = collect_status(PolicyRepo(settings), settings, today=date(2026, 12, 1))
    assert len(report.policies) >= 130
    read = [p for p in report.policies if p.date and p.date.effective]
    reported = [p for p in report.policies if p.problems]
    assert len(read) + len(reported) == len(report.policies)
    assert all(len(p.problems) == 1 for p in reported)
    assert len(read) >= 75
    by_path = {p.policy.path: p for p in report.policies}
    twitch = by_path["Twitch/Privacy Policy.md"].date
    assert twitch is not None and twitch.evidence.order == "MDY"
    assert twitch.evidence.source == "history"
