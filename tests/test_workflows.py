"""The GitHub Action (action.yml) and the workflow files that `redline init` ships.

The linters (check-jsonschema, zizmor, actionlint) run in `.ci/lint-workflows`; these tests
check what they cannot: the shipped templates match this repository's copies, every input of
the action is wired to a flag, no expression reaches a shell script, and the action's shell
step turns inputs into the right command line.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "workflows"
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"
SHIPPED = ("redline-preview.yml", "redline-release.yml", "redline-remind.yml")
OWN_ACTION = "redline-dev/redline"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    if True in data:  # YAML 1.1 reads the key `on` as the boolean true
        data["on"] = data.pop(True)
    return data


def all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def commands_run(job: dict[str, Any]) -> list[str]:
    """The redline commands that a job runs through the action, in order."""
    return [
        step["with"]["command"]
        for step in job["steps"]
        if step.get("uses", "").startswith(f"{OWN_ACTION}@")
    ]


def uses_lines(path: Path) -> list[str]:
    return [
        line.strip().removeprefix("- ").removeprefix("uses: ")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().removeprefix("- ").startswith("uses: ")
    ]


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


# --- the shipped templates ----------------------------------------------------------------


def test_templates_are_the_repository_workflows_byte_for_byte():
    assert sorted(path.name for path in TEMPLATES.glob("*")) == sorted(SHIPPED)
    repo_copies = sorted(path.name for path in WORKFLOWS.glob("redline-*"))
    assert repo_copies == sorted(SHIPPED)
    for name in SHIPPED:
        assert (TEMPLATES / name).read_bytes() == (WORKFLOWS / name).read_bytes(), (
            f"templates/workflows/{name} and .github/workflows/{name} differ: edit the "
            "template and copy it"
        )


def test_templates_are_packaged_in_the_wheel():
    with (ROOT / "pyproject.toml").open("rb") as handle:
        force_include = tomllib.load(handle)["tool"]["hatch"]["build"]["targets"]["wheel"][
            "force-include"
        ]
    assert force_include.get("templates") == "redline/templates"


def test_templates_use_the_action_at_this_release():
    expected = f"{OWN_ACTION}@v{project_version()}"
    for name in SHIPPED:
        own = [ref for ref in uses_lines(TEMPLATES / name) if ref.startswith(f"{OWN_ACTION}@")]
        assert own, name
        assert set(own) == {expected}, name


def test_every_other_action_is_pinned_to_a_commit_with_its_version():
    for path in [*all_workflows(), ACTION]:
        for ref in uses_lines(path):
            if ref.startswith(f"{OWN_ACTION}@"):
                continue
            assert PINNED.match(ref), (
                f"{path.name}: {ref!r} is not pinned as 'owner/repo@sha # vX.Y.Z'"
            )


# --- the workflows ------------------------------------------------------------------------


def test_no_expression_reaches_a_shell_script():
    for path in [*all_workflows(), ACTION]:
        data = load(path)
        steps = data["runs"]["steps"] if path == ACTION else steps_of(data)
        for step in steps:
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_release_workflow_permissions_and_concurrency():
    workflow = load(TEMPLATES / "redline-release.yml")
    assert workflow["on"]["push"]["paths"] == ["policies/**"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert "default_branch" in job["if"]
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    release = job["steps"][1]
    assert commands_run(job) == ["release"]
    assert release["with"] == {"command": "release", "push": "true"}
    secrets = {
        "REDLINE_SMTP_HOST",
        "REDLINE_SMTP_PORT",
        "REDLINE_SMTP_USER",
        "REDLINE_SMTP_PASSWORD",
        "REDLINE_FROM",
        "REDLINE_DATABASE_URL",
        "REDLINE_SECRET",
    }
    assert release["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in secrets}


def test_preview_workflow_never_runs_with_a_writable_token_for_forks():
    workflow = load(TEMPLATES / "redline-preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    preview, comment = workflow["jobs"]["preview"], workflow["jobs"]["comment"]
    assert "permissions" not in preview
    commands = [
        step["with"]["command"]
        for step in preview["steps"]
        if "with" in step and "command" in step["with"]
    ]
    assert commands == ["preview", "check"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    script = comment["steps"][-1]["run"]
    assert script.count("<!-- redline-preview -->") == 2  # written, and searched for


def test_remind_workflow_runs_daily_and_on_demand():
    workflow = load(TEMPLATES / "redline-remind.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert len(workflow["on"]["schedule"]) == 1
    minute, hour, *every = workflow["on"]["schedule"][0]["cron"].split()
    assert minute.isdigit() and hour.isdigit() and every == ["*", "*", "*"]  # once a day
    assert commands_run(job) == ["remind"]


# --- the action ---------------------------------------------------------------------------


def test_every_action_input_is_used_and_every_used_input_exists():
    action = load(ACTION)
    declared = set(action["inputs"])
    runs_text = ACTION.read_text(encoding="utf-8").split("\nruns:\n", 1)[1]
    used = {
        match.group(1)
        for expression in EXPRESSION.findall(runs_text)
        for match in re.finditer(r"\binputs\.([\w-]+)", expression)
    }
    assert used == declared


def test_action_outputs_come_from_the_run_step():
    action = load(ACTION)
    ids = {step.get("id") for step in action["runs"]["steps"]}
    for name, output in action["outputs"].items():
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"])
        assert match, name
        assert match.group(1) in ids
        assert match.group(2) == name
    assert {"released", "policies", "notices-sent", "notices-failed"} <= set(action["outputs"])


def test_workflows_pass_only_declared_inputs_to_the_action():
    action = load(ACTION)
    declared = set(action["inputs"])
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    for path in all_workflows():
        for step in steps_of(load(path)):
            if step.get("uses", "").startswith(f"{OWN_ACTION}@"):
                given = set(step.get("with", {}))
                assert given <= declared, f"{path.name}: unknown inputs {given - declared}"
                assert required <= given, f"{path.name}: missing {required - given}"


# --- the action's shell step, run for real with a recording interpreter -------------------


def action_step(step_id: str) -> dict[str, Any]:
    (step,) = [step for step in load(ACTION)["runs"]["steps"] if step.get("id") == step_id]
    return step


@pytest.fixture
def run_action(tmp_path: Path):
    """Run the action's `run` step as the runner would, with `inputs` and a stand-in Python.

    The stand-in records its arguments and REDLINE_TODAY, so the test sees the exact command
    line that the step builds.
    """
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    step = action_step("run")
    assert step["shell"] == "bash"
    defaults = {name: spec.get("default", "") for name, spec in load(ACTION)["inputs"].items()}
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$RECORD"\n'
        'printf "today=%s\\n" "${REDLINE_TODAY-unset}" >> "$RECORD"\n'
        'echo "# preview body"\n'
    )
    python.chmod(python.stat().st_mode | stat.S_IXUSR)

    def run(**inputs: str) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
        values = {**defaults, **{name.replace("_", "-"): value for name, value in inputs.items()}}
        env = {"PATH": os.environ["PATH"], "RECORD": str(tmp_path / "argv")}
        for key, value in step["env"].items():
            (expression,) = EXPRESSION.findall(value)
            if expression.startswith("inputs."):
                env[key] = values[expression.removeprefix("inputs.")]
            else:
                assert expression == "steps.python.outputs.python-path"
                env[key] = str(python)
        env["RUNNER_TEMP"] = str(tmp_path)
        env["GITHUB_OUTPUT"] = str(tmp_path / "output")
        env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary")
        (tmp_path / "argv").unlink(missing_ok=True)
        script = tmp_path / "step.sh"
        script.write_text(step["run"])
        result = subprocess.run(
            # how the runner runs a step with `shell: bash`
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        argv = (tmp_path / "argv").read_text().splitlines() if (tmp_path / "argv").exists() else []
        return result, argv, tmp_path

    return run


def test_action_release_maps_inputs_to_flags(run_action):
    result, argv, _ = run_action(
        command="release",
        push="true",
        no_notify="true",
        allow_short_notice="true",
        today="2025-03-01",
        config="legal/redline.toml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert argv == [
        "-m",
        "redline",
        "--config",
        "legal/redline.toml",
        "release",
        "--push",
        "--no-notify",
        "--allow-short-notice",
        "today=2025-03-01",
    ]


def test_action_defaults_add_no_flags(run_action):
    for command in ("release", "check", "remind"):
        result, argv, _ = run_action(command=command)
        assert result.returncode == 0, result.stdout + result.stderr
        assert argv == ["-m", "redline", command, "today=unset"]


def test_action_preview_writes_the_body_summary_and_output(run_action):
    result, argv, tmp = run_action(command="preview", base="abc123", output_dir="out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert argv == ["-m", "redline", "preview", "--base", "abc123", "-o", "out", "today=unset"]
    body = tmp / "redline-preview-comment.md"
    assert body.read_text() == "# preview body\n"
    assert (tmp / "summary").read_text() == "# preview body\n"
    assert (tmp / "output").read_text() == f"preview-file={body}\n"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "publish"}, "input 'command' must be release, preview, check or remind"),
        ({"command": "check", "push": "true"}, "input 'push' does not apply to command 'check'"),
        ({"command": "remind", "base": "main"}, "input 'base' does not apply to command 'remind'"),
        ({"command": "release", "dry_run": "yes"}, "input 'dry-run' must be true or false"),
    ],
)
def test_action_refuses_bad_inputs_before_running_redline(run_action, inputs, message):
    result, argv, _ = run_action(**inputs)
    assert result.returncode == 2
    assert f"::error title=redline action::{message}" in result.stdout
    assert argv == []
