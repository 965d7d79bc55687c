"""The README's main command (``python3 dev.py demo``): a whole release on the sample policies.

In a throwaway directory (a new temporary directory, or ``--output DIR``) it:

1. makes a git repository of the sample policies from this project's ``policies/``, with a
   bare ``origin``, and sets it up with ``redline init`` (baseline tags, nobody emailed);
2. imports a few fictional subscribers (``@example.com``) into SQLite
   (``.redline/redline.db`` in that repository);
3. merges a pull request with a material edit of the privacy policy;
4. runs ``redline release --push --outbox DIR``: effective date, changelog, commit, tag, push,
   and a notice to every subscriber, written as ``.eml`` files;
5. builds the policy-history site with ``redline site``;

then prints the redline, the new effective date, the changelog entry, the path of the site
and where the emails are. Every command is the real ``redline`` command line, run in this
process. It needs no network and no configuration, and writes nothing outside its directory.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

from redline.errors import RedlineError

SAMPLE_POLICIES = Path(__file__).resolve().parents[3] / "policies"
SUBSCRIBERS = (
    ("ada.reader@example.com", "Ada Reader", "en", ""),
    ("ben.ortiz@example.com", "Ben Ortiz", "en", "privacy-policy"),
    ("chloe.martin@example.com", "Chloé Martin", "fr", ""),
    ("dev.patel@example.com", "Dev Patel", "en", "terms-of-service"),
)
SITE_URL = "https://policies.example.com"
# Environment that would point the demo at someone's real database, SMTP server, GitHub run
# or git repository; the demo runs without it.
_FOREIGN_ENV = (
    "REDLINE_DATABASE_URL",
    "REDLINE_SMTP_HOST",
    "REDLINE_SMTP_PORT",
    "REDLINE_SMTP_USER",
    "REDLINE_SMTP_PASSWORD",
    "REDLINE_SMTP_TLS",
    "REDLINE_SMTP_CA_FILE",
    "REDLINE_FROM",
    "REDLINE_SECRET",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_EVENT_PATH",
    "GITHUB_REF",
    "GITHUB_BASE_REF",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
)
EDIT_RETENTION = (
    "Calendar content is deleted within 30 days after you delete it",
    "Calendar content is deleted within 90 days after you delete it",
)
EDIT_SHARING = (
    "(c) authorities, where the law requires us to respond to a valid request.",
    "(c) authorities, where the law requires us to respond to a valid request;\n\n"
    "(d) an analytics provider that measures how the Service is used, under a contract that "
    "forbids it to use the data for its own purposes.",
)


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def say(text: str = "") -> None:
    """One line of the demo's own narration on stdout."""
    print(text, flush=True)


def step(number: int, title: str) -> None:
    """A numbered heading."""
    say()
    say(f"== {number}. {title}")


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output; show the command."""
    say(f"$ git {shlex.join(args)}")
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode:
        raise DemoError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def redline(repo: Path, *args: str) -> None:
    """Run the real ``redline`` command line in this process; show the command."""
    import click

    from redline.cli import cli

    shown = shlex.join(args)
    say(f"$ redline {shown}")
    try:
        cli.main(["--repo", str(repo), *args], prog_name="redline", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        raise DemoError(f"redline {shown} failed (exit code {error.exit_code})") from None
    except click.exceptions.Exit as done:
        if done.exit_code:
            raise DemoError(f"redline {shown} exited with {done.exit_code}") from None


def make_repository(workdir: Path) -> tuple[Path, Path]:
    """A policy repository with the sample policies, one commit, and a bare origin."""
    sources = sorted(SAMPLE_POLICIES.glob("*.md"))
    if not sources:
        raise DemoError(
            f"the sample policies are missing ({SAMPLE_POLICIES}); run the demo from a "
            "checkout of redline"
        )
    origin = workdir / "origin.git"
    repo = workdir / "policies-repo"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    for key, value in (
        ("user.name", "Dana Editor"),
        ("user.email", "dana.editor@example.com"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
    (repo / "policies").mkdir()
    for source in sources:
        shutil.copyfile(source, repo / "policies" / source.name)
        say(f"  copied {source.name}")
    (repo / "README.md").write_text("# Harbor Lane policies\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "Publish the privacy policy and the terms of service")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "origin", "main")
    return repo, origin


def write_subscribers(path: Path) -> None:
    """A CSV of fictional subscribers."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "locale", "policies"])
        writer.writerows(SUBSCRIBERS)


def edit_policy(path: Path) -> None:
    """The material edit: a longer retention period and a new recipient of data."""
    text = path.read_text(encoding="utf-8")
    for old, new in (EDIT_RETENTION, EDIT_SHARING):
        if old not in text:
            raise DemoError(f"{path.name}: the sample text changed; cannot find {old!r}")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def changelog_entry(path: Path, version: int) -> str:
    """The entry of ``version`` in a changelog written by redline."""
    text = path.read_text(encoding="utf-8")
    marker = f"<!-- redline:entry v{version} -->"
    start = text.find(marker)
    if start < 0:
        raise DemoError(f"{path}: no entry for version {version}")
    rest = text[start + len(marker) :]
    end = rest.find("<!-- redline:entry v")
    return (rest if end < 0 else rest[:end]).strip()


