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

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, InputError, Problem
from redline.files import atomic_write
from redline.history.tags import format_release_message

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from redline.config import Settings
    from redline.document.dates import PolicyDate
    from redline.history.repo import Policy, PolicyRepo

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
    notes: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    date_orders: dict[str, str] = field(default_factory=dict)  # path -> order found

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
            "notes": self.notes,
            "skipped": [problem.to_json() for problem in self.skipped],
            "date_orders": dict(self.date_orders),
            "changes": self.changes,
        }


# --- the plan -------------------------------------------------------------------------------


def plan_init(repo: PolicyRepo, settings: Settings, *, notes: Sequence[str] = ()) -> InitPlan:
    """Work out what ``init`` writes; raises before anything is written when it cannot run.

    ``notes`` say how a proposed configuration (:func:`propose_settings`) was found.
    """
    if not repo.has_commits():
        raise GitError(
            f"{repo.root}: the repository has no commits yet",
            hint="commit the policies first; the baseline tags point at a commit",
        )
    policies = repo.policies()  # raises when there are none, or names collide
    plan = InitPlan(root=repo.root, files=[], tags=[], notes=list(notes))
    plan.tags = _plan_tags(repo, policies, plan)
    recorded = with_date_orders(settings, plan.date_orders)
    plan.files = [
        _plan_config(recorded),
        *_plan_workflows(settings, plan.warnings),
        _plan_gitignore(repo.root),
    ]
    for action in plan.files:
        if action.action == "keep" and action.reason.startswith("differs"):
            plan.warnings.append(f"{action.path}: {action.reason}")
    for problem in plan.skipped:
        plan.warnings.append(f"{problem}; {problem.path} gets no baseline")
    return plan


def with_date_orders(settings: Settings, orders: dict[str, str]) -> Settings:
    """``settings`` with the numeric date orders init found (policy path -> order): one
    ``date_order`` when they all agree and no policy has a locale, else one per-policy
    ``date_order`` each (an order never crosses locales)."""
    from redline.config import PolicyConfig

    if not orders:
        return settings
    found = set(orders.values())
    if len(found) == 1 and not settings.locale and not settings.locales:
        return dataclasses.replace(settings, date_order=found.pop())
    tables = dict(settings.policies)
    for path, order in sorted(orders.items()):
        tables[path] = dataclasses.replace(tables.get(path, PolicyConfig()), date_order=order)
    return dataclasses.replace(settings, policies=tables)


