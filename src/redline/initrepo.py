"""``redline init``: put an existing repository of policies under redline, emailing nobody.

:func:`plan_init` works out, without changing anything, what ``init`` writes:

* the configuration: ``[tool.redline]`` appended to an existing ``pyproject.toml``, else a new
  ``redline.toml``; an existing redline configuration is never touched;
* the workflow files shipped with redline (``templates/workflows/*.yml``) into
  ``.github/workflows/``; an existing file of the same name is kept as it is;
* ``.redline/`` in ``.gitignore`` (the default SQLite database lives there);
* a baseline release tag ``{tag_prefix}{slug}/v1`` on HEAD for every policy, with the
  effective date written in the policy (``Notify: no``: the baseline is the version already
  in force or announced, so nobody is emailed about it).

:func:`apply_init` carries the plan out. Running ``init`` again does nothing more; it refuses
when a policy already has release tags other than the baseline it would create itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import DateError, GitError, InputError
from redline.files import atomic_write
from redline.history import format_release_message

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history import Policy, PolicyRepo

WORKFLOWS_DIR = ".github/workflows"
GITIGNORE_ENTRY = ".redline/"
BASELINE_SUMMARY = (
    "Baseline recorded by redline init: the version in force or already announced when "
    "redline was set up. Subscribers were not notified by redline."
)


@dataclass(frozen=True)
class FileAction:
    """One file ``init`` writes (``create`` or ``append``) or leaves alone (``keep``)."""

    path: str
    action: str
    reason: str
    content: str = field(default="", repr=False)

    @property
    def writes(self) -> bool:
        """True when applying the plan changes this file."""
        return self.action in {"create", "append"}


@dataclass(frozen=True)
class BaselineTag:
    """The baseline release tag of one policy (``exists`` when an earlier init made it)."""

    policy: str
    path: str
    tag: str
    commit: str
    effective_date: dt.date
    date_source: str
    exists: bool
    message: str = field(default="", repr=False)


@dataclass
class InitPlan:
    """Everything ``init`` would do, computed without changing anything."""

    root: Path
    files: list[FileAction]
    tags: list[BaselineTag]
    warnings: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Number of files and tags that applying the plan writes."""
        return sum(f.writes for f in self.files) + sum(not t.exists for t in self.tags)

    def to_json(self) -> dict[str, Any]:
        """The plan as plain data for ``--json``."""
        return {
            "repository": str(self.root),
            "files": [{"path": f.path, "action": f.action, "reason": f.reason} for f in self.files],
            "tags": [
                {
                    "policy": t.policy,
                    "path": t.path,
                    "tag": t.tag,
                    "commit": t.commit,
                    "effective_date": t.effective_date.isoformat(),
                    "date_source": t.date_source,
                    "action": "exists" if t.exists else "create",
                }
                for t in self.tags
            ],
            "warnings": self.warnings,
            "changes": self.changes,
        }


# --- the plan -------------------------------------------------------------------------------


def plan_init(repo: PolicyRepo, settings: Settings) -> InitPlan:
    """Work out what ``init`` writes; raises before anything is written when it cannot run."""
    if not repo.has_commits():
        raise GitError(
            f"{repo.root}: the repository has no commits yet",
            hint="commit the policies first; the baseline tags point at a commit",
        )
    policies = repo.policies()
    if not policies:
        raise InputError(
            f"no policies found in {settings.policies_dir}/ (include: "
            f"{', '.join(settings.include)})",
            hint="pass --policies-dir, or set policies_dir and include in the config",
        )
    warnings: list[str] = []
    tags = _plan_tags(repo, settings, policies, warnings)
    files = [_plan_config(settings), *_plan_workflows(settings), _plan_gitignore(repo.root)]
    for action in files:
        if action.action == "keep" and action.reason.startswith("differs"):
            warnings.append(f"{action.path}: {action.reason}")
    return InitPlan(root=repo.root, files=files, tags=tags, warnings=warnings)