def run(workdir: Path, today: str | None) -> None:
    """The whole demo in ``workdir`` (which must be empty)."""
    _clean_environment(today)
    outbox = workdir / "outbox"
    site = workdir / "site"

    say(f"redline demo in {workdir}")
    step(1, "A repository of policies, set up with redline init (nobody is emailed)")
    repo, origin = _set_up(workdir)

    step(2, "Subscribers (fictional addresses, SQLite in .redline/redline.db)")
    csv_file = workdir / "subscribers.csv"
    write_subscribers(csv_file)
    redline(repo, "subscribers", "import", str(csv_file))

    step(3, "A pull request with a material edit of the privacy policy, merged")
    git(repo, "switch", "--quiet", "-c", "longer-retention")
    edit_policy(repo / "policies" / "privacy-policy.md")
    git(repo, "commit", "--quiet", "-am", "Keep deleted calendar content for 90 days")
    git(repo, "switch", "--quiet", "main")
    git(
        repo,
        "merge",
        "--quiet",
        "--no-ff",
        "longer-retention",
        "-m",
        "Merge pull request #12 from harbor-lane/longer-retention",
    )

    step(4, "The release: effective date, changelog, commit, tag, push, notices")
    redline(repo, "release", "--push", "--outbox", str(outbox))

    step(5, "The policy-history site")
    redline(repo, "site", str(site))

    _show_results(workdir, repo, origin, outbox, site)


def _clean_environment(today: str | None) -> None:
    """No foreign database, SMTP server, GitHub run or git repository; a key of its own."""
    for name in _FOREIGN_ENV:
        os.environ.pop(name, None)
    if today:
        os.environ["REDLINE_TODAY"] = today
    # A signing key for this demo's unsubscribe links only (see README, 'Secrets').
    os.environ["REDLINE_SECRET"] = secrets.token_hex(16)


def _set_up(workdir: Path) -> tuple[Path, Path]:
    """Step 1: the repository, ``redline init``, the demo's config, committed and pushed."""
    repo, origin = make_repository(workdir)
    redline(repo, "init", "--date-order", "MDY")
    with (repo / "redline.toml").open("a", encoding="utf-8") as config:
        config.write(
            "\n# Added by the demo:\n"
            'from_address = "Harbor Lane Policies <policies@example.com>"\n'
            'organization = "Harbor Lane Ltd."\n'
            'site_name = "Harbor Lane policies"\n'
            'contact = "privacy@example.com"\n'
            f'site_url = "{SITE_URL}"\n'
            f'unsubscribe_url = "{SITE_URL}/unsubscribe?token={{token}}"\n'
        )
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "Set up redline")
    git(repo, "push", "--quiet", "--follow-tags", "origin", "main")
    return repo, origin


def _show_results(workdir: Path, repo: Path, origin: Path, outbox: Path, site: Path) -> None:
    """The redline, the new effective date, the changelog entry, the site and the emails."""
    from redline.compare.engine import diff_policy
    from redline.compare.views import render_terminal
    from redline.config import load_settings
    from redline.console import out
    from redline.env import Environment
    from redline.history.repo import PolicyRepo

    settings = load_settings(repo, env=Environment.from_os())
    policies = PolicyRepo(settings)
    privacy = policies.resolve("privacy-policy")
    release = policies.latest_release(privacy)
    if release is None or release.version != 2:
        raise DemoError("the release did not create privacy-policy v2")
    diff = diff_policy(policies, privacy, policies.tag_name(privacy.slug, 1), release.tag)
    log_path = repo / "policies" / "privacy-policy.changelog.md"
    emails = sorted(outbox.glob("*.eml"))

    step(6, f"The redline of privacy-policy, v1 -> v{release.version}")
    render_terminal(diff, out())
    say()
    date_line = next(
        (
            line
            for line in (repo / privacy.path).read_text(encoding="utf-8").splitlines()
            if line.lower().startswith("effective date")
        ),
        "",
    )
    say(
        f"New effective date: {release.effective_date.isoformat()}, written into "
        f"{privacy.path} as {date_line!r} (tag {release.tag}, pushed to {origin})"
    )
    say()
    say(f"Changelog entry ({log_path}):")
    say()
    say(changelog_entry(log_path, release.version))
    say()
    say(f"Site: {site / 'index.html'}")
    say(f"      this version: {site / privacy.slug / str(release.version) / 'index.html'}")
    say(f"Emails: {len(emails)} notices in {outbox}")
    for email in emails:
        say(f"      {email.name}")
    if emails:
        with emails[0].open("rb") as handle:
            message = BytesParser(policy=email_policy.default).parse(handle, headersonly=True)
        say(f"      Subject: {message['Subject']}")
    say()
    say(f"Everything is in {workdir}; delete it when you are done.")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m redline.cli._demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m redline.cli._demo",
        description="Run a whole redline release on the sample policies in a throwaway "
        "directory and show what it produced.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="empty or new directory for the demo (default: a new temporary directory)",
    )
    parser.add_argument("--today", metavar="YYYY-MM-DD", help="pin today's date")
    args = parser.parse_args(argv)
    if args.output is not None:
        workdir = args.output.resolve()
        if workdir.exists() and any(workdir.iterdir()):
            parser.error(f"{workdir} is not empty")
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="redline-demo-"))
    try:
        run(workdir, args.today)
    except (DemoError, RedlineError) as error:
        print(f"redline demo: error: {error}", file=sys.stderr)
        print(f"redline demo: what it made so far is in {workdir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
