"""Hostile output folders at the command line: ``--force`` never deletes what is not a result.

Each test asserts the exit status, one line on stderr, no traceback and that every pre-existing file is
byte-identical (checksums). The runs use the shipped sphere case (fluid only) on a coarse mesh.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, oncotwin_cmd, run_cli, signal_job
from tests.core.test_rundir import checksums, user_folder

SPHERE = REPO / "cases" / "sphere_baxter_jain.yaml"
COARSE = ('mesh: {size_tumour: "1.5 mm", size_rim: "1 mm", rim_band: "0.3 mm", grading_distance: "3 mm", '
          'size_far: "3 mm"}\n')


def coarse_case(folder: Path) -> Path:
    """The sphere case on a coarse mesh (a run of a few seconds)."""
    text = re.sub(r"mesh:\n(  .*\n)+", COARSE, SPHERE.read_text())
    assert COARSE in text
    path = folder / "c.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def mesh_dir(tmp_path_factory) -> Path:
    """One mesh cache for the module (the coarse sphere is meshed once)."""
    return tmp_path_factory.mktemp("meshes")


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("oncotwin: error: ")
    return lines[0]


@pytest.mark.parametrize("ranks", [1, 2])
def test_force_into_the_current_folder_keeps_every_file(tmp_path, ranks):
    """The issue's reproduction: ``oncotwin run c.yaml --out . --force`` in a folder of one's own files."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(SPHERE, d / "c.yaml")
    (d / "notes.txt").write_text("x\n")
    before = checksums(tmp_path)
    line = one_error_line(run_cli("run", "c.yaml", "--out", ".", "--force", ranks=ranks, cwd=d, timeout=120))
    assert f"{d}: not an oncotwin result (holds c.yaml and notes.txt)" in line
    assert checksums(tmp_path) == before  # nothing deleted, nothing added (no meshes/, no lock)


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_non_result_folder_is_described_not_called_a_result(tmp_path, force):
    d = user_folder(tmp_path / "d")
    case = coarse_case(tmp_path)
    before = checksums(tmp_path)
    line = one_error_line(run_cli("run", str(case), "--out", str(d), *force, cwd=tmp_path, timeout=120))
    assert "not an oncotwin result (holds c.yaml, data_0.csv and 3 more)" in line
    assert "already exists" not in line
    assert checksums(tmp_path) == before


def test_a_file_as_out_is_refused(tmp_path):
    case = coarse_case(tmp_path)
    (tmp_path / "out").write_text("mine\n")
    before = checksums(tmp_path)
    line = one_error_line(run_cli("run", str(case), "--out", str(tmp_path / "out"), "--force", cwd=tmp_path,
                                  timeout=120))
    assert "is a file, not a folder" in line
    assert checksums(tmp_path) == before


@pytest.mark.parametrize("ranks", [1, 2])
def test_concurrent_runs_into_one_out(tmp_path, mesh_dir, ranks):
    """The second run fails at once with one line; the first one's result is intact."""
    case = coarse_case(tmp_path)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI_", "HYDRA_", "OMPI_"))}
    first = subprocess.Popen(oncotwin_cmd("run", str(case), "--out", str(out), "--mesh-dir", str(mesh_dir),
                                          ranks=ranks), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before it started writing: " + first.communicate()[1]
    signal_job(first.pid, signal.SIGSTOP)  # hold the first run (all ranks) while it writes
    try:
        second = run_cli("run", str(case), "--out", str(out), "--force", "--mesh-dir", str(mesh_dir), ranks=ranks,
                         cwd=tmp_path, timeout=120)
    finally:
        signal_job(first.pid, signal.SIGCONT)
    line = one_error_line(second)
    assert f"{out}: another oncotwin run (pid " in line
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert (out / ".oncotwin-result").is_file() and (out / "metrics.csv").is_file()
    assert {p.name for p in tmp_path.iterdir()} == {"c.yaml", "out"}  # no lock, no working folder


def test_run_inside_another_result_is_refused(tmp_path, mesh_dir):
    case = coarse_case(tmp_path)
    parent = tmp_path / "parent"
    first = run_cli("-q", "run", str(case), "--out", str(parent), "--mesh-dir", str(mesh_dir), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = checksums(tmp_path)
    for inner in (parent / "inner", parent / "fields" / "inner"):
        line = one_error_line(run_cli("run", str(case), "--out", str(inner), "--mesh-dir", str(mesh_dir),
                                      cwd=tmp_path, timeout=120))
        assert f"lies inside the oncotwin result {parent}" in line
    assert checksums(tmp_path) == before
