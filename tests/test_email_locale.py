"""Translated notice templates: found beside the default ones (templates_dir, then built in),
chosen by a subscriber's locale (``de_AT`` reads ``de``), complete or refused, dated in their
locale; ``redline preview-email --locale`` shows the copy a subscriber of that locale gets."""

from __future__ import annotations

import json

import pytest

from conftest import redline_in_process
from email_world import TODAY, email_repo, preview
from redline.errors import TemplateError
from redline.publish.notice import best_locale, render_notice
from redline.publish.templates import Templates
from test_render import notice_context


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [
        ("de", "de"),
        ("de_AT", "de"),
        ("pt_BR", "pt_BR"),
        ("pt_PT", "pt"),
        ("fr", None),
        (None, None),
    ],
)
def test_a_subscriber_reads_their_locale_else_its_language_else_the_default(wanted, chosen):
    assert best_locale(wanted, ("de", "pt", "pt_BR")) == chosen


def test_translations_are_found_in_templates_dir_and_built_in(released_repo):
    released_repo.write("templates/notice.pt_BR.subject.j2", "Mudanças\n")
    released_repo.write("templates/notice.pt_BR.txt.j2", "Olá\n{{ unsubscribe_url }}\n")
    released_repo.write("templates/notice.pt_BR.html.j2", "<a href='{{ unsubscribe_url }}'>x</a>")
    context, settings = notice_context(released_repo)
    templates = Templates(settings)
    assert templates.translations("notice") == ("de", "pt_BR")
    assert templates.translations("reminder") == ("de",)
    notice = render_notice(templates, context)
    assert notice.variant("pt_BR", True).text == "Olá\n@@UNSUBSCRIBE_URL@@\n"
    assert notice.variant("en", True).subject == notice.subject  # no English translation


def test_an_incomplete_translation_is_refused_with_what_is_missing(released_repo):
    released_repo.write("templates/notice.fr.txt.j2", "Bonjour\n{{ unsubscribe_url }}\n")
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError) as caught:
        render_notice(Templates(settings), context)
    message = str(caught.value)
    assert "the 'fr' translation of notice is incomplete" in message
    assert "notice.fr.html.j2" in message and "notice.fr.subject.j2" in message


def test_the_subject_cannot_greet_by_name(released_repo):
    released_repo.write("templates/notice.subject.j2", "Hello {{ subscriber.name }}\n")
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError, match=r"the subject uses subscriber\.name"):
        render_notice(Templates(settings), context)


def test_the_german_copy_is_dated_in_german_and_the_default_in_the_configured_locale(
    released_repo,
):
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context, "reminder")
    german = notice.variant("de", False)
    assert german.subject == "Erinnerung: „Privacy Policy“ ändert sich am 1. März 2024"
    assert german.text.startswith("Guten Tag,\n") and 'lang="de"' in german.html
    assert notice.subject == "Reminder: our Privacy Policy changes on March 1, 2024"
    context, settings = notice_context(released_repo, locale="fr")
    french_dates = render_notice(Templates(settings), context, "reminder")
    assert french_dates.subject == "Reminder: our Privacy Policy changes on 1 mars 2024"
    assert french_dates.variant("de", False).subject == german.subject


def test_preview_email_shows_the_copy_of_a_locale(policy_repo, tag_release, tmp_path):
    repo = email_repo(policy_repo, tag_release)
    files = preview(repo, tmp_path / "mail", "--locale", "de")
    assert files["notice"]["txt"].name == "privacy-policy-v2-notice.de.txt"
    text = files["notice"]["txt"].read_text(encoding="utf-8")
    assert text.startswith("Hallo Sample Subscriber,\n")
    assert "Alle Änderungen ansehen:" in text
    wrong = redline_in_process(
        repo, "preview-email", "privacy-policy", "--locale", "xx_nowhere", REDLINE_TODAY=TODAY
    )
    assert wrong.returncode == 2 and "unknown locale" in wrong.stderr
    report = redline_in_process(
        repo, "preview-email", "privacy-policy", "--version", "2", "--json", "-o",
        str(tmp_path / "again"), "--locale", "de_AT", REDLINE_TODAY=TODAY,
    )  # fmt: skip
    document = json.loads(report.stdout)
    assert document["locale"] == "de_AT"
    assert document["files"][0]["subject"].startswith("Änderungen an „Privacy Policy“")


def test_a_translation_into_a_right_to_left_language_reads_right_to_left(released_repo):
    released_repo.write("templates/notice.ar.subject.j2", "تغييرات\n")
    released_repo.write("templates/notice.ar.txt.j2", "مرحبا\n{{ unsubscribe_url }}\n")
    released_repo.write(
        "templates/notice.ar.html.j2",
        '{% extends "_email.html.j2" %}{% set words = "_email_words.j2" %}',
    )
    context, settings = notice_context(released_repo)
    notice = render_notice(Templates(settings), context)
    assert '<html lang="ar" dir="rtl">' in notice.variant("ar", False).html
    assert '<html lang="en" dir="ltr">' in notice.html
