"""``redline subscribers`` and ``redline notices``: output, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from redline.cli import cli
from redline.ledger.store import Store

SECRET = "cli-test-secret-with-enough-length"
POLICY_TEXT = "# Privacy Policy\n\nEffective date: 2024-01-15\n\nWe keep little.\n"


@pytest.fixture
def repo(policy_repo):
    repo = policy_repo("policies-repo")
    repo.write("policies/privacy-policy.md", POLICY_TEXT)
    repo.write("policies/terms.md", POLICY_TEXT.replace("Privacy Policy", "Terms"))
    repo.commit("Add policies")
    return repo


@pytest.fixture
def run(repo, database_url):
    """Invoke redline in ``repo`` with the test database; returns the click Result."""

    def invoke(*args: str, env: dict[str, str] | None = None):
        runner = CliRunner()
        environment = {"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET}
        environment.update(env or {})
        return runner.invoke(cli, ["--repo", str(repo.root), *args], env=environment)

    return invoke


def one_error_line(result) -> str:
    """The single 'redline: error:' line of a failed run (and no traceback)."""
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("redline: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


CSV = (
    "email,name,locale,policies\n"
    "ann@example.com,Ann,de,\n"
    "bob@Example.com,Bob,,terms\n"
    "broken,Nobody,,\n"
    'eve@example.com,"Eve\nBcc: all@example.com",,\n'
    "fay@example.com,Fay,,unknown-policy\n"
)


def test_import_lists_skipped_rows_and_exits_1(run, repo):
    path = repo.write("subscribers.csv", CSV)
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:4: skipped: not a valid email address" in result.stdout
    assert f"{path}:5: skipped: name contains a line break" in result.stdout
    assert f"{path}:7: skipped: unknown policy 'unknown-policy'" in result.stdout
    assert "added 2, updated 0, unchanged 0, skipped 3 of 5 rows" in result.stdout
    assert "3 of 5 rows skipped" in one_error_line(result)
    again = run("subscribers", "import", str(path), "--json")
    assert again.exit_code == 1
    report = json.loads(again.stdout)
    assert (report["added"], report["unchanged"]) == (0, 2)
    assert [row["line"] for row in report["skipped"]] == [4, 5, 7]


def test_clean_import_exits_0(run, repo):
    path = repo.write("ok.csv", "email\nann@example.com\n")
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "added 1" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        (b"name\nAnn\n", "no 'email' column"),
        (b"email\n\xff\xfe\n", ":2: not UTF-8 text"),
    ],
)
def test_import_errors_are_one_line_with_exit_2(run, repo, content, expected):
    path = repo.root / "in.csv"
    if content is not None:
        path.write_bytes(content)
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 2
    assert expected in one_error_line(result)


def test_add_list_count_remove(run):
    assert run("subscribers", "add", "ann@Example.com", "--name", "Ann").stdout == (
        "added ann@example.com\n"
    )
    result = run("subscribers", "add", "bob@example.com", "--policy", "terms", "--locale", "de")
    assert result.exit_code == 0
    assert run("subscribers", "add", "ann@example.com").stdout == "unchanged ann@example.com\n"
    updated = run("subscribers", "add", "ann@example.com", "--locale", "fr", "--json")
    data = json.loads(updated.stdout)
    assert data["result"] == "updated"
    assert (data["subscriber"]["name"], data["subscriber"]["locale"]) == ("Ann", "fr")

    listing = run("subscribers", "list")
    assert listing.exit_code == 0
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    assert rows[0][0] == "EMAIL"
    assert [row[:4] for row in rows[1:]] == [
        ["ann@example.com", "Ann", "fr", "all"],
        ["bob@example.com", "-", "de", "terms"],
    ]
    assert listing.stderr == ""
    as_json = json.loads(run("subscribers", "list", "--json", "--policy", "privacy-policy").stdout)
    assert [entry["email"] for entry in as_json] == ["ann@example.com"]

    assert run("subscribers", "count").stdout == "2\n"
    assert run("subscribers", "count", "--policy", "privacy-policy").stdout == "1\n"
    assert json.loads(run("subscribers", "count", "--json").stdout) == {
        "policy": None,
        "subscribed": 2,
        "unsubscribed": 0,
    }

    removed = run("subscribers", "remove", "bob@EXAMPLE.com")
    assert removed.exit_code == 0
    assert "kept as proof" in removed.stdout
    again = run("subscribers", "remove", "bob@example.com")
    assert again.exit_code == 2
    assert "no subscriber bob@example.com" in one_error_line(again)


def test_add_refuses_bad_input_with_exit_2(run):
    cases = [
        (("not-an-address",), "not a valid email address"),
        (("a@example.com", "--name", "A\r\nBcc: x@example.com"), "header injection"),
        (("a@example.com", "--locale", "zz_ZZ"), "unknown locale"),
        (("a@example.com", "--policy", "nope"), "unknown policy 'nope'"),
    ]
    for args, expected in cases:
        result = run("subscribers", "add", *args)
        assert result.exit_code == 2, args
        assert expected in one_error_line(result)
    assert run("subscribers", "count").stdout == "0\n"


def test_unsubscribe_by_address_and_by_token(run, database_url):
    from redline.env import Environment
    from redline.ledger.subscribers import make_token

    run("subscribers", "add", "ann@example.com")
    run("subscribers", "add", "bob@example.com")
    assert run("subscribers", "unsubscribe", "ann@example.com").stdout == (
        "unsubscribed ann@example.com\n"
    )
    assert "already unsubscribed" in run("subscribers", "unsubscribe", "ann@example.com").stdout
    bob = json.loads(run("subscribers", "add", "bob@example.com", "--json").stdout)
    assert bob["result"] == "unchanged"
    env = Environment({"REDLINE_SECRET": SECRET})
    with Store.open(database_url) as store:
        token = make_token("bob@example.com", store.get_subscriber("bob@example.com").id, env=env)
    result = run("subscribers", "unsubscribe", token)
    assert result.exit_code == 0
    assert result.stdout == "unsubscribed bob@example.com\n"
    assert token not in result.output
    assert run("subscribers", "count").stdout == "0\n"
    everyone = json.loads(run("subscribers", "list", "--all", "--json").stdout)
    assert all(entry["unsubscribed_at"] for entry in everyone)
    # a re-added subscriber who unsubscribed stays unsubscribed and is told so
    readded = run("subscribers", "add", "ann@example.com", "--name", "Ann")
    assert readded.exit_code == 0
    assert "has unsubscribed" in readded.stderr


def test_unsubscribe_errors(run):
    bad = run("subscribers", "unsubscribe", "not.a.token")
    assert bad.exit_code == 2
    assert "token is not valid" in one_error_line(bad)
    no_secret = run("subscribers", "unsubscribe", "x.y", env={"REDLINE_SECRET": ""})
    assert no_secret.exit_code == 2
    assert "REDLINE_SECRET is not set" in one_error_line(no_secret)
    unknown = run("subscribers", "unsubscribe", "nobody@example.com")
    assert unknown.exit_code == 2
    assert "no subscriber nobody@example.com" in one_error_line(unknown)


def fill_ledger(database_url: str) -> None:
    with Store.open(database_url) as store:
        for email in ("ann@example.com", "bob@example.com"):
            store.upsert_subscriber(email)
        store.queue_notices("privacy-policy", 1, "notice")
        ann, bob = store.claim_batch("privacy-policy", 1, "notice", 10)
        store.mark_sent(ann.id, message_id="<ann@redline>", smtp_code=250, smtp_message="Ok")
        store.mark_failed(bob.id, permanent=False, smtp_code=451, smtp_message="try later")
        store.queue_notices("privacy-policy", 2, "notice")
        store.remove_subscriber("ann@example.com")


def test_notices_listing_and_exports(run, repo, database_url):
    fill_ledger(database_url)
    text = run("notices", "privacy-policy")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("redline proof of notice; policy privacy-policy; all versions")
    assert "<ann@redline>" in text.stdout and "451 try later" in text.stdout
    assert "privacy-policy v1 notice: 1 sent, 1 failed-temporary" in text.stdout

    as_csv = run("notices", "policies/privacy-policy.md", "--version", "1", "--export", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    comment, body = as_csv.stdout.split("\n", 1)
    assert comment.startswith("# redline proof of notice; policy privacy-policy; v1; all kinds")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(row["email"], row["state"], row["attempts"]) for row in rows] == [
        ("ann@example.com", "sent", "1"),
        ("bob@example.com", "failed-temporary", "1"),
    ]

    target = repo.root / "proof.json"
    written = run("notices", "privacy-policy", "--kind", "notice", "-o", str(target))
    assert written.exit_code == 0
    assert f"wrote 4 notices to {target}" in written.stderr
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["export"]["kind"] == "notice"
    assert [(n["version"], n["email"]) for n in data["notices"]] == [
        (1, "ann@example.com"),
        (1, "bob@example.com"),
        (2, "ann@example.com"),
        (2, "bob@example.com"),
    ]


def test_notices_of_a_policy_no_longer_in_the_repository(run, repo, database_url):
    with Store.open(database_url) as store:
        store.upsert_subscriber("ann@example.com")
        store.queue_notices("old-policy", 1, "notice")
    result = run("notices", "old-policy", "--export", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["notices"][0]["email"] == "ann@example.com"
    unknown = run("notices", "never-existed")
    assert unknown.exit_code == 2
    assert "unknown policy 'never-existed'" in one_error_line(unknown)
    nothing = run("notices", "terms", "--export", "csv")
    assert nothing.exit_code == 0
    assert "no notices recorded for terms" in nothing.stderr


def test_bad_options_are_usage_errors(run):
    assert run("notices", "privacy-policy", "--version", "0").exit_code == 2
    assert run("notices", "privacy-policy", "--kind", "newsletter").exit_code == 2
    assert run("notices", "privacy-policy", "--export", "xml").exit_code == 2


def test_database_errors_exit_5_without_the_password(run):
    url = "mysql://u:hunter2hunter2@localhost/x"
    for args in (("subscribers", "count"), ("notices", "privacy-policy")):
        result = run(*args, env={"REDLINE_DATABASE_URL": url})
        assert result.exit_code == 5
        line = one_error_line(result)
        assert "unsupported database" in line
        assert "hunter2" not in result.output


def test_a_real_process_prints_one_line_and_no_traceback(repo):
    env = {**os.environ, "REDLINE_DATABASE_URL": "postgresql://u:s3cr3t-pw@127.0.0.1:1/x"}
    result = subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), "subscribers", "count"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 5
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("redline: error: database ")
    assert "s3cr3t-pw" not in result.stderr


def test_names_and_addresses_that_cannot_be_headers_are_refused_at_import(run, repo):
    """Defect: a name with an encoded CR/LF was accepted and then blocked every notify."""
    encoded = "=?utf-8?b?YQ0KYg==?="
    added = run("subscribers", "add", "v@example.com", "--name", encoded)
    assert added.exit_code == 2
    assert "encoded word" in one_error_line(added)
    path = repo.root / "people.csv"
    path.write_text(
        f"email,name\nv@example.com,{encoded}\n{encoded}@example.com,W\njosé@例え.jp,José\n",
        encoding="utf-8",
    )
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert "people.csv:2: skipped: name contains '=?'" in result.stdout
    assert "people.csv:3: skipped: the address cannot be written as a mail header" in result.stdout
    assert run("subscribers", "count").stdout == "1\n"
