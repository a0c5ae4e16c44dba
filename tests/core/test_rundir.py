"""The run-folder contract: a result folder never loses a user's files."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI

from oncotwin.core import errors
from oncotwin.core import rundir as rd
from oncotwin.core.rundir import RunDirectory

SELF = MPI.COMM_SELF


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (and the names of its folders)."""
    sums = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        sums[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return sums


def user_folder(path: Path, extra: int = 3) -> Path:
    """A folder of a user's own files (not a result)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "c.yaml").write_text("name: c\n")
    (path / "notes.txt").write_text("x\n")
    for k in range(extra):
        (path / f"data_{k}.csv").write_text(f"{k}\n")
    return path


def finished(tmp_path: Path, name: str = "out", content: str = "1", force: bool = False) -> Path:
    """Open, write and commit a result."""
    run = RunDirectory.open(SELF, tmp_path / name, force)
    (run.work / "metrics.csv").write_text(content)
    return run.commit(SELF)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_commit_writes_the_marker_and_releases_the_lock(tmp_path):
    final = finished(tmp_path)
    marker = json.loads((final / rd.MARKER).read_text())
    assert marker["kind"] == "run" and marker["version"] == rd.MARKER_VERSION
    assert rd.is_result(final)
    assert leftovers(tmp_path) == []  # no working folder, no lock


def test_result_is_replaced_only_with_force(tmp_path):
    final = finished(tmp_path, content="old")
    with pytest.raises(errors.RunDirectoryError, match="a result already exists; use --force"):
        RunDirectory.open(SELF, final, False)
    assert leftovers(tmp_path) == []
    finished(tmp_path, content="new", force=True)
    assert (final / "metrics.csv").read_text() == "new"
    assert leftovers(tmp_path) == []


def test_result_of_an_earlier_version_is_recognised_by_its_manifest(tmp_path):
    old = tmp_path / "out"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"oncotwin": "0.0.9", "case_sha256": "abc"}))
    assert rd.is_result(old)
    finished(tmp_path, content="new", force=True)
    assert not (old / "manifest.json").exists() and (old / "metrics.csv").read_text() == "new"


def test_empty_folder_may_be_used(tmp_path):
    (tmp_path / "out").mkdir()
    final = finished(tmp_path)
    assert (final / "metrics.csv").is_file() and rd.is_result(final)


@pytest.mark.parametrize("force", [False, True])
def test_non_result_folder_is_refused_and_untouched(tmp_path, force):
    folder = user_folder(tmp_path / "d")
    (folder / "manifest.json").write_text('{"something": "else"}')  # not an oncotwin manifest
    before = checksums(folder)
    with pytest.raises(errors.RunDirectoryError) as caught:
        RunDirectory.open(SELF, folder, force)
    message = str(caught.value)
    assert message == (f"{folder}: not an oncotwin result (holds c.yaml, data_0.csv and 4 more); choose an empty "
                       "or new --out folder")
    assert "already exists" not in message and "\n" not in message
    assert checksums(folder) == before
    assert leftovers(tmp_path) == []


def test_current_folder_with_user_files_is_described(tmp_path, monkeypatch):
    cwd = user_folder(tmp_path / "d", extra=0)
    monkeypatch.chdir(cwd)
    before = checksums(tmp_path)
    with pytest.raises(errors.RunDirectoryError, match=r"d: not an oncotwin result \(holds c.yaml and notes.txt\)"):
        RunDirectory.open(SELF, Path("."), True)
    assert checksums(tmp_path) == before


@pytest.mark.parametrize(("inside", "where"), [(None, "."), ("sub", ".."), ("", ".")])
def test_current_folder_and_its_parents_are_refused_even_when_replaceable(tmp_path, monkeypatch, inside, where):
    if inside is None:
        cwd = tmp_path / "empty"
        cwd.mkdir()
    else:
        cwd = finished(tmp_path) / inside
        cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    before = checksums(tmp_path)
    with pytest.raises(errors.RunDirectoryError, match="is the current folder or holds it"):
        RunDirectory.open(SELF, Path(where), True)
    assert checksums(tmp_path) == before


def test_a_folder_holding_an_input_is_refused(tmp_path):
    final = finished(tmp_path)
    case = final / "calibrated.yaml"
    case.write_text("name: c\n")
    before = checksums(final)
    with pytest.raises(errors.RunDirectoryError, match=f"holds the input {case}"):
        RunDirectory.open(SELF, final, True, inputs=(case,))
    assert checksums(final) == before


def test_a_file_is_refused(tmp_path):
    target = tmp_path / "out"
    target.write_text("mine")
    with pytest.raises(errors.RunDirectoryError, match="is a file, not a folder"):
        RunDirectory.open(SELF, target, True)
    assert target.read_text() == "mine" and leftovers(tmp_path) == []


@pytest.mark.parametrize("depth", [1, 3])
def test_never_inside_another_result(tmp_path, depth):
    parent = finished(tmp_path)
    inner = parent.joinpath(*[f"sub{k}" for k in range(depth)])
    before = checksums(parent)
    with pytest.raises(errors.RunDirectoryError, match=f"lies inside the oncotwin result {parent}"):
        RunDirectory.open(SELF, inner, False)
    assert checksums(parent) == before  # not even the missing parents were created


def test_never_inside_a_partial_working_folder(tmp_path):
    partial = tmp_path / ".out.partial-abc123"
    partial.mkdir()
    with pytest.raises(errors.RunDirectoryError, match="the working folder of an unfinished run"):
        RunDirectory.open(SELF, partial / "x", False)
    assert list(partial.iterdir()) == []


def test_nested_runs_inside_this_process_working_folder_are_allowed(tmp_path):
    parent = RunDirectory.open(SELF, tmp_path / "cmp", False, kind="comparison")
    member = RunDirectory.open(SELF, parent.work / "regimens" / "a", False)
    (member.work / "metrics.csv").write_text("1")
    member.commit(SELF)
    final = parent.commit(SELF)
    assert rd.is_result(final / "regimens" / "a")
    assert json.loads((final / rd.MARKER).read_text())["kind"] == "comparison"
    with pytest.raises(errors.RunDirectoryError, match="lies inside the oncotwin result"):
        RunDirectory.open(SELF, final / "regimens" / "b", False)


def test_second_writer_is_refused_at_once(tmp_path):
    first = RunDirectory.open(SELF, tmp_path / "out", False)
    (first.work / "metrics.csv").write_text("first")
    with pytest.raises(errors.RunDirectoryError) as caught:
        RunDirectory.open(SELF, tmp_path / "out", True)
    assert isinstance(caught.value, errors.OutputLockedError)
    assert f"pid {os.getpid()} on {socket.gethostname()}" in str(caught.value)
    assert "\n" not in str(caught.value)
    final = first.commit(SELF)
    assert (final / "metrics.csv").read_text() == "first"
    assert leftovers(tmp_path) == []


def test_lock_is_released_by_abandon(tmp_path):
    run = RunDirectory.open(SELF, tmp_path / "out", False)
    run.abandon(SELF)
    assert leftovers(tmp_path) == [] and not (tmp_path / "out").exists()
    finished(tmp_path)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_lock_of_a_dead_local_process_is_broken(tmp_path):
    lock = rd.lock_path((tmp_path / "out").resolve())
    lock.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    finished(tmp_path)
    assert not lock.exists()


def test_lock_of_another_host_is_kept(tmp_path):
    lock = rd.lock_path((tmp_path / "out").resolve())
    lock.write_text(json.dumps({"pid": dead_pid(), "host": "elsewhere.invalid"}))
    with pytest.raises(errors.RunDirectoryError, match="elsewhere.invalid"):
        RunDirectory.open(SELF, tmp_path / "out", False)
    assert lock.exists()


def test_commit_rechecks_a_target_that_appeared_meanwhile(tmp_path):
    run = RunDirectory.open(SELF, tmp_path / "out", False)
    (run.work / "metrics.csv").write_text("late")
    other = user_folder(tmp_path / "out")  # another program wrote the folder meanwhile
    before = checksums(other)
    with pytest.raises(errors.RunDirectoryError, match="changed while this run was writing"):
        run.commit(SELF)
    run.abandon(SELF)
    assert checksums(other) == before
    assert leftovers(tmp_path) == []


def test_commit_rechecks_a_result_replaced_meanwhile(tmp_path):
    finished(tmp_path, content="old")
    run = RunDirectory.open(SELF, tmp_path / "out", True)
    (run.work / "metrics.csv").write_text("mine")
    rd.rename_noreplace(tmp_path / "out", tmp_path / "aside")
    (tmp_path / "out").mkdir()  # a result written without the lock, as an older oncotwin would
    (tmp_path / "out" / "metrics.csv").write_text("theirs")
    rd.write_marker(tmp_path / "out", "run")
    with pytest.raises(errors.RunDirectoryError, match="changed while this run was writing"):
        run.commit(SELF)
    run.abandon(SELF)
    assert (tmp_path / "out" / "metrics.csv").read_text() == "theirs"


def test_commit_rechecks_an_empty_folder_that_filled_meanwhile(tmp_path):
    (tmp_path / "out").mkdir()
    run = RunDirectory.open(SELF, tmp_path / "out", False)
    (tmp_path / "out" / "notes.txt").write_text("x")
    with pytest.raises(errors.RunDirectoryError, match="changed while this run was writing"):
        run.commit(SELF)
    run.abandon(SELF)
    assert (tmp_path / "out" / "notes.txt").read_text() == "x"


def test_rename_noreplace(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(FileExistsError):
        rd.rename_noreplace(tmp_path / "a", tmp_path / "b")  # os.rename would replace the empty folder
    rd.rename_noreplace(tmp_path / "a", tmp_path / "c")
    assert (tmp_path / "c").is_dir() and not (tmp_path / "a").exists()


def test_reuse_follows_the_same_rules(tmp_path):
    work = tmp_path / ".out.partial-xyz"
    work.mkdir()
    (work / "metrics.csv").write_text("resumed")
    user_folder(tmp_path / "out")
    with pytest.raises(errors.RunDirectoryError, match="not an oncotwin result"):
        RunDirectory.reuse(SELF, tmp_path / "other" / ".." / "out", work, True)
    run = RunDirectory.reuse(SELF, tmp_path / "new", work, False)
    with pytest.raises(errors.RunDirectoryError, match="another oncotwin run"):
        RunDirectory.reuse(SELF, tmp_path / "new", work, False)
    assert (run.commit(SELF) / "metrics.csv").read_text() == "resumed"


@pytest.mark.parametrize(("names", "expected"), [
    ([], "is empty"), (["a"], "holds a"), (["a", "b", "c"], "holds a, b and c"),
    (["a", "b", "c", "d", "e"], "holds a, b and 3 more")])
def test_describe(tmp_path, names, expected):
    for name in names:
        (tmp_path / name).write_text("")
    assert rd.describe(tmp_path) == expected


def test_new_file_refuses_an_existing_file_without_force(tmp_path):
    target = tmp_path / "probe.csv"
    target.write_text("mine")
    with pytest.raises(errors.OutputExistsError, match="exists; use --force"), rd.new_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "mine"
    with rd.new_file(target, force=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and leftovers(tmp_path) == []


def test_new_file_is_atomic(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError), rd.new_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".html"
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert not target.exists() and leftovers(tmp_path) == []


def test_new_file_keeps_a_file_that_appeared_meanwhile(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(errors.OutputExistsError, match="appeared while"), rd.new_file(target) as tmp:
        tmp.write_text("whole")
        target.write_text("appeared")
    assert target.read_text() == "appeared" and leftovers(tmp_path) == []


@pytest.mark.parametrize("target", ["folder", "/dev/null", "missing/probe.csv"])
def test_new_file_refuses_folders_devices_and_missing_parents(tmp_path, target):
    (tmp_path / "folder").mkdir()
    with pytest.raises(errors.RunDirectoryError), rd.new_file(tmp_path / target, force=True):
        pass
    assert os.path.exists("/dev/null") and not (tmp_path / "missing").exists()


@pytest.mark.mpi
def test_every_rank_gets_the_folder_or_the_same_one_line_error(comm, shared_tmp):
    base = shared_tmp / "collective"
    if comm.rank == 0:
        user_folder(base / "mine", extra=0)
    comm.barrier()
    run = RunDirectory.open(comm, base / "out", False)
    (run.work / f"rank{comm.rank}.txt").write_text(str(comm.rank))
    with pytest.raises(errors.OutputLockedError, match="another oncotwin run"):
        RunDirectory.open(comm, base / "out", True)  # raised on every rank, not only on rank 0
    final = run.commit(comm)
    assert sorted(p.name for p in final.glob("rank*.txt")) == [f"rank{r}.txt" for r in range(comm.size)]
    with pytest.raises(errors.OutputExistsError, match="a result already exists"):
        RunDirectory.open(comm, final, False)
    with pytest.raises(errors.RunDirectoryError, match=r"not an oncotwin result \(holds c.yaml and notes.txt\)"):
        RunDirectory.open(comm, base / "mine", True)
    comm.barrier()
    if comm.rank == 0:
        assert leftovers(base) == []


@pytest.mark.mpi
def test_nested_run_of_another_rank_inside_the_working_folder(comm, shared_tmp):
    """A comparison's member runs on a sub-communicator whose rank 0 may be world rank 1."""
    parent = RunDirectory.open(comm, shared_tmp / "cmp", False, kind="comparison")
    group = comm.Split(comm.rank, 0)
    try:
        member = RunDirectory.open(group, parent.work / "regimens" / f"r{comm.rank}", False)
        (member.work / "metrics.csv").write_text("1")
        member.commit(group)
    finally:
        group.Free()
    final = parent.commit(comm)
    assert all(rd.is_result(final / "regimens" / f"r{r}") for r in range(comm.size))
