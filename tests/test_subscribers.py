"""CSV import, unsubscribe tokens and links, listings and proof exports (real databases)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import stat

import pytest

from redline.config import Settings
from redline.env import Environment
from redline.errors import ConfigError, InputError
from redline.ledger.csv_import import import_csv
from redline.ledger.proof import FIELDS, export_notices
from redline.ledger.store import Store
from redline.ledger.subscribers import (
    ENV_SECRET,
    make_subscriber,
    make_token,
    read_token,
    resolve_target,
    unsubscribe_link,
    write_subscribers,
)

SECRET = "a-test-secret-of-32-characters!!"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def store(database_url):
    with Store.open(database_url) as opened:
        yield opened


@pytest.fixture
def env() -> Environment:
    """A run's environment with the signing key."""
    return Environment({ENV_SECRET: SECRET})


def write_csv(tmp_path, text: str, name: str = "subscribers.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


MIXED = (
    "email,name,locale,policies\n"  # line 1
    "ann@Example.com,Ann,de,\n"  # 2 ok
    "not-an-address,Bob,,\n"  # 3 bad address
    'cat@example.com,"Cat\r\nBcc: everyone@example.com",,\n'  # 4-5 header injection
    "ANN@example.COM,Ann again,,\n"  # 6 same as line 2 (case is ignored)
    "ann@EXAMPLE.COM,Ann twice,,\n"  # 7 same as line 2 (domain case)
    "\n"  # 8 blank: ignored
    "dee@example.com,Dee,xx-YY,\n"  # 9 unknown locale
    "eve@example.com,Eve,pt-BR,privacy-policy terms\n"  # 10 ok
    "fay@example.com,Fay,,privacy-policy,extra\n"  # 11 too many fields
    'gus@example.com,"Gus ""the"" Great",,terms\n'  # 12 ok
    "hal@example.com,Hal\x00,,\n"  # 13 NUL in name
    "ida@example.com,Ida,,privacy,terms\n"  # 14 too many fields
    ",Nobody,,\n"  # 15 no address
)


def test_import_reports_bad_rows_by_line_and_keeps_the_good(store, tmp_path):
    report = import_csv(store, write_csv(tmp_path, MIXED))
    skipped = {row.line: row.reason for row in report.skipped}
    assert set(skipped) == {3, 4, 6, 7, 9, 11, 13, 14, 15}
    assert "not a valid email address" in skipped[3]
    assert skipped[6] == "same address as line 2"
    assert "header injection" in skipped[4]
    assert skipped[7] == "same address as line 2"
    assert "unknown locale 'xx-YY'" in skipped[9]
    assert skipped[11] == "has 5 fields, the header has 4"
    assert "header injection" in skipped[13]
    assert skipped[15] == "email is empty"
    assert (report.added, report.updated, report.unchanged, report.rows) == (3, 0, 0, 12)
    emails = [s.email for s in store.iter_subscribers()]
    assert emails == ["ann@example.com", "eve@example.com", "gus@example.com"]
    eve = store.get_subscriber("eve@example.com")
    assert (eve.locale, eve.policies) == ("pt_BR", ("privacy-policy", "terms"))
    assert store.get_subscriber("gus@example.com").name == 'Gus "the" Great'
    assert store.get_subscriber("ann@example.com").policies is None
    assert "@" not in json.dumps([row.reason for row in report.skipped]).replace("@-sign", ""), (
        "skip reasons must not repeat addresses"
    )


def test_reimporting_the_same_file_changes_nothing(store, tmp_path):
    path = write_csv(tmp_path, MIXED)
    import_csv(store, path)
    before = [(s.email, s.name, s.locale, s.policies, s.updated) for s in store.iter_subscribers()]
    again = import_csv(store, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    after = [(s.email, s.name, s.locale, s.policies, s.updated) for s in store.iter_subscribers()]
    assert after == before


def test_import_updates_changed_rows(store, tmp_path):
    import_csv(store, write_csv(tmp_path, "email,name\nann@example.com,Ann\nbob@example.com,Bob\n"))
    changed = "email,name,policies\nann@example.com,Ann,terms\nbob@example.com,Bob,\n"
    report = import_csv(store, write_csv(tmp_path, changed))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    assert store.get_subscriber("ann@example.com").policies == ("terms",)


def test_import_never_resubscribes_unless_asked(store, tmp_path):
    path = write_csv(tmp_path, "email\nann@example.com\n")
    import_csv(store, path)
    store.unsubscribe("ann@example.com")
    import_csv(store, path)
    assert not store.get_subscriber("ann@example.com").active
    assert import_csv(store, path, resubscribe=True).updated == 1
    assert store.get_subscriber("ann@example.com").active


def test_import_checks_policies_against_known_ones(store, tmp_path):
    path = write_csv(
        tmp_path,
        "email,policies\na@example.com,privacy-policy\nb@example.com,privcy\nc@example.com,a,b\n",
    )
    known = {"privacy-policy": "privacy-policy", "terms": "terms"}
    report = import_csv(store, path, known_policies=known)
    assert [(row.line, row.reason.split(" (")[0]) for row in report.skipped] == [
        (3, "unknown policy 'privcy'"),
        (4, "has 3 fields, the header has 2"),
    ]
    assert store.count_subscribers() == 1


def test_import_with_comma_separated_slugs_explains_the_format(store, tmp_path):
    report = import_csv(store, write_csv(tmp_path, 'email,policies\na@example.com,"x,y"\n'))
    assert "separate several with spaces" in report.skipped[0].reason


def test_import_of_many_rows_in_batches(store, tmp_path):
    rows = "".join(f"user{i}@example.org,User {i}\n" for i in range(1234))
    report = import_csv(store, write_csv(tmp_path, "email,name\n" + rows))
    assert report.added == 1234
    assert store.count_subscribers() == 1234


def test_import_handles_bom_semicolons_crlf_and_extra_columns(store, tmp_path):
    text = "\ufeffEmail;Name;Company\r\nann@example.com;Ann;ACME\r\nbob@example.com;Bob;\r\n"
    report = import_csv(store, write_csv(tmp_path, text))
    assert (report.added, report.skipped, report.ignored_columns) == (2, [], ("company",))
    assert store.get_subscriber("ann@example.com").name == "Ann"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"name,locale\nAnn,de\n", ":1: the header row has no 'email' column"),
        (b"email,email\na@example.com,b@example.com\n", "repeated column 'email'"),
        (b"email,name\nann@example.com,Ann\nbob@example.com,B\xf6b\n", ":3: not UTF-8 text"),
    ],
)
def test_unusable_files_are_refused_as_a_whole(store, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(message)):
        import_csv(store, path)
    assert store.count_subscribers() == 0


