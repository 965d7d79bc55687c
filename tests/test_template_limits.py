"""Template output limits: no template from a pull request can make a huge subject or body."""

from __future__ import annotations

import time

import pytest

from conftest import redline_process as run_cli
from redline.errors import TemplateError
from redline.publish.notice import render_notice
from redline.publish.templates import Templates
from test_render import notice_context

HUGE = [
    ("{{ 'x' * 10**9 }}", "template value exceeds"),
    ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "template output exceeds"),
    ("{{ 'x'|center(10**10) }}", "template argument 10,000,000,000 exceeds"),
    ("{{ 'x'.ljust(10**10) }}", "template argument 10,000,000,000 exceeds"),
    ("{{ '%999999999s'|format('a') }}", "template field width 999,999,999 exceeds"),
    ("{{ '%999999999s' % 'a' }}", "template field width 999,999,999 exceeds"),
    ("{{ '{:>999999999}'.format('a') }}", "template field width 999,999,999 exceeds"),
    ("{{ 2 ** 1000000000 }}", "template number exceeds"),
    ("{{ [1] * 10**9 }}", "template value exceeds"),
]


@pytest.mark.parametrize(("source", "expected"), HUGE)
def test_huge_output_is_refused_quickly_in_every_part(released_repo, source, expected):
    for part in ("subject", "txt", "html"):
        released_repo.write(f"templates/notice.{part}.j2", source)
        context, settings = notice_context(released_repo)
        started = time.monotonic()
        with pytest.raises(TemplateError) as caught:
            render_notice(Templates(settings), context)
        assert time.monotonic() - started < 5
        assert str(caught.value).startswith(f"templates/notice.{part}.j2")
        assert expected in str(caught.value)
        assert "max_template_bytes" in caught.value.hint
        released_repo.write(
            f"templates/notice.{part}.j2", "{% extends 'default/notice." + part + ".j2' %}"
        )


def test_small_arithmetic_and_formatting_still_work(released_repo):
    templates = Templates(released_repo.settings())
    source = (
        "{{ '-' * 3 }} {{ 2 ** 10 }} {{ '%5s'|format('a') }} {{ '{:>4}'.format(7) }}"
        " {{ 'ab'|center(6) }}"
    )
    assert templates.env.from_string(source).render() == "--- 1024     a    7   ab  "


def test_the_limit_is_configurable(released_repo):
    released_repo.write("templates/notice.txt.j2", "{{ 'x' * 5000 }} {{ unsubscribe_url }}\n")
    context, settings = notice_context(released_repo, max_template_bytes=4000)
    with pytest.raises(TemplateError, match="limit of 4,000 bytes"):
        render_notice(Templates(settings), context)
    context, settings = notice_context(released_repo, max_template_bytes=20_000)
    assert render_notice(Templates(settings), context).text.startswith("x" * 5000)


def test_a_subject_over_998_characters_is_refused(released_repo):
    released_repo.write("templates/notice.subject.j2", "{{ 'word ' * 300 }}")
    context, settings = notice_context(released_repo)
    with pytest.raises(TemplateError, match="1,499 characters, over the limit of 998"):
        render_notice(Templates(settings), context)


def test_format_date_of_a_string(released_repo):
    templates = Templates(released_repo.settings())
    assert templates.env.from_string("{{ '2024-05-01'|format_date }}").render() == "May 1, 2024"
    released_repo.write("templates/notice.subject.j2", "{{ 'a'|format_date }}")
    result = run_cli(released_repo, "preview-email", "privacy-policy", "--version", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "format_date needs a date, not 'a'" in result.stderr


def test_huge_template_via_the_cli_is_one_clear_error(released_repo):
    released_repo.write("templates/notice.subject.j2", "{{ 'x' * 10**8 }}")
    result = run_cli(released_repo, "preview-email", "privacy-policy", "--version", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("redline: error: templates/notice.subject.j2:1: template value")
