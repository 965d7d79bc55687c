"""Config keys as click defaults: flag > config > built-in default, and --help unchanged."""

import json

import pytest

from conftest import redline_in_process
from redline.env import Environment

POLICY = "# Privacy\n\nEffective date: 2026-01-01\n\nWe keep your data safe.\n"
# Every command with an option that mirrors a config key (cli._options.ConfigOption).
CONFIG_COMMANDS = ("check", "diff", "init", "notify", "site")


@pytest.fixture
def repo(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", POLICY)
    repo.commit("Add the privacy policy", "policies/privacy.md")
    return repo


def _notice_days(repo, *flags):
    outcome = redline_in_process(repo, "check", "--base", "HEAD", "--json", *flags)
    assert outcome.returncode == 0, outcome.stderr
    return json.loads(outcome.stdout)["notice_days"]


def test_notice_days_flag_beats_config_beats_default(repo):
    assert _notice_days(repo) == 30
    repo.write("redline.toml", "notice_days = 10\n")
    assert _notice_days(repo) == 10
    assert _notice_days(repo, "--notice-days", "5") == 5


def test_the_configured_value_is_the_options_default(repo):
    import click

    from redline.cli import cli
    from redline.cli._app import AppContext
    from redline.cli._options import config_defaults

    repo.write("redline.toml", 'notice_days = 10\nsite_url = "https://example.com/p"\n')
    app = AppContext(repo=repo.root, config_file=None, verbosity=0, env=Environment())
    with click.Context(cli) as ctx:
        check = cli.get_command(ctx, "check")
        site = cli.get_command(ctx, "site")
    assert config_defaults(app, check) == {"notice_days": 10}
    assert config_defaults(app, site) == {"site_url": "https://example.com/p"}


def test_no_config_or_a_broken_one_gives_no_defaults(repo):
    from redline.cli._app import AppContext
    from redline.cli._options import config_defaults
    from redline.cli.check import command

    app = AppContext(repo=repo.root, config_file=None, verbosity=0, env=Environment())
    assert config_defaults(app, command) == {}
    repo.write("redline.toml", "notice_days = -1\n")
    broken = AppContext(repo=repo.root, config_file=None, verbosity=0, env=Environment())
    assert config_defaults(broken, command) == {}
    outcome = redline_in_process(repo, "check", "--help")
    assert outcome.returncode == 0


@pytest.mark.parametrize("name", CONFIG_COMMANDS)
def test_help_is_the_same_with_a_config(repo, name):
    # None of these options shows its default in --help, so a configured value changes nothing.
    before = redline_in_process(repo, name, "--help")
    repo.write("redline.toml", 'notice_days = 10\ndate_order = "DMY"\nrate = 2.5\n')
    after = redline_in_process(repo, name, "--help")
    assert after.returncode == before.returncode == 0
    assert after.stdout == before.stdout