def _plan_tags(
    repo: PolicyRepo, settings: Settings, policies: list[Policy], warnings: list[str]
) -> list[BaselineTag]:
    head = repo.repo.head.commit
    conflicts: list[str] = []
    uncommitted: list[str] = []
    tags: list[BaselineTag] = []
    for policy in policies:
        try:
            blob = head.tree / policy.path
        except KeyError:
            uncommitted.append(f"{policy.path} (not committed)")
            continue
        if repo.repo.is_dirty(index=True, working_tree=True, path=policy.path):
            uncommitted.append(f"{policy.path} (uncommitted changes)")
            continue
        releases = repo.releases(policy)
        tag = repo.tag_name(policy.slug, 1)
        if releases:
            first = releases[0]
            if (
                len(releases) == 1
                and first.version == 1
                and _blob_at(repo, policy, first.commit) == blob.hexsha
            ):
                tags.append(
                    BaselineTag(
                        policy=policy.slug,
                        path=policy.path,
                        tag=first.tag,
                        commit=first.commit,
                        effective_date=first.effective_date,
                        date_source=f"tag {first.tag}",
                        exists=True,
                    )
                )
            else:
                conflicts.append(", ".join(release.tag for release in releases))
            continue
        effective, source = _baseline_date(repo, policy, head.hexsha, warnings)
        message = format_release_message(
            {
                "Policy": policy.slug,
                "Version": 1,
                "Effective-Date": effective.isoformat(),
                "Classification": "material",
                "Previous-Version": "none",
                "Commits": head.hexsha,
                "Notify": "no",
                "Short-Notice": "no",
                "Summary": BASELINE_SUMMARY,
            }
        )
        tags.append(
            BaselineTag(
                policy=policy.slug,
                path=policy.path,
                tag=tag,
                commit=head.hexsha,
                effective_date=effective,
                date_source=source,
                exists=False,
                message=message,
            )
        )
    if conflicts:
        raise GitError(
            f"release tags already exist ({'; '.join(conflicts)}): this repository is already "
            "managed by redline",
            hint="`redline release` releases changes and `redline status` shows the versions; "
            "init only sets up a repository without releases",
        )
    if uncommitted:
        raise InputError(
            f"cannot record baseline versions of uncommitted policies: {', '.join(uncommitted)}",
            hint="commit (or discard) the changes first; the baseline tags point at HEAD",
        )
    return tags


def _blob_at(repo: PolicyRepo, policy: Policy, commit: str) -> str | None:
    try:
        return (repo.repo.commit(commit).tree / policy.path).hexsha
    except (KeyError, ValueError):
        return None


def _baseline_date(
    repo: PolicyRepo, policy: Policy, head: str, warnings: list[str]
) -> tuple[dt.date, str]:
    """The effective date written in the policy at HEAD, else its last commit's date."""
    from redline.dates import find_dates, find_effective_date

    snapshot = repo.read_text(policy, head)
    if find_dates(snapshot.text, repo.settings):
        try:
            found = find_effective_date(snapshot.text, repo.settings, name=policy.path)
        except DateError as error:
            if "date_order" not in str(error):
                raise
            raise DateError(
                error.message,
                hint='pass --date-order MDY or DMY to `redline init`, or set date_order = "MDY" '
                'or "DMY" in the config',
            ) from None
        if found.date is not None:
            primary = found.primary
            return found.date, f"{policy.path}:{primary.line}: {primary.text.strip()}"
    revisions = repo.revisions(policy)
    when = revisions[0].date.date() if revisions else dt.date.today()
    warnings.append(
        f"{policy.path}: no effective date in the file; the baseline uses the date of its "
        f"last commit ({when.isoformat()}); add one with "
        f"`redline effective-date {policy.slug} --insert --set {when.isoformat()}`"
    )
    return when, "date of the last commit (no effective-date line)"


# --- files ----------------------------------------------------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def config_text(settings: Settings) -> str:
    """The keys ``init`` writes: the settings in use, and the optional ones as comments."""
    lines = [
        f"policies_dir = {_toml_value(settings.policies_dir)}",
        f"notice_days = {settings.notice_days}",
        f"remind_days = {_toml_value(settings.remind_days)}",
        f"send_in_effect = {_toml_value(settings.send_in_effect)}",
    ]
    if tuple(settings.include) != ("*.md",):
        lines.append(f"include = {_toml_value(settings.include)}")
    optional = {
        "date_order": ('"MDY"', "how to read 03/01/2026: MDY or DMY"),
        "locale": ('"en"', "language of month names in the policies"),
        "site_url": ('"https://example.com/policies"', "absolute links in emails and feeds"),
        "unsubscribe_url": (
            '"https://example.com/policy-unsubscribe?token={token}"',
            "one-click unsubscribe link",
        ),
        "from_address": ('"Policies <policies@example.com>"', "sender (or REDLINE_FROM)"),
    }
    for key, (example, comment) in optional.items():
        value = getattr(settings, key)
        if value:
            lines.append(f"{key} = {_toml_value(value)}")
        else:
            lines.append(f"# {key} = {example}  # {comment}")
    return "\n".join(lines) + "\n"


