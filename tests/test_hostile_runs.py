"""Hostile run-time conditions at the command line: stop signals, runaway kinetics, failing disks.

Each test asserts the exit status, one ``oncotwin: error:`` line on stderr, no traceback and what is
left behind.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import oncotwin_cmd, run_cli
from tests.run.test_resume import CASE, assert_same_run, checkpoint_time


def error_line(stderr: str) -> str:
    """The single ``oncotwin: error:`` line of stderr (no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("oncotwin: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def run_and_signal(case: Path, tmp: Path, ranks: int, sig: int, out: str = "run") -> subprocess.CompletedProcess:
    """Start a run, send ``sig`` to every process of the job once the first checkpoint exists, wait."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI_", "HYDRA_", "OMPI_"))}
    cmd = oncotwin_cmd("-q", "run", str(case), "--out", str(tmp / out), ranks=ranks)
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while checkpoint_time(tmp, out) <= 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the signal: " + proc.communicate()[1][-2000:]
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("ranks", [1, 2])
def test_sigterm_stops_cleanly_and_resume_finishes_the_run(tmp_path, ranks):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    full = run_cli("-q", "run", str(case), "--out", str(tmp_path / "full"), ranks=ranks, cwd=tmp_path, timeout=600)
    assert full.returncode == 0, full.stderr[-3000:]

    stopped = run_and_signal(case, tmp_path, ranks, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    line = error_line(stopped.stderr)
    assert "interrupted by SIGTERM" in line and "--resume" in line, line
    assert f"oncotwin run {case} --out {tmp_path / 'run'} --resume" in line
    if ranks > 1:
        assert f"mpirun -n {ranks} oncotwin run" in line
    assert not (tmp_path / "run").exists()
    saved = checkpoint_time(tmp_path, "run")
    assert saved > 0  # the checkpoint (and its working folder) is kept
    assert not list(tmp_path.glob(".run.lock"))  # the lock is released

    resumed = run_cli("run", str(case), "--out", str(tmp_path / "run"), "--resume", ranks=ranks, cwd=tmp_path,
                      timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from the checkpoint at day" in resumed.stderr
    assert_same_run(tmp_path / "full", tmp_path / "run")


@pytest.mark.timeout(600)
def test_sigint_exits_130_and_keeps_the_checkpoint(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    stopped = run_and_signal(case, tmp_path, 1, signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert "interrupted by SIGINT" in error_line(stopped.stderr)
    assert checkpoint_time(tmp_path, "run") > 0
    assert not (tmp_path / "run").exists()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("ranks", [1, 2])
def test_a_runaway_proliferation_rate_is_one_line_naming_it(tmp_path, ranks):
    """The issue's 1e6 /day: refused at load by the rate ceiling (the sub-step cap behind it is tested in
    tests/kinetics/test_response.py, since the schema no longer lets such a rate reach the kinetics)."""
    case = tmp_path / "case.yaml"
    case.write_text(CASE.replace('proliferation_rate: "0.2 1/day"', 'proliferation_rate: "1e6 1/day"'))
    assert case.read_text() != CASE
    result = run_cli("-q", "run", str(case), "--out", str(tmp_path / "run"), ranks=ranks, cwd=tmp_path,
                     timeout=240)
    assert result.returncode == 2, result.stderr[-3000:]
    line = error_line(result.stderr)
    assert "physics.growth.proliferation_rate" in line and "1e6 1/day" in line and "physical maximum" in line, line
    assert {p.name for p in tmp_path.iterdir()} == {"case.yaml"}  # no result, working folder, lock or mesh


@pytest.mark.timeout(300)
def test_a_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    from oncotwin import cli
    from oncotwin.run import simulation
    from tests.core.test_rundir import checksums
    from tests.test_hostile_folders import coarse_case

    case = coarse_case(tmp_path)
    (tmp_path / "keep.txt").write_text("user file\n")
    before = checksums(tmp_path)

    def full_disk(path, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(simulation, "write_csv", full_disk)
    status = cli.main(["-q", "run", str(case), "--out", str(tmp_path / "out"), "--mesh-dir",
                       str(tmp_path / "meshes")])
    assert status == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"oncotwin: error: {tmp_path}/.out.partial-"), line
    assert "metrics.csv: No space left on device (errno 28 ENOSPC)" in line, line
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    after = checksums(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("meshes")} == before


@pytest.mark.timeout(300)
@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions (see the full-disk test)")
def test_a_read_only_output_parent_is_one_line(tmp_path):
    from tests.test_hostile_folders import coarse_case

    case = coarse_case(tmp_path)
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        result = run_cli("run", str(case), "--out", str(parent / "out"), "--mesh-dir", str(tmp_path / "m"),
                         cwd=tmp_path, timeout=240)
    finally:
        parent.chmod(0o700)
    assert result.returncode == 2, result.stderr
    line = error_line(result.stderr)
    assert str(parent) in line and "ermission denied" in line, line
    assert list(parent.iterdir()) == []


@pytest.mark.timeout(600)
def test_resume_after_the_case_changed_discards_the_stale_checkpoint(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    stopped = run_and_signal(case, tmp_path, 1, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    stale = list(tmp_path.glob(".run.partial-*"))
    assert len(stale) == 1
    case.write_text(CASE + "# edited\n")
    resumed = run_cli("-q", "run", str(case), "--out", str(tmp_path / "run"), "--resume", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    notes = [line for line in resumed.stderr.splitlines() if "discarded its checkpoint" in line]
    assert len(notes) == 1 and str(stale[0]) in notes[0], resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert not list(tmp_path.glob(".run.partial-*")) and (tmp_path / "run" / "metrics.csv").is_file()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_checkpoint_of_one_rank_fails_every_rank_with_one_line(tmp_path, damage):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    stopped = run_and_signal(case, tmp_path, 2, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    (state,) = tmp_path.glob(".run.partial-*/checkpoint/state_g*_r1.npz")
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:-1] + bytes([data[-1] ^ 1]))
    resumed = run_cli("-q", "run", str(case), "--out", str(tmp_path / "run"), "--resume", ranks=2, cwd=tmp_path,
                      timeout=300)
    assert resumed.returncode == 2, resumed.stderr[-3000:]
    line = error_line(resumed.stderr)
    assert f"{state}: the checkpoint is damaged" in line, line
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run.lock"))
