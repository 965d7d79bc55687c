"""What a subscriber reads: a real `redline notify` run over a real git repository to aiosmtpd on
loopback, one message per subscriber (with and without a name, in English, in the built-in
German and in a French translation from the repository's templates/), and what each says:
greeting, organization, the quoted changes and why they matter, the links to the redline and
the full text, the contact, the footer. The text and the HTML part say the same things."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from email_world import CONTACT, ORGANIZATION, SITE_URL, TODAY, email_repo, preview
from redline.ledger.checks import SubscriberInput
from redline.ledger.store import Store
from smtp_servers import running_server
from test_notify import redline

SENDER = 'from_address = "Northwind Legal <legal@northwind.example>"\n'
PAGE = f"{SITE_URL}/privacy-policy/2/"
SUBSCRIBERS = [
    ("ana@example.com", "Ana", None),
    ("bo@example.com", None, None),
    ("jurgen@example.com", "Jürgen", "de"),
    ("vienna@example.com", None, "de_AT"),
    ("zoe@example.com", "Zoé", "fr"),
    ("pt@example.com", "Rui", "pt_BR"),  # no Portuguese templates: the default
]
FRENCH = {
    "notice.fr.subject.j2": "Changements : {{ policy.title }}\n",
    "notice.fr.txt.j2": "Bonjour {{ subscriber.name or '' }},\n{{ effective_date | format_date }}\n"
    "{{ unsubscribe_url }}\n",
    "notice.fr.html.j2": "<p>Bonjour {{ subscriber.name or '' }},</p>"
    "<p>{{ effective_date | format_date }}</p><a href='{{ unsubscribe_url }}'>x</a>\n",
}


class _Visible(HTMLParser):
    """The words a reader sees in an HTML part, and its links; the masthead, the h1 (the
    subject again) and the hidden preheader are left out."""

    SKIPPED = frozenset({"title", "style", "h1"})

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.hrefs: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("href"):
            self.hrefs.append(attributes["href"])
        css = attributes.get("class") or ""
        if tag in self.SKIPPED or {"preheader", "masthead"} & set(css.split()) or self._skip:
            self._skip.append(tag)

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip:
            self.words += words(data)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", re.sub(r"(?:https?|mailto):\S+", " ", text))


def visible(page: str) -> _Visible:
    seen = _Visible()
    seen.feed(page)
    return seen


def parts(message) -> tuple[str, str]:
    text, page = (message.get_body((kind,)).get_content() for kind in ("plain", "html"))
    return text.replace("\r\n", "\n"), page.replace("\r\n", "\n")


@pytest.fixture
def sent(policy_repo, tag_release, database_url):
    """Every message of one real notify run of version 2, by recipient."""
    from email_world import CONFIG

    repo = email_repo(policy_repo, tag_release, CONFIG + SENDER)
    for name, source in FRENCH.items():
        repo.write(f"templates/{name}", source)
    with Store.open(database_url) as store:
        store.upsert_subscribers([SubscriberInput(*row) for row in SUBSCRIBERS])
    with running_server() as server:
        env = server.env(REDLINE_TODAY=TODAY)
        result = redline(repo, database_url, "notify", "privacy-policy", "--version", "2", **env)
    assert result.returncode == 0, result.stderr
    received = {m.rcpt_tos[0]: m.parsed() for m in server.handler.messages}
    assert sorted(received) == sorted(row[0] for row in SUBSCRIBERS)
    return received


def test_the_notice_greets_names_the_organization_and_says_what_changed(sent):
    for address, name, _locale in SUBSCRIBERS[:2]:
        text, page = parts(sent[address])
        greeting = f"Hello {name}," if name else "Hello,"
        assert text.startswith(greeting + "\n") and f">{greeting}</p>" in page
        flat = " ".join(text.split())
        assert f"{ORGANIZATION} is changing its Privacy Policy. Version 2 takes effect on" in flat
        assert "March 1, 2024, in 7 days." in flat
        assert (
            "- Section 5 (Data Retention): moved from after Section 4 (Security) to after " in flat
        )
        assert '"30 days" → "90 days"' in flat
        assert flat.count("moved from") == 1  # a moved section is said once
        assert "one paragraph changed" not in flat and "Changed sections" not in flat
        assert "Why this is a material change: words changed in 4 sections; section moved" in flat
        assert f"See exactly what changed: {PAGE}#redline" in flat
        assert f"Read the full new text: {PAGE}#text" in flat
        assert f"Questions? Write to {CONTACT}" in flat
        assert (
            "You are receiving this because you subscribed to updates of "
            f"{ORGANIZATION}’s Privacy Policy." in flat
        )
        assert "changes of our policies" not in flat + page
        assert f'href="{PAGE}#redline"' in page and f'href="{PAGE}#text"' in page
        assert f'href="mailto:{CONTACT}"' in page
        assert sent[address]["Subject"] == (
            f"Changes to {ORGANIZATION}’s Privacy Policy, effective March 1, 2024"
        )


@pytest.mark.parametrize("address", [row[0] for row in SUBSCRIBERS if row[2] != "fr"])
def test_the_text_and_the_html_part_say_the_same(sent, address):
    text, page = parts(sent[address])
    seen = visible(page)
    assert words(text) == seen.words
    links = set(re.findall(r"https?://[^\s\"]+$", text, re.M))  # links end their line
    assert links == {href for href in seen.hrefs if not href.startswith("mailto:")}
    assert len(links) == 3  # the redline, the full text, the recipient's unsubscribe link
    unsubscribe = sent[address]["List-Unsubscribe"].strip("<>")
    assert unsubscribe in links


def test_each_subscriber_gets_the_copy_of_their_locale(sent):
    jurgen, vienna = sent["jurgen@example.com"], sent["vienna@example.com"]
    assert jurgen["Subject"] == (
        f"Änderungen an „Privacy Policy“ von {ORGANIZATION}, gültig ab 1. März 2024"
    )
    text, page = parts(jurgen)
    assert text.startswith("Hallo Jürgen,\n") and '<html lang="de" dir="ltr">' in page
    assert "Version 2 gilt ab 1. März 2024, in 7 Tagen." in " ".join(text.split())
    assert parts(vienna)[0].startswith("Guten Tag,\n")  # de_AT reads the de templates
    text, page = parts(sent["zoe@example.com"])  # the repository's own translation
    assert sent["zoe@example.com"]["Subject"] == "Changements : Privacy Policy"
    assert text.startswith("Bonjour Zoé,\n1 mars 2024\n") and "<p>Bonjour Zoé,</p>" in page
    rui = sent["pt@example.com"]
    assert parts(rui)[0].startswith("Hello Rui,\n")  # no Portuguese templates: the default
    assert rui["Subject"] == sent["ana@example.com"]["Subject"]
    assert '<html lang="en" dir="ltr">' in parts(rui)[1]


def test_without_site_url_or_organization_the_email_says_nothing_misleading(
    policy_repo, tag_release, tmp_path
):
    from email_world import preview

    repo = email_repo(policy_repo, tag_release, 'contact = "https://northwind.example/help"\n')
    files = preview(repo, tmp_path / "mail")
    text = files["notice"]["txt"].read_text(encoding="utf-8")
    page = files["notice"]["html"].read_text(encoding="utf-8")
    flat = " ".join(text.split())
    assert "We are changing our Privacy Policy." in flat
    assert "subscribed to updates of our Privacy Policy." in flat
    assert "#redline" not in text + page and "#text" not in text + page
    assert "See exactly what changed" not in flat
    assert "To read the full new text, contact https://northwind.example/help." in flat
    assert "Questions? Contact https://northwind.example/help" in flat
    assert 'href="https://northwind.example/help"' in page
    assert words(text) == visible(page).words


def test_what_changed_in_words_is_quoted_before_blocks_only_reformatted():
    from redline.compare.engine import diff_documents
    from redline.document.model import parse_document
    from redline.publish.prose import section_quotes

    items = ["Posts you create", "Comments you write", "Photos you share", "Hashtags you use"]
    old = "# Privacy\n\n## 1. What we collect\n\n" + "".join(f"* {i}\n" for i in items)
    new = old.replace("create\n", "create.\n").replace("write\n", "write.\n")
    new = new.replace("share\n", "share.\n") + "* Your chats with our assistant\n"
    diff = diff_documents(parse_document(old), parse_document(new))
    (section,) = [s for s in diff.sections if s.status != "unchanged"]
    assert list(map(str, section_quotes(section))) == [
        'new list item "Your chats with our assistant"',
        "list item reformatted",
        "two more changes",
    ]


def test_a_first_version_is_published_not_changed(policy_repo, tag_release, tmp_path):

    repo = email_repo(policy_repo, tag_release)
    notice = preview(repo, tmp_path / "mail", version=1, today="2024-01-01")["notice"]
    text = notice["txt"].read_text(encoding="utf-8")
    page = notice["html"].read_text(encoding="utf-8")
    flat = " ".join(text.split())
    assert f"{ORGANIZATION} is publishing its Privacy Policy. It takes effect on" in flat
    assert f"If you use the services of {ORGANIZATION} on or after" in flat
    assert "changing" not in flat and "#redline" not in text + page
    assert f"Read the full new text: {SITE_URL}/privacy-policy/1/#text" in flat
    assert words(text) == visible(page).words


def test_a_summary_people_wrote_leads_and_the_changes_follow(policy_repo, tag_release, tmp_path):
    from moved_world import POLICY

    repo = email_repo(policy_repo, tag_release)
    repo.write(POLICY, (repo.root / POLICY).read_text().replace("90 days", "120 days"))
    repo.commit("Longer retention")
    summary = "We keep flight logs <longer> & tell you why."
    tag_release(repo, "privacy-policy", 3, "2024-04-01", summary=summary)
    notice = preview(repo, tmp_path / "mail", version=3, today="2024-03-02")["notice"]
    text = notice["txt"].read_text(encoding="utf-8")
    page = notice["html"].read_text(encoding="utf-8")
    flat = " ".join(text.split())
    assert f"In short: {summary} What changes" in flat
    assert '- Section 5 (Data Retention): "90 days" → "120 days"' in flat
    assert "We keep flight logs &lt;longer&gt; &amp; tell you why." in page
    assert words(text) == visible(page).words


def test_a_long_list_of_quotes_keeps_the_html_part_unencoded(policy_repo, tag_release, tmp_path):
    from email import message_from_bytes
    from email import policy as email_policy

    from moved_world import POLICY

    repo = email_repo(policy_repo, tag_release)
    links = [f"https://example.com/{n}?entry_point=" + "POLICY_SECTION%3A" * 30 for n in range(2)]
    two = " ".join(f"See [part {n}](https://example.com/{n})." for n in range(2))
    text = (repo.root / POLICY).read_text()
    text = text.replace("We share data with our hosting partner.", two)
    repo.write(POLICY, text)
    repo.commit("Two links")
    tag_release(repo, "privacy-policy", 3, "2024-04-01", when="2024-03-01T09:00:00+00:00")
    for n, link in enumerate(links):
        text = text.replace(f"(https://example.com/{n})", f"({link})")
    repo.write(POLICY, text)
    repo.commit("Two long links")
    tag_release(repo, "privacy-policy", 4, "2024-05-01", when="2024-04-01T09:00:00+00:00")
    notice = preview(repo, tmp_path / "mail", version=4, today="2024-04-02")["notice"]
    data = notice["eml"].read_bytes()
    message = message_from_bytes(data, policy=email_policy.default)
    page = message.get_body(("html",))
    # addresses too long to quote are counted, not quoted
    shown = " ".join(visible(page.get_content()).words)
    assert "Section 3 Sharing two links addresses changed" in shown
    assert not any(link in page.get_content() for link in links)
    # 8bit, not quoted-printable: each recipient's copy is filled in from the notice's template
    assert page["Content-Transfer-Encoding"] == "8bit"
