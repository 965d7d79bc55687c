"""The one exception family of redline, and the one place that maps it to exit codes.

Exit codes (documented in the README):

* 0 - success
* 1 - a check failed, differences were found with ``--exit-code``, or notices failed
* 2 - usage, configuration or input error (bad file, bad value, template error)
* 3 - git error (not a repository, unknown revision, shallow clone, push rejected)
* 4 - delivery error (SMTP connection, authentication, TLS, too many failures in a row)
* 5 - storage error (the database could not be opened or written)
* 6 - ``release`` or ``init`` left policies out (each reported with its fix); the others went ahead
* 7 - another ``redline release`` is running in this repository
"""

from __future__ import annotations

from dataclasses import dataclass


class RedlineError(Exception):
    """Base class of every error redline reports to a user as one clear line."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RedlineError):
    """A configuration file, key or value is wrong."""


class InputError(RedlineError):
    """A policy file, a CSV file or a command-line value cannot be used."""


class PolicyNotFoundError(InputError):
    """A policy name matches no policy file."""


class DateError(InputError):
    """An effective date is missing, ambiguous or invalid."""


class TemplateError(InputError):
    """A Jinja2 template failed to load or render, or broke the sandbox."""


class GitError(RedlineError):
    """The repository, a revision or a push cannot be used."""


class DeliveryError(RedlineError):
    """Notices cannot be delivered (connection, authentication, TLS, repeated failures)."""


class RunInProgressError(DeliveryError):
    """Another process is already sending the same notices."""


class ReleaseInProgressError(RunInProgressError):
    """Another ``redline release`` holds this repository's release lock."""


class PoliciesSkipped(RedlineError):
    """A release or init left out policies it could not handle; the report has been printed."""


class StorageError(RedlineError):
    """The subscriber and notice database cannot be used."""


class CheckFailed(RedlineError):
    """A check found a problem; the report has already been printed."""


@dataclass(frozen=True)
class Problem:
    """A policy that cannot be handled now: reported once, as a warning with its fix, and skipped.

    ``message`` is one line naming the file, line and value; ``hint`` says what to do.
    """

    path: str
    message: str
    hint: str | None = None

    @classmethod
    def from_error(cls, error: RedlineError, *, path: str) -> Problem:
        """The problem that ``error`` describes, for the policy at ``path``."""
        return cls(path, error.message, error.hint)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_json(self) -> dict[str, str | None]:
        """Plain data for ``--json``."""
        return {"path": self.path, "message": self.message, "hint": self.hint}


EXIT_CODES: dict[type[RedlineError], int] = {
    CheckFailed: 1,
    ConfigError: 2,
    InputError: 2,
    GitError: 3,
    DeliveryError: 4,
    StorageError: 5,
    PoliciesSkipped: 6,
    ReleaseInProgressError: 7,
}


def exit_code_for(error: RedlineError) -> int:
    """Return the process exit code for ``error`` (its nearest mapped base class)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 2
