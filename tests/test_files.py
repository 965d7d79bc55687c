"""Files: atomic writes, and no read or write that a symbolic link diverts out of the repository."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from conftest import redline_in_process as redline
from redline.document.dates import write_policy_date
from redline.errors import InputError
from redline.files import atomic_write, inside, read_inside

POLICY = "# Privacy Policy\n\nEffective date: 05/14/2020\n\n## 1. Data\n\nWe keep little.\n"


@pytest.fixture
def repo(policy_repo, tmp_path):
    repo = policy_repo("repo")
    repo.write("policies/privacy-policy.md", POLICY)
    repo.commit("first")
    outside = tmp_path / "outside.md"
    outside.write_text("# Secret\n\nEffective date: 01/02/2020\n\nroot:x:0:0\n")
    return repo, outside


def test_effective_date_does_not_write_through_a_link(repo):
    repo, outside = repo
    os.symlink(outside, repo.root / "policies" / "evil.md")
    before = outside.read_bytes()
    result = redline(repo, "effective-date", "evil", "--insert", "--set", "2027-01-01")
    assert result.returncode == 2
    assert "outside the repository" in result.stderr
    assert "Traceback" not in result.stderr
    assert outside.read_bytes() == before
    assert (repo.root / "policies" / "evil.md").is_symlink()


@pytest.mark.parametrize(
    "args",
    [
        ("effective-date", "evil"),
        ("diff", "evil", "HEAD"),
        ("check",),
    ],
)
def test_no_command_reads_through_a_link_out_of_the_repository(repo, args):
    repo, outside = repo
    repo.write("policies/evil.md", POLICY)
    repo.commit("a second policy")
    (repo.root / "policies" / "evil.md").unlink()
    os.symlink(outside, repo.root / "policies" / "evil.md")
    result = redline(repo, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "policies/evil.md: is a link to" in result.stderr
    assert "root:x" not in result.stdout + result.stderr


def test_a_link_inside_the_repository_is_read(repo):
    repo, _ = repo
    repo.write("archive/current.md", POLICY.replace("little", "less"))
    os.symlink("../archive/current.md", repo.root / "policies" / "current.md")
    result = redline(repo, "effective-date", "current", "--json")
    assert result.returncode == 0, result.stderr
    assert "2020-05-14" in result.stdout


def test_effective_date_write_into_a_linked_folder_outside_is_refused(repo, tmp_path):
    repo, _ = repo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "terms.md").write_text(POLICY)
    os.symlink(elsewhere, repo.root / "policies" / "linked")
    result = redline(repo, "effective-date", "policies/linked/terms.md", "--set", "2027-01-01")
    assert result.returncode == 2
    assert (elsewhere / "terms.md").read_text() == POLICY
    with pytest.raises(InputError, match="outside the repository"):
        write_policy_date(
            repo.root / "policies" / "linked" / "terms.md", dt.date(2027, 1, 1), repo.settings()
        )
    assert (elsewhere / "terms.md").read_text() == POLICY


def test_atomic_write_refuses_a_link_and_keeps_both_files(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "link.txt"
    os.symlink(target, link)
    with pytest.raises(InputError, match="is a symbolic link"):
        atomic_write(link, "new")
    assert target.read_text() == "keep"
    assert link.is_symlink()


def test_atomic_write_with_root_refuses_a_folder_outside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", root / "dir")
    with pytest.raises(InputError, match="outside the repository"):
        atomic_write(root / "dir" / "sub" / "file.md", "x", root=root)
    assert not (tmp_path / "out" / "sub").exists()
    atomic_write(root / "fine" / "file.md", "x", root=root)
    assert (root / "fine" / "file.md").read_text() == "x"


def test_atomic_write_keeps_line_endings_and_mode(tmp_path):
    path = tmp_path / "f.md"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, "a\r\nb\n")
    assert path.read_bytes() == b"a\r\nb\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.md"]


def test_inside_and_read_inside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.md").write_text("A")
    (tmp_path / "b.md").write_text("B")
    os.symlink(tmp_path / "b.md", root / "b.md")
    os.symlink("a.md", root / "c.md")
    assert inside(root, root / "a.md")
    assert not inside(root, root / "b.md")
    assert read_inside(root, root / "c.md") == b"A"
    with pytest.raises(InputError, match="outside the repository"):
        read_inside(root, root / "b.md")
    with pytest.raises(FileNotFoundError):
        read_inside(root, root / "missing.md")


def test_atomic_open_private_text_and_a_failing_block(tmp_path):
    from redline.files import atomic_open

    path = tmp_path / "proof.csv"
    with atomic_open(path, text=True, private=True) as handle:
        handle.write("a,b\r\n")
    assert path.read_bytes() == b"a,b\r\n"
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError), atomic_open(path, text=True) as handle:
        handle.write("half")
        raise RuntimeError("killed mid-write")
    assert path.read_bytes() == b"a,b\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["proof.csv"]
    missing = tmp_path / "missing" / "x.csv"
    with (
        pytest.raises(InputError, match="no such directory"),
        atomic_open(missing, create_dirs=False),
    ):
        pass
