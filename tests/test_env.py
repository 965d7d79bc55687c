"""The run's Environment: REDLINE_TODAY, a repr without values, from_os."""

import io
import sys
from datetime import date

import pytest

from redline.env import Environment
from redline.errors import InputError


def test_redline_today_wins_over_the_given_today():
    assert Environment(today=date(2030, 1, 2)).current_date() == date(2030, 1, 2)
    assert Environment(today=lambda: date(2030, 1, 3)).current_date() == date(2030, 1, 3)
    pinned = Environment({"REDLINE_TODAY": " 2024-02-29 "}, today=date(2030, 1, 2))
    assert pinned.current_date() == date(2024, 2, 29)
    assert Environment({"REDLINE_TODAY": ""}, today=date(2030, 1, 2)).current_date() == date(
        2030, 1, 2
    )


@pytest.mark.parametrize("value", ["tomorrow", "2024-2-29", "2023-02-29"])
def test_a_redline_today_that_is_no_date_is_an_input_error(value):
    with pytest.raises(InputError, match=f"REDLINE_TODAY: '{value}' is not a date"):
        Environment({"REDLINE_TODAY": value}).current_date()


def test_get_and_flag():
    env = Environment({"GITHUB_ACTIONS": "TRUE", "EMPTY": ""})
    assert env.get("GITHUB_ACTIONS") == "TRUE" and env.get("MISSING") == ""
    assert env.get("MISSING", "x") == "x"
    assert env.flag("GITHUB_ACTIONS") and not env.flag("EMPTY") and not env.flag("MISSING")


def test_repr_names_the_variables_never_their_values():
    env = Environment({"REDLINE_SECRET": "s3cr3t-signing-key", "REDLINE_SMTP_PASSWORD": "pw-42"})
    shown = repr(env)
    assert "REDLINE_SECRET" in shown and "REDLINE_SMTP_PASSWORD" in shown
    assert "s3cr3t" not in shown and "pw-42" not in shown


def test_from_os_copies_the_variables_and_takes_the_current_streams(monkeypatch):
    monkeypatch.setenv("REDLINE_ENV_PROBE", "1")  # from_os reads the real process environment
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    env = Environment.from_os()
    assert env.get("REDLINE_ENV_PROBE") == "1" and env.stdout is stream
    monkeypatch.setenv("REDLINE_ENV_PROBE", "2")
    assert env.get("REDLINE_ENV_PROBE") == "1"  # a snapshot
    assert env.clock().tzinfo is not None