def _plan_tags(repo: PolicyRepo, policies: list[Policy], plan: InitPlan) -> list[BaselineTag]:
    from redline.history.policy_dates import read_policy_dates

    head = repo.resolve_rev("HEAD")
    at_head = repo.snapshots_at(head, policies)
    changed = repo.uncommitted()
    all_releases = repo.releases_of(policies)
    unreleased = {
        policy: snapshot.text
        for policy in policies
        if (snapshot := at_head[policy.path]) is not None and not all_releases[policy.path]
    }
    dates = read_policy_dates(repo, unreleased, today=dt.date.today())
    conflicts: list[str] = []
    uncommitted: list[str] = []
    tags: list[BaselineTag] = []
    for policy in policies:
        snapshot = at_head[policy.path]
        if snapshot is None:
            uncommitted.append(f"{policy.path} (not committed)")
            continue
        if policy.path in changed:
            uncommitted.append(f"{policy.path} (uncommitted changes)")
            continue
        releases = all_releases[policy.path]
        if releases:
            first = releases[0]
            if (
                len(releases) == 1
                and first.version == 1
                and _blob_at(repo, policy, first.commit) == snapshot.blob
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
        read = dates[policy]
        evidence = read.evidence
        if read.problem is not None and evidence.needed and evidence.order is None:
            # no evidence at all: only its config can tell
            hint = (
                f'set it for this policy: [tool.redline.policies."{policy.path}"] '
                'date_order = "MDY" or "DMY"; or for all: `redline init --date-order DMY`'
            )
            plan.skipped.append(Problem(policy.path, read.problem.message, hint))
            continue
        if evidence.order is not None and evidence.source not in ("config", "locale"):
            plan.date_orders[policy.path] = evidence.order
        effective, source = _baseline_date(repo, policy, read, plan.warnings)
        message = format_release_message(
            {
                "Policy": policy.slug,
                "Version": 1,
                "Effective-Date": effective.isoformat(),
                "Classification": "material",
                "Previous-Version": "none",
                "Commits": head,
                "Notify": "no",
                "Short-Notice": "no",
                "Summary": BASELINE_SUMMARY,
            }
        )
        tags.append(
            BaselineTag(
                policy=policy.slug,
                path=policy.path,
                tag=repo.tag_name(policy.slug, 1),
                commit=head,
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
        return repo.read_text(policy, commit).blob
    except InputError:
        return None


def _baseline_date(
    repo: PolicyRepo, policy: Policy, read: PolicyDate, warnings: list[str]
) -> tuple[dt.date, str]:
    """The effective date written in the policy at HEAD, else its last commit's date.

    A date problem other than a missing order is a warning, so that one odd file does not
    keep the others from being set up.
    """
    if read.effective is not None and read.effective.date is not None:
        primary = read.effective.primary
        return read.effective.date, f"{policy.path}:{primary.line}: {primary.text.strip()}"
    problem = "the effective date is blank"
    if read.problem is not None:
        problem = read.problem.message.removeprefix(f"{policy.path}: ")
    revisions = repo.revisions(policy)
    when = revisions[0].date.date() if revisions else dt.date.today()
    warnings.append(
        f"{policy.path}: {problem}; the baseline uses the date of its last commit "
        f"({when.isoformat()}); fix the date line, or add one with "
        f"`redline effective-date {_quoted(policy.path)} --insert --set {when.isoformat()}`"
    )
    return when, f"date of the last commit ({problem})"


def _quoted(path: str) -> str:
    import shlex

    return shlex.quote(path)


# --- a configuration that fits the repository -----------------------------------------------

_NOT_POLICIES = re.compile(
    r"(readme|changelog|changes|license|licence|contributing|code_of_conduct|security|"
    r"authors|notice)(\..*)?",
    re.IGNORECASE,
)
_LOCALE_FOLDER = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?")


def propose_settings(
    repo: PolicyRepo, settings: Settings, *, keep: Collection[str] = ()
) -> tuple[Settings, list[str]]:
    """Settings that fit the Markdown files of a repository without a configuration.

    The root is ``policies/`` when it holds Markdown, else the deepest folder holding all
    of it; mostly ``*/index.md`` (a site) gives ``include = ["**/index.md"]``; two or more
    top folders named like locales (``en/``, ``de/``, ``pt-br/``) give ``locales``. Keys in
    ``keep`` (given as flags) stay as they are. Returns the settings and what was found.
    """
    files = [
        path
        for path in repo.candidate_paths(roots=(".",))
        if PurePosixPath(path).suffix.lower() in {".md", ".markdown"}
        and not _NOT_POLICIES.fullmatch(PurePosixPath(path).name)
        and not path.endswith(".changelog.md")
        and not any(part.startswith(".") for part in PurePosixPath(path).parts)
    ]
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if (
        "policies_dir" not in keep
        and files
        and not any(settings.layout.root_of(path) for path in files)
    ):
        site_like = all(
            "/" in path and PurePosixPath(path).name.lower() == "index.md" for path in files
        )
        # privacy/index.md, terms/index.md: the folders are the policies' names
        levels = 2 if site_like else 1
        parents = [PurePosixPath(path).parents[levels - 1].as_posix() for path in files]
        root = os.path.commonpath(parents) or "."
        changes["policies_dir"] = (root,)
        notes.append(f"the Markdown files lie under {root}/")
    proposed = dataclasses.replace(settings, **changes) if changes else settings
    inner = [found[1] for path in files if (found := proposed.layout.root_of(path))]
    indexes = [path for path in inner if PurePosixPath(path).name.lower() == "index.md"]
    if "include" not in keep and len(indexes) >= 2 and 2 * len(indexes) > len(inner):
        home = "index.md" in inner  # a site's home page is no policy
        changes["include"] = ("**/index.md", "!/index.md") if home else ("**/index.md",)
        notes.append(f"site-style layout: {len(indexes)} policies are <folder>/index.md")
    folders = sorted({path.split("/", 1)[0] for path in inner if "/" in path})
    locales = [folder for folder in folders if _LOCALE_FOLDER.fullmatch(folder)]
    if "locales" not in keep and len(locales) >= 2:
        changes["locales"] = {folder: (f"{folder}/**",) for folder in locales}
        notes.append(f"locale folders: {', '.join(locales)}")
    elif len(folders) >= 2:
        notes.append(f"{len(folders)} folders of policies: each name keeps its folder")
    return (dataclasses.replace(settings, **changes) if changes else settings), notes


# --- files ----------------------------------------------------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def config_text(settings: Settings, table: str = "") -> str:
    """The keys ``init`` writes: the settings in use, the optional ones as comments, then a
    ``[<table>policies."PATH"]`` table per policy with settings of its own."""
    from redline.config import DEFAULT_EXCLUDE

    roots = settings.policies_dir
    lines = [f"policies_dir = {_toml_value(roots[0] if len(roots) == 1 else roots)}"]
    if tuple(settings.include) != ("*.md",):
        lines.append(f"include = {_toml_value(settings.include)}")
    if tuple(settings.exclude) != DEFAULT_EXCLUDE:
        lines.append(f"exclude = {_toml_value(settings.exclude)}")
    if settings.extend_exclude:
        lines.append(f"extend_exclude = {_toml_value(settings.extend_exclude)}")
    if settings.locales:
        pairs = ", ".join(
            f"{json.dumps(locale)} = {_toml_value(patterns[0] if len(patterns) == 1 else patterns)}"
            for locale, patterns in settings.locales.items()
        )
        lines.append(f"locales = {{{pairs}}}")
    lines += [
        f"notice_days = {settings.notice_days}",
        f"remind_days = {_toml_value(settings.remind_days)}",
        f"send_in_effect = {_toml_value(settings.send_in_effect)}",
    ]
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
    for path, own in settings.policies.items():
        lines += ["", f"[{table}policies.{json.dumps(path, ensure_ascii=False)}]"]
        for key, value in dataclasses.asdict(own).items():
            if value not in (None, ()):
                lines.append(f"{key} = {_toml_value(value)}")
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
        keys = config_text(settings, "tool.redline.")
        content = f"{text}{separator}\n{header}[tool.redline]\n{keys}"
        return FileAction("pyproject.toml", "append", "adds [tool.redline]", content)
    return FileAction("redline.toml", "create", "configuration", header + config_text(settings))


def workflow_templates() -> list[Path]:
    """The workflow files shipped with redline (the project's ``templates/workflows``)."""
    from redline.publish.templates import packaged_templates_dir

    directory = packaged_templates_dir() / "workflows"
    files = sorted(directory.glob("*.yml")) if directory.is_dir() else []
    if not files:
        raise InputError(
            f"redline's workflow templates are missing ({directory})", hint="reinstall redline"
        )
    return files


def path_filters(settings: Settings) -> list[str]:
    """The workflow ``paths:`` filters that match every policy of ``settings``."""
    filters = []
    for root in settings.policies_dir:
        if root != ".":
            filters.append(f"{root}/**")
            continue
        for pattern in settings.include:
            if pattern.startswith("!"):
                continue
            anchored = "/" in pattern.rstrip("/")
            filters.append(pattern.lstrip("/") if anchored else f"**/{pattern}")
    return list(dict.fromkeys(filters))


def workflow_config(settings: Settings) -> str | None:
    """The config file the workflows must pass, when it is not where redline looks anyway."""
    file = settings.config_file
    if file is None:
        return None
    relpath = _relative(file, settings.repo_root)
    return None if relpath in {"redline.toml", "pyproject.toml"} else relpath


def workflow_text(template: Path, settings: Settings) -> str:
    """A shipped workflow, with its ``paths:`` filter matching the configured policies and
    the config file passed to each redline step when it is not in a default place."""
    text = _read(template)
    filters = path_filters(settings)
    if filters != ["policies/**"]:
        text = text.replace('"policies/**"', ", ".join(json.dumps(f) for f in filters))
    config = workflow_config(settings)
    if config is not None:
        text = re.sub(
            r"^(\s+)(command: .*)$",
            lambda m: f"{m.group(1)}{m.group(2)}\n{m.group(1)}config: {json.dumps(config)}",
            text,
            flags=re.MULTILINE,
        )
    return text


def _plan_workflows(settings: Settings, warnings: list[str]) -> list[FileAction]:
    config = workflow_config(settings)
    if config is not None and (config.startswith("/") or config.startswith("..")):
        warnings.append(
            f"{config}: the workflows cannot read a config file outside the repository; "
            "move it into the repository and run init again"
        )
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
    from redline.history.git import GitCommandFailed

    for tag in plan.tags:
        if tag.exists:
            continue
        try:
            repo.git.change(
                "-c",
                "tag.gpgSign=false",
                "tag",
                "--annotate",
                "--cleanup=verbatim",
                "-m",
                tag.message,
                tag.tag,
                tag.commit,
                env=env,
            )
        except GitCommandFailed as exc:
            raise GitError(
                f"cannot create tag {tag.tag}: {exc.detail or exc.message}",
                hint="fix the repository, then run init again (it finishes what is left)",
            ) from None
