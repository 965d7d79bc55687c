"""Templates and notice rendering: defaults, overrides, the sandbox, escaping, summaries."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest

from conftest import redline_process as run_cli
from redline.errors import ConfigError, TemplateError
from redline.md import md_escape
from redline.publish.filters import reflow, rfc3339
from redline.publish.notice import (
    UNSUBSCRIBE_PLACEHOLDER,
    NoticeContext,
    RenderedNotice,
    build_notice_context,
    render_notice,
)
from redline.publish.prose import generate_summary
from redline.publish.templates import Templates, packaged_templates_dir

TODAY = dt.date(2024, 2, 1)
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


def notice_context(repo, version: int = 2, **settings) -> tuple[NoticeContext, object]:
    from redline.history.repo import PolicyRepo
    from redline.publish.changelog import release_diff

    config = repo.settings(**settings)
    policies = PolicyRepo(config)
    policy = policies.resolve("privacy-policy")
    release = next(r for r in policies.releases(policy) if r.version == version)
    diff = release_diff(policies, policy, release)
    context = build_notice_context(policies, policy, release, diff, config, today=TODAY)
    return context, config


# -- default templates ----------------------------------------------------------------------


def test_default_notice_has_subject_text_and_inlined_html(released_repo):
    context, settings = notice_context(released_repo, site_url="https://policies.example.com")
    notice = render_notice(Templates(settings), context, "notice")

    assert isinstance(notice, RenderedNotice)
    assert notice.subject == "Changes to our Privacy Policy, effective March 1, 2024"
    assert "takes effect on March 1, 2024, in 29 days." in " ".join(notice.text.split())
    summary = (
        'Section 7 (Transfer of Data): added "and in Switzerland"; '
        'Section 13 (Service Providers): new paragraph "Every service provider signs a data '
        'processing agreement …".'
    )
    assert context.summary == summary  # the effective-date line is not a change to report
    flat = " ".join(notice.text.split())
    assert '- Section 7 (Transfer of Data): added "and in Switzerland"' in flat
    assert (
        '- Section 13 (Service Providers): new paragraph "Every service provider signs a data '
        'processing agreement …"' in flat
    )
    assert "https://policies.example.com/privacy-policy/2/#redline" in notice.text
    assert UNSUBSCRIBE_PLACEHOLDER in notice.text
    assert UNSUBSCRIBE_PLACEHOLDER in notice.html
    # Genuine plain text: no tags, no <br>, no entities; lines fit a mail reader.
    assert not HTML_TAG.search(notice.text)
    assert "&amp;" not in notice.text and "&#" not in notice.text
    assert max(len(line) for line in notice.text.splitlines()) <= 76
    # HTML: CSS inlined, only the phone's @media rules left in <style>, no images needed,
    # the link to the redline.
    leftover = re.findall(r"<style>(.*?)</style>", notice.html, re.S)
    assert [block.strip()[:6] for block in leftover] == ["@media"]
    assert 'style="' in notice.html
    assert "<img" not in notice.html
    assert 'href="https://policies.example.com/privacy-policy/2/#redline"' in notice.html
    flat_html = " ".join(notice.html.split())
    assert 'Section 7 (Transfer of Data)</span>: added "and in Switzerland"' in flat_html
    assert "Section 13 (Service Providers)" in notice.html


@pytest.mark.parametrize(
    ("kind", "subject", "phrase"),
    [
        ("reminder", "Reminder: our Privacy Policy changes on March 1, 2024", "A reminder"),
        ("in-effect", "Our updated Privacy Policy is now in effect", "is now in effect"),
    ],
)
def test_reminder_and_in_effect_variants(released_repo, kind, subject, phrase):
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context, kind)
    assert notice.subject == subject
    assert phrase in notice.text
    assert phrase in notice.html
    assert not HTML_TAG.search(notice.text)


def test_unknown_kind_is_refused(released_repo):
    context, settings = notice_context(released_repo)
    with pytest.raises(Exception, match="unknown notice kind 'digest'"):
        render_notice(Templates(settings), context, "digest")


def test_first_release_without_diff(released_repo):
    context, settings = notice_context(released_repo, version=1)
    assert context.summary == "First published version."
    assert context.sections == ()
    notice = render_notice(Templates(settings), context)
    assert "Changed sections" not in notice.text


def test_compare_link_when_origin_is_on_github(released_repo):
    released_repo.git("remote", "add", "origin", "https://github.com/northwind/policies.git")
    context, _settings = notice_context(released_repo)
    expected = "https://github.com/northwind/policies/compare/privacy-policy/v1...privacy-policy/v2"
    assert context.links.compare == expected
    assert context.links.redline == expected  # no site_url: the compare view is the redline
    context, _settings = notice_context(released_repo, site_url="https://p.example.com/")
    assert context.links.redline == "https://p.example.com/privacy-policy/2/#redline"
    assert context.links.compare == expected


# -- escaping -----------------------------------------------------------------------------


def test_script_in_policy_text_is_escaped_in_the_email(released_repo, tag_release):
    text = (released_repo.root / "policies/privacy-policy.md").read_text()
    released_repo.write(
        "policies/privacy-policy.md",
        text.replace("# Privacy Policy", "# Privacy Policy & Cookies")
        + "\nWe never run <script>alert('x')</script> in your browser.\n",
    )
    released_repo.commit("Cookies")
    tag_release(
        released_repo,
        "privacy-policy",
        3,
        "2024-04-01",
        summary="We no longer run <script>alert('x')</script> & tracking.",
    )
    context, settings = notice_context(released_repo, version=3)
    notice = render_notice(Templates(settings), context)
    assert "<script" not in notice.html
    assert "&lt;script&gt;alert(" in notice.html
    assert "Privacy Policy &amp; Cookies" in notice.html
    assert "&amp; tracking" in notice.html
    # The plain-text part shows the policy's words as they are: it is not HTML.
    assert "<script>alert('x')</script> & tracking" in notice.text
    assert "&amp;" not in notice.text


# -- overrides and errors -----------------------------------------------------------------


def test_override_one_template_keeps_the_others(released_repo):
    released_repo.write(
        "templates/notice.subject.j2", "[{{ policy.slug }} v{{ version }}] {{ summary[:20] }}\n"
    )
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context)
    assert notice.subject == "[privacy-policy v2] Section 7 (Transfer"
    assert "What changes" in notice.text  # the built-in text template is still used


def test_override_can_extend_the_builtin_template(released_repo):
    released_repo.write(
        "templates/notice.txt.j2",
        '{% extends "default/notice.txt.j2" %}\n{% block greeting %}Dear customer,{% endblock %}\n',
    )
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context)
    assert notice.text.startswith("Dear customer,\n")
    assert UNSUBSCRIBE_PLACEHOLDER in notice.text


def test_configured_templates_dir(released_repo):
    released_repo.write("mail/notice.subject.j2", "Policy news: {{ policy.title }}")
    context, settings = notice_context(released_repo, templates_dir="mail")
    assert render_notice(Templates(settings), context).subject == "Policy news: Privacy Policy"
    with pytest.raises(ConfigError, match="templates_dir 'nowhere' is not a directory"):
        Templates(released_repo.settings(templates_dir="nowhere"))


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ policy.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_escape_is_refused(released_repo, source):
    released_repo.write("templates/notice.subject.j2", "Subject\n" + source + "\n")
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError) as caught:
        render_notice(Templates(settings), context)
    message = str(caught.value)
    assert message.startswith("templates/notice.subject.j2:2: unsafe template operation refused")


def test_sandbox_escape_via_cli_is_one_clear_error(released_repo):
    released_repo.write("templates/notice.html.j2", "<p>{{ ''.__class__.__mro__ }}</p>")
    result = run_cli(released_repo, "preview-email", "privacy-policy", "--version", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "redline: error: templates/notice.html.j2:1: unsafe template operation refused"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("line one\n{% if %}\n", "templates/notice.subject.j2:2: template syntax error"),
        ("a\nb\n{{ no_such_name }}\n", "templates/notice.subject.j2:3: template error: "),
        ("{{ version / 0 }}", "templates/notice.subject.j2:1: template error: ZeroDivisionError"),
        ('{% include "missing.j2" %}', "template 'missing.j2' not found"),
    ],
)
def test_template_errors_name_file_and_line(released_repo, source, expected):
    released_repo.write("templates/notice.subject.j2", source)
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError) as caught:
        render_notice(Templates(settings), context)
    assert str(caught.value).startswith(expected)


def test_error_in_builtin_template_reached_from_override(released_repo):
    released_repo.write(
        "templates/_email.txt.j2", "{% block intro %}{% endblock %}\n{{ missing_var }}\n"
    )
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError, match=r"^templates/_email\.txt\.j2:2: template error"):
        render_notice(Templates(settings), context)


def test_template_linking_outside_its_directory_is_refused(released_repo, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SMTP_PASSWORD=hunter2")
    (released_repo.root / "templates").mkdir()
    (released_repo.root / "templates/notice.subject.j2").symlink_to(secret)
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError) as caught:
        render_notice(Templates(settings), context)
    assert str(caught.value).startswith(
        "templates/notice.subject.j2: links to a file outside templates/"
    )
    assert "hunter2" not in str(caught.value)


def test_notice_without_unsubscribe_link_is_refused(released_repo):
    released_repo.write("templates/notice.txt.j2", "Version {{ version }} is coming.\n")
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError, match=r"notice\.txt\.j2: the notice has no unsubscribe link"):
        render_notice(Templates(settings), context)


def test_autoescape_follows_the_name_before_j2(released_repo):
    templates = Templates(released_repo.settings())
    env = templates.env
    for name, escaped in [
        ("x.html.j2", True),
        ("x.atom.j2", True),
        ("x.xml.j2", True),
        ("x.txt.j2", False),
        ("x.md.j2", False),
        ("x.subject.j2", False),
    ]:
        assert env.autoescape(name) is escaped, name


def test_builtin_templates_are_found_and_complete():
    directory = packaged_templates_dir()
    for kind in ("notice", "reminder", "in-effect"):
        for part in ("subject", "txt", "html"):
            assert (directory / f"{kind}.{part}.j2").is_file()
    for name in ("changelog.md.j2", "changelog-entry.md.j2", "feed.atom.j2"):
        assert (directory / name).is_file()


# -- filters and generated summaries --------------------------------------------------------


def test_filters():
    assert md_escape("a <b> [c](d) | e") == r"a \<b\> \[c\](d) \| e"
    assert md_escape("<x> [y]", html_only=True) == r"\<x\> [y]"
    assert rfc3339(dt.date(2024, 3, 1)) == "2024-03-01T00:00:00Z"
    tz = dt.timezone(dt.timedelta(hours=2))
    assert rfc3339(dt.datetime(2024, 3, 1, 12, 0, tzinfo=tz)) == "2024-03-01T10:00:00Z"
    wrapped = reflow("word " * 30 + "https://example.com/" + "x" * 80, 40)
    assert all(len(line) <= 40 for line in wrapped.splitlines()[:-1])
    assert wrapped.splitlines()[-1] == "https://example.com/" + "x" * 80
    assert reflow("intro\n\n- one\n- two two", 10, "", "") == "intro\n\n- one\n- two two"


def test_format_date_follows_locale(released_repo):
    context, settings = notice_context(released_repo, locale="de")
    notice = render_notice(Templates(settings), context)
    assert "1. März 2024" in notice.subject
    assert 'lang="de"' in notice.html


def _diff(old: str, new: str):
    from redline.compare.engine import diff_documents
    from redline.document.model import parse_document

    return diff_documents(parse_document(old), parse_document(new), policy="p")


BASE = """\
# Policy

