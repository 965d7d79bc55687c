"""``redline bounces import``: Postfix and Exim bounces, in a real mbox and a real Maildir, of
notices a real notify run sent to aiosmtpd, recorded in the ledger on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest

from conftest import redline_in_process
from dsn_samples import exim_bounce, not_a_bounce, postfix_dsn
from redline.jobs.status_report import NoticeCounts
from redline.ledger.store import Store
from redline.mail.bounces import parse_bounce
from test_identity import notify as send_version
from test_notify import SECRET, add_subscribers

POLICY = "privacy"
READERS = [f"reader{i}@example.com" for i in range(4)]


@pytest.fixture
def repo(policy_repo):
    repo = policy_repo("policies-repo")
    repo.write("policies/privacy.md", "# Privacy\n\nEffective date: 2024-01-15\n\nText.\n")
    repo.write("redline.toml", "bounce_limit = 2\n")
    repo.commit("Add policy")
    return repo


def notify(tmp_path: Path, database_url: str, version: int) -> dict[str, str]:
    """Send ``version`` to every subscriber through aiosmtpd; their Message-IDs by address."""
    with Store.open(database_url) as store:
        report, _ = send_version(tmp_path, store, version)
        assert report.sent == len(READERS)
        return {r.email: r.message_id for r in store.iter_notices(POLICY, version, "notice")}


def run(repo, database_url: str, *args: str):
    return redline_in_process(repo, *args, REDLINE_DATABASE_URL=database_url, REDLINE_SECRET=SECRET)


def records(database_url: str, version: int):
    with Store.open(database_url) as store:
        return {r.email: r for r in store.iter_notices(POLICY, version, "notice", history=True)}


def test_postfix_and_exim_bounces_in_an_mbox_are_recorded(tmp_path, repo, database_url):
    with Store.open(database_url) as store:
        add_subscribers(store, READERS)
    ids = notify(tmp_path, database_url, 1)
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    box.add(postfix_dsn("reader0@example.com", ids["reader0@example.com"]))
    box.add(exim_bounce("READER1@EXAMPLE.COM"))  # no copy: matched by recipient, any case
    box.add(not_a_bounce())
    box.add(postfix_dsn("reader2@example.com", ids["reader2@example.com"], action="delayed"))
    box.add(exim_bounce("stranger@example.net", "<not-ours@example.net>"))
    box.close()

    result = run(repo, database_url, "bounces", "import", str(path), "--json")
    assert result.returncode == 1, result.stderr
    assert f"{path}: message 3: not a delivery status notification; skipped" in result.stderr
    counts = json.loads(result.stdout)
    assert {k: counts[k] for k in ("matched", "bounced", "unmatched", "skipped", "temporary")} == {
        "matched": 2,
        "bounced": 2,
        "unmatched": 1,
        "skipped": 1,
        "temporary": 1,
    }
    rows = records(database_url, 1)
    assert {email: row.state for email, row in rows.items()} == {
        "reader0@example.com": "bounced",
        "reader1@example.com": "bounced",
        "reader2@example.com": "sent",
        "reader3@example.com": "sent",
    }
    assert rows["reader0@example.com"].reason.startswith("5.1.1 smtp; 550 5.1.1 Recipient")
    assert "No such user here" in rows["reader1@example.com"].reason
    assert [e.event for e in rows["reader0@example.com"].history] == ["sent", "bounced"]

    again = run(repo, database_url, "bounces", "import", str(path), "--json")
    assert (json.loads(again.stdout)["matched"], json.loads(again.stdout)["bounced"]) == (2, 0)
    assert len(records(database_url, 1)["reader0@example.com"].history) == 2

    listing = run(repo, database_url, "notices", POLICY)
    assert listing.returncode == 0, listing.stderr
    (line,) = [ln for ln in listing.stdout.splitlines() if ln.startswith("v1") and "reader1" in ln]
    assert "bounced" in line and "No such user here" in line
    assert "privacy v1 notice: 2 sent, 2 bounced" in listing.stdout
    proof = run(repo, database_url, "notices", POLICY, "--export", "json")
    data = json.loads(proof.stdout)
    bounced = [r for r in data["notices"] if r["state"] == "bounced"]
    assert sorted(r["email"] for r in bounced) == ["reader0@example.com", "reader1@example.com"]
    assert all(r["reason"] for r in bounced)
    with Store.open(database_url) as store:
        status = NoticeCounts(store.ledger_counts(POLICY, 1, "notice"))
    assert (status.sent, status.bounced, status.to_json()["bounced"]) == (2, 2, 2)


def test_a_maildir_of_bounces_makes_a_subscriber_undeliverable(tmp_path, repo, database_url):
    with Store.open(database_url) as store:
        add_subscribers(store, READERS)
    first, second = notify(tmp_path, database_url, 1), notify(tmp_path, database_url, 2)
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(postfix_dsn("reader3@example.com", first["reader3@example.com"]))
    assert run(repo, database_url, "bounces", "import", str(tmp_path / "Maildir")).returncode == 0
    listed = json.loads(run(repo, database_url, "subscribers", "list", "--json").stdout)
    assert all(entry["undeliverable_at"] is None for entry in listed)

    maildir.add(exim_bounce("reader3@example.com", second["reader3@example.com"]))
    result = run(repo, database_url, "bounces", "import", str(tmp_path / "Maildir"))
    assert result.returncode == 0, result.stderr
    assert "1 subscribers now undeliverable" in result.stdout
    listed = json.loads(run(repo, database_url, "subscribers", "list", "--json").stdout)
    gone = {entry["email"] for entry in listed if entry["undeliverable_at"] is not None}
    assert gone == {"reader3@example.com"}
    assert records(database_url, 2)["reader3@example.com"].state == "bounced"
    with Store.open(database_url) as store:
        assert store.queue_notices(POLICY, 3, "notice") == len(READERS) - 1
        assert store.count_unnotified(POLICY, 3, "notice") == len(READERS) - 1


def test_no_mailbox_is_an_input_error(tmp_path, repo, database_url):
    result = run(repo, database_url, "bounces", "import", str(tmp_path / "missing"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr
    (tmp_path / "plain").mkdir()
    result = run(repo, database_url, "bounces", "import", str(tmp_path / "plain"))
    assert result.returncode == 2 and "not a Maildir" in result.stderr


def test_only_delivery_status_notifications_are_bounces():
    assert parse_bounce(not_a_bounce()) is None
    delayed = parse_bounce(postfix_dsn("a@example.com", "<m@x>", action="delayed"))
    assert delayed is not None and (delayed.permanent, delayed.temporary) == (
        (),
        ("a@example.com",),
    )