def test_missing_file_and_directory(store, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        import_csv(store, tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        import_csv(store, tmp_path)


def test_make_subscriber_validates_every_field():
    item = make_subscriber(" Ann@EXAMPLE.org ", "  Ann  ", "en-gb", "terms privacy terms")
    assert (item.email, item.name, item.locale, item.policies) == (
        "Ann@example.org",
        "Ann",
        "en_GB",
        ("privacy", "terms"),
    )
    assert make_subscriber("a@example.org", "", "", "").policies is None
    for bad in ("a@localhost", "Ann <a@example.org>", "a@@example.org", "a@example..org"):
        with pytest.raises(InputError, match="not a valid email address"):
            make_subscriber(bad)
    with pytest.raises(InputError, match="header injection"):
        make_subscriber("a@example.org", "Ann\u2028Bcc: x@example.org")


# -- tokens and links --------------------------------------------------------------------------


def test_tokens_round_trip_through_the_store(env, store):
    store.upsert_subscriber("Ann@EXAMPLE.org")
    ann = store.get_subscriber("Ann@example.org")
    token = make_token("Ann@EXAMPLE.org", ann.id, env=env)
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token)
    assert read_token(token, env=env)[0] == ann.id
    assert resolve_target(store, token, env=env) == "Ann@example.org"
    assert resolve_target(store, " ann@EXAMPLE.org ", env=env) == "ann@example.org"


def test_tokens_do_not_expose_the_address(env, store):
    """Defect: the token was the address in readable base64."""
    store.upsert_subscriber("ann.private@example.org")
    ann = store.get_subscriber("ann.private@example.org")
    token = make_token(ann.email, ann.id, env=env)
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"ann" not in decoded.lower() and b"example" not in decoded.lower()
    # A later subscriber who gets the same id is not named by the old token.
    store.remove_subscriber(ann.email)
    store.upsert_subscriber("zed@example.org")
    zed = store.get_subscriber("zed@example.org")
    token_for_id = make_token("ann.private@example.org", zed.id, env=env)
    with pytest.raises(InputError, match="names no current subscriber"):
        resolve_target(store, token_for_id, env=env)
    with pytest.raises(InputError, match="does not name a subscriber"):
        resolve_target(store, make_token("probe@example.com", None, env=env), env=env)


def test_tokens_of_the_first_format_still_work(env, store):
    from itsdangerous import URLSafeSerializer

    store.upsert_subscriber("ann@example.org")
    old = URLSafeSerializer(
        SECRET, salt="redline.unsubscribe.v1", signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps("ann@example.org")
    assert resolve_target(store, old, env=env) == "ann@example.org"


def test_altered_tokens_are_refused(env):
    token = make_token("ann@example.org", 7, env=env)
    _, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(b'[8, "x"]').rstrip(b"=").decode()
    for bad in (token[:-2], forged_payload + "." + signature, "garbage", ""):
        with pytest.raises(InputError, match="token is not valid") as caught:
            read_token(bad, env=env)
        assert signature not in str(caught.value)
    other = Environment({ENV_SECRET: "another-secret-of-enough-length"})
    with pytest.raises(InputError, match="different REDLINE_SECRET"):
        read_token(token, env=other)


def test_tokens_need_a_long_enough_secret():
    with pytest.raises(InputError, match="REDLINE_SECRET is not set"):
        make_token("ann@example.org", 1, env=Environment())
    with pytest.raises(InputError, match="too short") as caught:
        read_token("x.y", env=Environment({ENV_SECRET: "short"}))
    assert "short" not in str(caught.value).replace("too short", "")


def test_unsubscribe_link_fills_the_configured_url(env):
    assert unsubscribe_link(Settings(), "ann@example.org") is None
    settings = Settings(unsubscribe_url="https://example.com/unsub?token={token}&v=1", env=env)
    link = unsubscribe_link(settings, "ann@example.org", 3)
    assert link.startswith("https://example.com/unsub?token=") and link.endswith("&v=1")
    token = link.split("token=")[1].split("&")[0]
    assert read_token(token, env=env)[0] == 3
    with pytest.raises(ConfigError, match=re.escape("no {token} placeholder")):
        unsubscribe_link(Settings(unsubscribe_url="https://example.com/unsub"), "a@example.org")
    with pytest.raises(ConfigError, match="not an http"):
        unsubscribe_link(Settings(unsubscribe_url="ftp://x/{token}"), "a@example.org")
    for bad in ("https://x/?t={token}\r\nBcc: a@b", "https://x/=?utf-8?q?a?={token}"):
        with pytest.raises(ConfigError, match="header injection"):
            unsubscribe_link(Settings(unsubscribe_url=bad), "a@example.org")
    with pytest.raises(ConfigError, match="white space"):
        unsubscribe_link(Settings(unsubscribe_url="https://x/u ?t={token}"), "a@example.org")


# -- listings ----------------------------------------------------------------------------------


def test_write_subscribers_text_and_json(store):
    store.upsert_subscriber("ann@example.com", "Ann", "de")
    store.upsert_subscriber("bob@example.com", None, None, ["terms"])
    store.upsert_subscriber("cy@example.com")
    store.unsubscribe("cy@example.com")
    text = io.StringIO()
    assert write_subscribers(store, text) == 2
    lines = text.getvalue().splitlines()
    assert lines[0].split("\t") == [
        "EMAIL",
        "NAME",
        "LOCALE",
        "POLICIES",
        "SUBSCRIBED",
        "UNSUBSCRIBED",
    ]
    assert lines[1].split("\t")[:4] == ["ann@example.com", "Ann", "de", "all"]
    assert lines[2].split("\t")[:4] == ["bob@example.com", "-", "-", "terms"]
    data = io.StringIO()
    assert write_subscribers(store, data, as_json=True, include_unsubscribed=True) == 3
    parsed = json.loads(data.getvalue())
    assert [entry["email"] for entry in parsed] == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    assert parsed[0]["policies"] is None and parsed[1]["policies"] == ["terms"]
    assert ISO_UTC.match(parsed[2]["unsubscribed_at"])
    privacy = io.StringIO()
    assert write_subscribers(store, privacy, as_json=True, policy="privacy") == 1  # ann: all
    assert [entry["email"] for entry in json.loads(privacy.getvalue())] == ["ann@example.com"]
    store.remove_subscriber("ann@example.com")
    empty = io.StringIO()
    assert write_subscribers(store, empty, as_json=True, policy="privacy") == 0
    assert json.loads(empty.getvalue()) == []


# -- proof of notice ---------------------------------------------------------------------------


def sent_ledger(store: Store) -> None:
    """privacy v1: ann sent, bob failed for good, cy cancelled; v2 reminder: pending."""
    for email in ("ann@example.com", "bob@example.com", "cy@example.com"):
        store.upsert_subscriber(email)
    store.queue_notices("privacy", 1, "notice")
    store.unsubscribe("cy@example.com")
    ann, bob = store.claim_batch("privacy", 1, "notice", 10)
    store.mark_sent(
        ann.id, message_id="<v1.ann@redline>", smtp_code=250, smtp_message="2.0.0 Ok: queued"
    )
    store.mark_failed(bob.id, permanent=True, smtp_code=550, smtp_message="5.1.1 no such user")
    store.queue_notices("privacy", 2, "reminder")
    store.remove_subscriber("ann@example.com")


def test_export_csv_is_evidence(store, tmp_path):
    sent_ledger(store)
    out = io.StringIO(newline="")
    summary = export_notices(store, "privacy", fmt="csv", out=out)
    assert summary.records == 5
    first, rest = out.getvalue().split("\r\n", 1)
    assert first.startswith("# redline proof of notice; policy privacy; all versions")
    assert re.search(r"exported \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by redline ", first)
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert list(rows[0]) == list(FIELDS)
    by_key = {(row["version"], row["kind"], row["email"]): row for row in rows}
    ann = by_key[("1", "notice", "ann@example.com")]
    assert (ann["state"], ann["attempts"], ann["message_id"]) == ("sent", "1", "<v1.ann@redline>")
    assert (ann["smtp_code"], ann["smtp_reply"], ann["subscriber_id"]) == (
        "250",
        "2.0.0 Ok: queued",
        "",
    )
    for column in ("queued_at", "claimed_at", "sent_at", "updated_at"):
        assert ISO_UTC.match(ann[column]), column
    bob = by_key[("1", "notice", "bob@example.com")]
    assert (bob["state"], bob["smtp_code"], bob["sent_at"]) == ("failed-permanent", "550", "")
    cy = by_key[("1", "notice", "cy@example.com")]
    assert (cy["state"], cy["reason"], cy["attempts"]) == ("cancelled", "unsubscribed", "0")
    assert {row["state"] for row in rows if row["version"] == "2"} == {"pending"}


def test_export_json_streams_metadata_records_and_counts(store, tmp_path):
    sent_ledger(store)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "proof.json"
    summary = export_notices(store, "privacy", version=1, kind="notice", fmt="json", path=path)
    assert summary.records == 3
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["export"]["policy"] == "privacy"
    assert (data["export"]["version"], data["export"]["kind"]) == (1, "notice")
    assert ISO_UTC.match(data["export"]["exported_at"])
    assert data["export"]["database"] == store.dialect
    assert [n["email"] for n in data["notices"]] == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    (group,) = data["summary"]["groups"]
    assert group["counts"]["sent"] == 1 and group["counts"]["failed-permanent"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # subscriber addresses: owner only
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_export_of_nothing_is_still_valid(store, tmp_path):
    out = io.StringIO()
    assert export_notices(store, "privacy", fmt="json", out=out).records == 0
    assert json.loads(out.getvalue())["notices"] == []
    text = io.StringIO()
    export_notices(store, "privacy", out=text)
    assert text.getvalue().splitlines()[-1] == "no notices recorded for privacy"


def test_text_listing(store):
    sent_ledger(store)
    out = io.StringIO()
    export_notices(store, "privacy", out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("redline proof of notice; policy privacy")
    ann = next(line for line in lines if "ann@example.com" in line)
    assert "sent" in ann and "<v1.ann@redline>" in ann and "250 2.0.0 Ok: queued" in ann
    assert lines[-2:] == [
        "privacy v1 notice: 1 sent, 1 failed-permanent, 1 cancelled",
        "privacy v2 reminder: 2 pending",
    ]


def test_export_csv_neutralises_formulas_and_shows_the_history(store):
    """Defect: a cell such as '=1+1@example.com' ran as a formula in a spreadsheet."""
    for email in ("=1+1@example.com", "+cmd@example.com", "-x@example.com", "ann@example.com"):
        store.upsert_subscriber(email)
    store.queue_notices("privacy", 1, "notice")
    tasks = {t.email: t for t in store.claim_batch("privacy", 1, "notice", 10)}
    store.mark_done(
        tasks["ann@example.com"].id, "pending", smtp_code=530, smtp_message="=HYPERLINK(1)"
    )
    out = io.StringIO(newline="")
    export_notices(store, "privacy", fmt="csv", out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().split("\r\n", 1)[1])))
    emails = sorted(row["email"] for row in rows)
    assert emails == [
        "'+cmd@example.com",
        "'-x@example.com",
        "'=1+1@example.com",
        "ann@example.com",
    ]
    ann = next(row for row in rows if row["email"] == "ann@example.com")
    assert ann["smtp_reply"] == "'=HYPERLINK(1)"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ deferred 530 =HYPERLINK\(1\)", ann["history"]
    )
    data = io.StringIO()
    export_notices(store, "privacy", fmt="json", out=data)
    (record,) = [
        n for n in json.loads(data.getvalue())["notices"] if n["email"] == "ann@example.com"
    ]
    assert [(e["event"], e["smtp_code"]) for e in record["history"]] == [("deferred", 530)]
    assert record["state"] == "pending"
