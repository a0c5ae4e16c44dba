"""Checkpoints: a run killed mid-way and resumed gives the metrics of an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import oncotwin_cmd, run_cli
from tests.model.test_tumour import COUPLED

CASE = COUPLED.replace("NAME", "resumable").replace(
    'time: {end: "4 day", max_step: "12 h", min_step: "1 h", output_every: "1 day"}',
    'time: {end: "6 day", max_step: "12 h", min_step: "1 h", output_every: "1 day"}').replace(
    'schedule: "daily x 4"', 'schedule: "daily x 6"').replace(
    'step: "1 day"', 'step: "1 day"\n    remodel_every: "2 day"')  # the remodelled tissue is state too


SOLVER_DIAGNOSTICS = ("_iterations", "_residual_norm")


def table(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def assert_same_run(full: Path, run: Path) -> None:
    """The resumed run ``run`` has the metrics (1e-9) and the step count of the uninterrupted ``full``."""
    expected, got = table(full / "metrics.csv"), table(run / "metrics.csv")
    assert [r["time_day"] for r in got] == [r["time_day"] for r in expected]
    for a, b in zip(expected, got, strict=True):
        for key, value in a.items():
            assert float(b[key]) == pytest.approx(float(value), rel=1e-9, abs=1e-12, nan_ok=True), key
    assert len(table(run / "steps.csv")) == len(table(full / "steps.csv"))


def checkpoint_time(tmp: Path, out: str) -> float:
    for meta in tmp.glob(f".{out}.partial-*/checkpoint/meta.json"):
        try:
            return json.loads(meta.read_text())["time"]
        except (OSError, ValueError, KeyError):
            return -1.0
    return -1.0


def run_and_kill(case: Path, tmp: Path, ranks: int, kill_after_day: float, out: str = "run") -> None:
    """Start a run and SIGKILL it (all ranks) once a checkpoint past ``kill_after_day`` exists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI_", "HYDRA_", "OMPI_"))}
    proc = subprocess.Popen(oncotwin_cmd("run", str(case), "--out", str(tmp / out), ranks=ranks), cwd=tmp,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while checkpoint_time(tmp, out) < kill_after_day * 86400 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()[-2000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("ranks", [1, 2])
def test_kill_and_resume_reproduces_the_uninterrupted_run(tmp_path, ranks):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    full = run_cli("run", str(case), "--out", str(tmp_path / "full"), ranks=ranks, cwd=tmp_path, timeout=600)
    assert full.returncode == 0, full.stderr[-3000:]

    run_and_kill(case, tmp_path, ranks, kill_after_day=2)
    assert not (tmp_path / "run").exists()  # a killed run leaves no result, only its hidden working folder
    resumed = run_cli("run", str(case), "--out", str(tmp_path / "run"), "--resume", ranks=ranks, cwd=tmp_path,
                      timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from the checkpoint at day" in resumed.stderr

    assert_same_run(tmp_path / "full", tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["resumed_from_s"] >= 2 * 86400
    assert not (tmp_path / "run" / "checkpoint").exists()
    # the field series is complete: one entry per output time, readable by VTK
    import pyvista as pv

    reader = pv.get_reader(str(tmp_path / "run" / "fields.pvd"))
    assert len(reader.time_values) == len(table(tmp_path / "full" / "metrics.csv"))
    # `oncotwin probe` at an output time before and one after the restart == VTK's own sampling
    points = tmp_path / "biopsies.csv"
    points.write_text("name,x,y,z\ncore_edge,1.5,0,0\nrim,2.8,0.5,0\nhost,0,4,0\n")
    for day in (1, 5):
        out = tmp_path / f"probe_{day}.csv"
        result = run_cli("probe", str(tmp_path / "run"), "--field", "tumour_cells", "--points", str(points),
                         "--time", str(day * 86400.0), "--out", str(out), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        probed = [float(r["tumour_cells"]) for r in table(out)]
        reader.set_active_time_value(day * 86400.0)
        grid = reader.read().combine(merge_points=True)
        xyz = [[1.5, 0, 0], [2.8, 0.5, 0], [0, 4, 0]]
        assert probed == pytest.approx(linear_in_cell(grid, "tumour_cells", xyz), rel=1e-6, abs=1e-12)


def linear_in_cell(grid, name: str, points) -> list[float]:
    """The P1 interpolant at each point from the barycentric coordinates in the tetrahedron containing it
    (VTK's probe with its default tolerance extrapolates from a neighbouring cell at (1.5, 0, 0): 1e-4 off)."""
    import numpy as np

    values = []
    for point, cell_id in zip(np.asarray(points, float), grid.find_containing_cell(points), strict=True):
        cell = grid.get_cell(cell_id)
        corners = np.asarray(cell.points)
        lam = np.linalg.solve((corners[1:] - corners[0]).T, point - corners[0])
        values.append(float(np.r_[1.0 - lam.sum(), lam] @ grid[name][list(cell.point_ids)]))
    return values


@pytest.mark.parametrize(("written", "resumed"), [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_on_another_rank_count(tmp_path, written, resumed):
    """N-to-M: fields by partition-independent keys, the CG guess basis as rows of dof values (kept)."""
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    full = run_cli("run", str(case), "--out", str(tmp_path / "full"), ranks=resumed, cwd=tmp_path, timeout=600)
    assert full.returncode == 0, full.stderr[-3000:]
    run_and_kill(case, tmp_path, written, kill_after_day=2)
    result = run_cli("run", str(case), "--out", str(tmp_path / "run"), "--resume", ranks=resumed, cwd=tmp_path,
                     timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"(written by {written} rank(s))" in result.stderr
    expected, got = table(tmp_path / "full" / "metrics.csv"), table(tmp_path / "run" / "metrics.csv")
    assert [r["time_day"] for r in got] == [r["time_day"] for r in expected]
    # Krylov iteration counts and residuals depend on the partition (block-Jacobi preconditioners) in any
    # run; the rows before the restart come from the writing rank count: compare the physics only
    worst = max(abs(float(b[k]) - float(v)) / max(abs(float(v)), 1e-12)
                for a, b in zip(expected, got, strict=True) for k, v in a.items()
                if v not in ("", "nan") and abs(float(v)) > 1e-10 and not k.endswith(SOLVER_DIAGNOSTICS))
    print(f"N-to-M {written} -> {resumed}: largest relative metric difference {worst:.3g}")
    assert worst < 1e-6
    for a, b in zip(expected, got, strict=True):  # rounding-level quantities (mass-balance errors ~1e-14)
        for key, value in a.items():
            if not key.endswith(SOLVER_DIAGNOSTICS):
                assert float(b[key]) == pytest.approx(float(value), rel=1e-6, abs=1e-10, nan_ok=True), key
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["resumed_from_s"] >= 2 * 86400


def test_resume_without_checkpoint_starts_from_zero_and_partition_bound_checkpoints_are_refused(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text(CASE.replace('end: "6 day"', 'end: "2 day"').replace("daily x 6", "daily x 2"))
    fresh = run_cli("run", str(case), "--out", str(tmp_path / "run"), "--resume", cwd=tmp_path, timeout=600)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "no checkpoint of this case to resume from" in fresh.stderr
    # a checkpoint of the earlier format (every rank's local arrays) written by 1 rank cannot be continued by 2
    case.write_text(CASE)
    run_and_kill(case, tmp_path, 1, kill_after_day=1, out="run2")
    for path in tmp_path.glob(".run2.partial-*/checkpoint/meta.json"):
        meta = json.loads(path.read_text())
        del meta["stored"]
        path.write_text(json.dumps(meta))
    refused = run_cli("run", str(case), "--out", str(tmp_path / "run2"), "--resume", ranks=2, cwd=tmp_path,
                      timeout=300)
    assert refused.returncode != 0
    assert "resume with mpirun -n 1" in refused.stderr
    assert "Traceback" not in refused.stderr