def _plan_config(settings: Settings) -> FileAction:
    from redline.config import find_config

    root = settings.repo_root
    existing, _ = find_config(root)
    if settings.config_file is not None:
        existing = settings.config_file
    if existing is not None:
        return FileAction(_relative(existing, root), "keep", "redline is already configured here")
    header = "# redline configuration, written by `redline init` (see README, 'Configuration').\n"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = _read(pyproject)
        separator = "" if text.endswith("\n") or not text else "\n"
        content = f"{text}{separator}\n{header}[tool.redline]\n{config_text(settings)}"
        return FileAction("pyproject.toml", "append", "adds [tool.redline]", content)
    return FileAction("redline.toml", "create", "configuration", header + config_text(settings))


def workflow_templates() -> list[Path]:
    """The workflow files shipped with redline (the project's ``templates/workflows``)."""
    from redline.render import packaged_templates_dir

    directory = packaged_templates_dir() / "workflows"
    files = sorted(directory.glob("*.yml")) if directory.is_dir() else []
    if not files:
        raise InputError(
            f"redline's workflow templates are missing ({directory})", hint="reinstall redline"
        )
    return files


def workflow_text(template: Path, settings: Settings) -> str:
    """A shipped workflow, with its ``policies/**`` path filter set to ``policies_dir``."""
    text = _read(template)
    policies_dir = settings.policies_dir.strip("/") or "."
    if policies_dir != "policies":
        pattern = "**/*" if policies_dir == "." else f"{policies_dir}/**"
        text = text.replace('"policies/**"', json.dumps(pattern))
    return text


def _plan_workflows(settings: Settings) -> list[FileAction]:
    actions = []
    for template in workflow_templates():
        relpath = f"{WORKFLOWS_DIR}/{template.name}"
        target = settings.repo_root / relpath
        content = workflow_text(template, settings)
        if not target.exists():
            actions.append(FileAction(relpath, "create", "GitHub workflow", content))
        elif _read(target) == content:
            actions.append(FileAction(relpath, "keep", "already up to date"))
        else:
            actions.append(
                FileAction(
                    relpath,
                    "keep",
                    "differs from the one redline ships; left as it is (delete it and run "
                    "init again to get redline's)",
                )
            )
    return actions


def _plan_gitignore(root: Path) -> FileAction:
    path = root / ".gitignore"
    if not path.exists():
        return FileAction(
            ".gitignore",
            "create",
            "ignores .redline/",
            f"# redline's local database\n{GITIGNORE_ENTRY}\n",
        )
    text = _read(path)
    entries = {line.strip() for line in text.splitlines()}
    if entries & {".redline", ".redline/", "/.redline", "/.redline/"}:
        return FileAction(".gitignore", "keep", ".redline/ is already ignored")
    separator = "" if text.endswith("\n") or not text else "\n"
    content = f"{text}{separator}\n# redline's local database\n{GITIGNORE_ENTRY}\n"
    return FileAction(".gitignore", "append", "adds .redline/", content)


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", hint="save it as UTF-8") from None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- applying it ----------------------------------------------------------------------------


def apply_init(repo: PolicyRepo, plan: InitPlan, settings: Settings) -> None:
    """Write the files and create the tags of ``plan`` (files first, then tags)."""
    for action in plan.files:
        if action.writes:
            atomic_write(plan.root / action.path, action.content, root=plan.root)
    env = {
        "GIT_COMMITTER_NAME": settings.bot_name,
        "GIT_COMMITTER_EMAIL": settings.bot_email,
    }
    import git

    for tag in plan.tags:
        if tag.exists:
            continue
        try:
            repo.repo.git.execute(
                [
                    "git",
                    "-c",
                    "tag.gpgSign=false",
                    "tag",
                    "--annotate",
                    "--cleanup=verbatim",
                    "-m",
                    tag.message,
                    tag.tag,
                    tag.commit,
                ],
                env={**os.environ, **env},
            )
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip().splitlines()
            raise GitError(
                f"cannot create tag {tag.tag}: {detail[-1] if detail else exc}",
                hint="fix the repository, then run init again (it finishes what is left)",
            ) from None