Effective date: 01/01/2024

## 5. Retention

We keep data for one year.

## 7. Transfer of Data

We may transfer data abroad.

We use safeguards.

## 13. Service Providers

We use service providers.

## 14. Contact

Write to us.
"""


def test_generated_summary_reads_like_a_person_wrote_it():
    new = BASE.replace("transfer data abroad", "transfer data to Canada").replace(
        "We use service providers.", "We use service providers.\n\nThey sign agreements."
    )
    assert generate_summary(_diff(BASE, new)) == (
        'Section 7 (Transfer of Data): "data abroad" → "data to Canada"; '
        'Section 13 (Service Providers): new paragraph "They sign agreements.".'
    )


def test_generated_summary_counts_added_removed_and_ignores_the_date_line():
    new = (
        BASE.replace("01/01/2024", "02/01/2024")
        .replace("We may transfer data abroad.\n\nWe use safeguards.\n", "We use safeguards.\n")
        .replace("Write to us.\n", "Write to us.\n\n## 15. Children\n\nNo children.\n")
        .replace("We use service providers.", "We use service providers.\n\nOne.\n\nTwo.")
    )
    summary = generate_summary(_diff(BASE, new))
    assert summary == (
        'Section 7 (Transfer of Data): paragraph removed: "We may transfer data abroad."; '
        'Section 13 (Service Providers): new paragraph "One.", new paragraph "Two."; '
        "Section 15 (Children): new section."
    )


def test_generated_summary_for_editorial_and_identical_text():
    assert generate_summary(_diff(BASE, BASE)) == "No changes to the text."
    editorial = generate_summary(
        _diff(BASE, BASE.replace("We use safeguards.", "We use safeguards"))
    )
    assert editorial.startswith("Editorial changes only, no change of wording")
    assert "Section 7 (Transfer of Data)" in editorial


def test_generated_summary_limits_long_lists():
    sections = "".join(f"## {n}. Part {n}\n\nText {n}.\n\n" for n in range(1, 13))
    changed = sections
    for n in range(1, 13):
        changed = changed.replace(f"Text {n}.", f"Changed text {n}.")
    summary = generate_summary(_diff("# P\n\n" + sections, "# P\n\n" + changed), limit=3)
    assert summary.count('"Text 1" → "Changed text 1"') == 1
    assert summary.count("→") == 3
    assert summary.endswith("; nine more sections changed.")


# -- preview-email --------------------------------------------------------------------------


def test_preview_email_writes_eml_txt_html(released_repo, tmp_path):
    released_repo.write(
        "redline.toml",
        'unsubscribe_url = "https://example.com/unsubscribe?token={token}&list=policies"\n'
        'site_url = "https://policies.example.com"\n',
    )
    outdir = tmp_path / "preview"
    result = run_cli(
        released_repo, "preview-email", "privacy-policy", "--version", "2", "-o", str(outdir)
    )
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in outdir.iterdir())
    assert names == [
        "privacy-policy-v2-notice.eml",
        "privacy-policy-v2-notice.html",
        "privacy-policy-v2-notice.txt",
    ]
    message = email.message_from_bytes(
        (outdir / "privacy-policy-v2-notice.eml").read_bytes(), policy=email.policy.default
    )
    assert message["Subject"] == "Changes to our Privacy Policy, effective March 1, 2024"
    assert message.get_content_type() == "multipart/alternative"
    link = "https://example.com/unsubscribe?token=PREVIEW-TOKEN&list=policies"
    assert message["List-Unsubscribe"] == f"<{link}>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert link in text and UNSUBSCRIBE_PLACEHOLDER not in text
    assert link.replace("&", "&amp;") in html
    assert (outdir / "privacy-policy-v2-notice.txt").read_text() == text.replace("\r\n", "\n")
    assert not HTML_TAG.search(text)


def test_preview_email_of_the_pending_change_and_all_kinds(released_repo, tmp_path):
    path = released_repo.root / "policies/terms-of-service.md"
    path.write_text(path.read_text().replace("16 years", "18 years"))
    outdir = tmp_path / "out"
    result = run_cli(
        released_repo,
        "preview-email",
        "terms-of-service",
        "--kind",
        "all",
        "-o",
        str(outdir),
        "--today",
        "2024-05-01",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["version"] == 2
    assert report["what"] == "pending version 2"
    assert [item["kind"] for item in report["files"]] == ["notice", "reminder", "in-effect"]
    assert report["files"][0]["subject"] == (
        "Changes to our Terms of Service, effective May 31, 2024"
    )
    assert len(list(outdir.iterdir())) == 9
    text = (outdir / "terms-of-service-v2-notice.txt").read_text()
    assert '- Section 1 (Using Kiteboard): "16 years" → "18 years"' in text


def test_diff_filters_in_templates(released_repo):
    released_repo.write(
        "templates/notice.txt.j2",
        "{{ diff | diff_text }}\n--\n{{ diff | diff_markdown }}\n{{ unsubscribe_url }}\n",
    )
    released_repo.write(
        "templates/notice.html.j2",
        "<div>{{ diff | diff_html }}</div><a href='{{ unsubscribe_url }}'>x</a>",
    )
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context)
    assert "European Union{+ and in Switzerland+}." in notice.text  # diff_text
    assert "Section 7 (Transfer of Data)" in notice.text.split("--")[1]  # diff_markdown
    assert "<ins>" in notice.html  # the redline's own markup, not escaped twice
    assert "&lt;ins&gt;" not in notice.html


def test_a_hard_line_break_is_a_line_break_in_every_format_never_a_backslash():
    from redline.compare.views import render_html, render_markdown, render_text

    old = "# P\n\n## 1. Contact\n\nWrite to us:  \nNorthwind Ltd\\\n1 Main St\n"
    new = old.replace("Ltd", "GmbH")
    result = _diff(old, new)
    text, markdown, page = render_text(result), render_markdown(result), render_html(result)
    assert "\\" not in text and "\\" not in markdown and "\\" not in page
    assert "Write to us:\n    Northwind" in text
    assert "Write to us:<br> Northwind" in markdown
    assert "Write to us:<br>Northwind" in page
    assert "\\" not in generate_summary(_diff(old, old + "\nCall us:  \nany day\n"))


def test_a_hard_break_added_or_taken_out_is_not_marked_as_text():
    from redline.compare.views import render_html, render_markdown, render_text

    plain = "# P\n\n## 1. Contact\n\nWrite to us:\nNorthwind Ltd\n"
    broken = plain.replace("us:\n", "us:\\\n")
    added, removed = _diff(plain, broken), _diff(broken, plain)
    assert "Write to us:<br>Northwind Ltd" in render_html(added)
    assert "Write to us: Northwind Ltd" in render_html(removed)
    for result in (added, removed):
        for page in (render_html(result), render_markdown(result), render_text(result)):
            assert "<ins>" not in page and "<del>" not in page
            assert "{+" not in page and "[-" not in page
